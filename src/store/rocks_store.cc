// RocksDB implementation of Store.
//
// Group commit: WriteAsync puts batches on a queue; one commit thread takes everything queued,
// merges it into a single rocksdb::WriteBatch and writes it with sync=true (one fsync), then runs
// the callbacks. Write() is WriteAsync plus a wait, so synchronous callers join the same groups.
//
// Write errors (disk full, EIO): after the first failed write the store stops writing — every
// later batch fails at once with kUnavailable — because RocksDB must not be handed another write
// for a log file whose write or sync failed (Debian's librocksdb asserts on exactly that:
// WritableFileWriter "sync_without_flush_called_"). RocksDB's own automatic recovery, which
// resumes on the same log file, is switched off. Instead the commit thread reopens the database
// once the filesystem has room again: reopening replays the log (a torn last record is dropped),
// starts a new log file, and writes resume. Reads continue while writes are refused, except
// during the reopen itself and while a reopen keeps failing.
#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/listener.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>
#include <sys/statvfs.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdarg>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <future>
#include <mutex>
#include <shared_mutex>
#include <thread>

#include "common/log.h"
#include "store/store.h"

namespace bp::store {

namespace {

constexpr const char* kFamilyNames[kFamilyCount] = {"default", "events",  "tasks",
                                                    "queues",  "archive", "attempts"};
// A reopen is tried at most this often while writes are refused.
constexpr auto kRecoveryInterval = std::chrono::seconds(1);
// Free space a reopen needs beyond twice the size of the log files it replays and flushes.
constexpr uint64_t kRecoveryHeadroomBytes = 4 << 20;

Status FromRocks(const rocksdb::Status& s) {
  if (s.ok()) return Status::Ok();
  if (s.IsCorruption()) return Status::Corruption(s.ToString());
  return Status::IoError(s.ToString());
}

// RocksDB's own messages (warnings and errors only) as JSON log lines on stderr. This replaces
// the LOG file RocksDB would keep in the store directory: on a full disk that file's writer fails
// and the next message RocksDB logs (as it does while closing) trips Debian's assertion.
class StderrLogger final : public rocksdb::Logger {
 public:
  StderrLogger() : rocksdb::Logger(rocksdb::InfoLogLevel::WARN_LEVEL) {}
  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override {
    Logv(rocksdb::InfoLogLevel::WARN_LEVEL, format, ap);
  }
  void Logv(const rocksdb::InfoLogLevel level, const char* format, va_list ap) override {
    if (level < GetInfoLogLevel()) return;
    char buf[1024];
    va_list copy;
    va_copy(copy, ap);
    std::vsnprintf(buf, sizeof(buf), format, copy);
    va_end(copy);
    if (level >= rocksdb::InfoLogLevel::ERROR_LEVEL) {
      log::Error("rocksdb", buf);
    } else {
      log::Warn("rocksdb", buf);
    }
  }
};

// Reports background errors to the store and keeps RocksDB from resuming by itself.
class ErrorListener final : public rocksdb::EventListener {
 public:
  explicit ErrorListener(std::function<void(const std::string&)> on_error)
      : on_error_(std::move(on_error)) {}
  void OnBackgroundError(rocksdb::BackgroundErrorReason, rocksdb::Status* error) override {
    if (error != nullptr && !error->ok()) on_error_(error->ToString());
  }
  void OnErrorRecoveryBegin(rocksdb::BackgroundErrorReason, rocksdb::Status,
                            bool* auto_recovery) override {
    if (auto_recovery != nullptr) *auto_recovery = false;
  }

 private:
  std::function<void(const std::string&)> on_error_;
};

struct OpenSpec {
  std::string path;
  rocksdb::DBOptions db;
  std::vector<rocksdb::ColumnFamilyDescriptor> families;
};

rocksdb::Status OpenDb(const OpenSpec& spec, std::unique_ptr<rocksdb::DB>* db,
                       std::vector<rocksdb::ColumnFamilyHandle*>* handles) {
  rocksdb::DB* raw = nullptr;
  handles->clear();
  rocksdb::Status s = rocksdb::DB::Open(spec.db, spec.path, spec.families, handles, &raw);
  if (s.ok()) db->reset(raw);
  return s;
}

class RocksStore final : public Store {
 public:
  RocksStore(OpenSpec spec, bool sync) : spec_(std::move(spec)), sync_(sync) {}

  // Opens the database and starts the commit thread.
  Status Open() {
    spec_.db.listeners.push_back(
        std::make_shared<ErrorListener>([this](const std::string& e) { MarkBroken(e); }));
    rocksdb::Status s = OpenDb(spec_, &db_, &handles_);
    if (!s.ok()) return Status::IoError("cannot open store at " + spec_.path + ": " + s.ToString());
    committer_ = std::thread([this] { CommitLoop(); });
    return Status::Ok();
  }

  ~RocksStore() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (committer_.joinable()) committer_.join();
    CloseDb();
  }

  Status Write(WriteBatch batch) override {
    std::promise<Status> done;
    auto fut = done.get_future();
    WriteAsync(std::move(batch), [&done](Status s) { done.set_value(std::move(s)); });
    return fut.get();
  }

  void WriteAsync(WriteBatch batch, std::function<void(Status)> done) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!stopping_) {
        queue_.push_back({std::move(batch), std::move(done)});
        cv_.notify_one();
        return;
      }
    }
    done(Status::Unavailable("store is shutting down"));
  }

  Status WriteUnlogged(WriteBatch batch) override {
    // Queued for the commit thread: a WAL-less write issued here would still wait behind the
    // commit thread's fsync (RocksDB's write queue), stalling the caller.
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return Status::Unavailable("store is shutting down");
    unlogged_.Append(std::move(batch));
    cv_.notify_one();
    return Status::Ok();
  }

  StatusOr<std::optional<std::string>> Get(Family f, std::string_view key) override {
    std::shared_lock<std::shared_mutex> lock(db_mu_);
    if (!db_) return Unopened();
    std::string value;
    rocksdb::Status s =
        db_->Get(rocksdb::ReadOptions(), handle(f), rocksdb::Slice(key.data(), key.size()), &value);
    if (s.IsNotFound()) return std::optional<std::string>();
    if (!s.ok()) return FromRocks(s);
    return std::optional<std::string>(std::move(value));
  }

  Status Scan(Family f, std::string_view begin, std::string_view end, const ScanFn& fn) override {
    std::shared_lock<std::shared_mutex> lock(db_mu_);
    if (!db_) return Unopened();
    rocksdb::ReadOptions ro;
    rocksdb::Slice upper(end.data(), end.size());
    if (!end.empty()) ro.iterate_upper_bound = &upper;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, handle(f)));
    for (it->Seek(rocksdb::Slice(begin.data(), begin.size())); it->Valid(); it->Next()) {
      rocksdb::Slice k = it->key();
      rocksdb::Slice v = it->value();
      if (!fn(std::string_view(k.data(), k.size()), std::string_view(v.data(), v.size()))) break;
    }
    return FromRocks(it->status());
  }

  void CompactRange(Family f, std::string_view begin, std::string_view end) override {
    std::shared_lock<std::shared_mutex> lock(db_mu_);
    if (!db_ || !writable_.load()) return;
    rocksdb::Slice b(begin.data(), begin.size());
    rocksdb::Slice e(end.data(), end.size());
    rocksdb::CompactRangeOptions opts;
    db_->CompactRange(opts, handle(f), &b, end.empty() ? nullptr : &e).PermitUncheckedError();
  }

  uint64_t ApproximateSize(Family f) override {
    std::shared_lock<std::shared_mutex> lock(db_mu_);
    if (!db_) return 0;
    uint64_t v = 0;
    db_->GetIntProperty(handle(f), "rocksdb.estimate-live-data-size", &v);
    return v;
  }

  uint64_t DiskBytes() override {
    std::shared_lock<std::shared_mutex> lock(db_mu_);
    if (!db_) return 0;
    uint64_t total = 0;
    for (auto* h : handles_) {
      uint64_t v = 0;
      if (db_->GetIntProperty(h, "rocksdb.total-sst-files-size", &v)) total += v;
      if (db_->GetIntProperty(h, "rocksdb.size-all-mem-tables", &v)) total += v;
    }
    return total;
  }

  bool Writable() const override { return writable_.load(std::memory_order_relaxed); }

  Health GetHealth() const override {
    Health h;
    h.writable = writable_.load();
    h.write_errors = write_errors_.load();
    h.dropped_unlogged = dropped_unlogged_.load();
    h.recoveries = recoveries_.load();
    if (!h.writable) {
      std::lock_guard<std::mutex> lock(health_mu_);
      h.reason = broken_reason_;
    }
    return h;
  }

 private:
  struct Pending {
    WriteBatch batch;
    std::function<void(Status)> done;
  };

  static Status Unopened() {
    return Status::Unavailable("store unavailable: the database is being reopened after an error");
  }

  rocksdb::ColumnFamilyHandle* handle(Family f) const { return handles_[static_cast<int>(f)]; }

  void Append(const WriteBatch& batch, rocksdb::WriteBatch& wb) const {
    for (const WriteBatch::Op& op : batch.ops()) {
      rocksdb::Slice k(op.key.data(), op.key.size());
      rocksdb::Slice v(op.value.data(), op.value.size());
      switch (op.kind) {
        case WriteBatch::Op::Kind::kPut:
          wb.Put(handle(op.family), k, v).PermitUncheckedError();
          break;
        case WriteBatch::Op::Kind::kDelete:
          wb.Delete(handle(op.family), k).PermitUncheckedError();
          break;
        case WriteBatch::Op::Kind::kDeleteRange:
          wb.DeleteRange(handle(op.family), k, v).PermitUncheckedError();
          break;
      }
    }
  }

  // Stops writes until the next successful reopen. Any thread (RocksDB's listener included).
  void MarkBroken(const std::string& error) {
    {
      std::lock_guard<std::mutex> lock(health_mu_);
      if (!writable_.load()) return;
      broken_reason_ = error;
      writable_.store(false);
    }
    log::Error("store", "store writes stopped; recovering when space returns",
               {{"error", error}, {"path", spec_.path}});
  }

  Status RefusedWrite() const {
    std::lock_guard<std::mutex> lock(health_mu_);
    return Status::Unavailable("store unavailable: " + broken_reason_);
  }

  void CommitGroup(std::deque<Pending>& group) {
    Status s;
    if (!writable_.load()) {
      s = RefusedWrite();
    } else {
      rocksdb::WriteBatch wb;
      std::shared_lock<std::shared_mutex> lock(db_mu_);
      for (const Pending& p : group) Append(p.batch, wb);
      rocksdb::WriteOptions wo;
      wo.sync = sync_;
      s = FromRocks(db_->Write(wo, &wb));
      if (!s.ok()) {
        write_errors_.fetch_add(1);
        log::Error("store", "group commit failed", {{"error", s.ToString()}});
        MarkBroken(s.message());
        s = Status::Unavailable("store unavailable: " + s.message());
      }
    }
    for (Pending& p : group) p.done(s);
    group.clear();
  }

  void CommitUnlogged(WriteBatch& unlogged) {
    if (!writable_.load()) {
      dropped_unlogged_.fetch_add(1);
    } else {
      rocksdb::WriteBatch wb;
      std::shared_lock<std::shared_mutex> lock(db_mu_);
      Append(unlogged, wb);
      rocksdb::WriteOptions wo;
      wo.disableWAL = true;
      Status s = FromRocks(db_->Write(wo, &wb));
      if (!s.ok()) {
        write_errors_.fetch_add(1);
        log::Warn("store", "unlogged write failed", {{"error", s.ToString()}});
        MarkBroken(s.message());
      }
    }
    unlogged = WriteBatch();
  }

  // Free bytes on the store's filesystem, and what a reopen needs: room to flush the log files
  // it replays, plus headroom.
  bool RoomToReopen() const {
    struct statvfs st {};
    if (statvfs(spec_.path.c_str(), &st) != 0) return false;
    const uint64_t free_bytes = static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
    uint64_t logs = 0;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(spec_.path, ec)) {
      if (entry.path().extension() == ".log") logs += entry.file_size(ec);
    }
    return free_bytes >= 2 * logs + kRecoveryHeadroomBytes;
  }

  void CloseDb() {
    if (!db_) return;
    // An errored database cannot flush; unlogged data since the last flush (attempt records)
    // is given up rather than failing the close.
    if (!writable_.load()) {
      db_->SetDBOptions({{"avoid_flush_during_shutdown", "true"}}).PermitUncheckedError();
    }
    for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h).PermitUncheckedError();
    handles_.clear();
    db_->Close().PermitUncheckedError();
    db_.reset();
  }

  // Commit thread only, while writes are refused.
  void TryRecover() {
    const auto now = std::chrono::steady_clock::now();
    if (now - last_recovery_ < kRecoveryInterval) return;
    last_recovery_ = now;
    if (!RoomToReopen()) return;
    rocksdb::Status s;
    {
      std::unique_lock<std::shared_mutex> lock(db_mu_);
      CloseDb();
      s = OpenDb(spec_, &db_, &handles_);
    }
    if (!s.ok()) {
      log::Warn("store", "reopen after a write error failed; will retry",
                {{"error", s.ToString()}});
      return;
    }
    {
      std::lock_guard<std::mutex> lock(health_mu_);
      broken_reason_.clear();
      writable_.store(true);
    }
    recoveries_.fetch_add(1);
    log::Info("store", "store writable again after reopening", {{"path", spec_.path}});
  }

  void CommitLoop() {
    std::deque<Pending> group;
    WriteBatch unlogged;
    for (;;) {
      {
        std::unique_lock<std::mutex> lock(mu_);
        auto has_work = [this] { return stopping_ || !queue_.empty() || !unlogged_.empty(); };
        if (writable_.load()) {
          cv_.wait(lock, has_work);
        } else {
          cv_.wait_for(lock, kRecoveryInterval, has_work);
        }
        if (queue_.empty() && unlogged_.empty() && stopping_) return;
        group.swap(queue_);
        std::swap(unlogged, unlogged_);
      }
      if (!writable_.load()) TryRecover();
      if (!group.empty()) CommitGroup(group);
      if (!unlogged.empty()) CommitUnlogged(unlogged);
    }
  }

  OpenSpec spec_;
  const bool sync_;

  // Shared by every database access; exclusive only while the commit thread reopens.
  mutable std::shared_mutex db_mu_;
  std::unique_ptr<rocksdb::DB> db_;                    // GUARDED_BY(db_mu_)
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;  // GUARDED_BY(db_mu_)

  std::atomic<bool> writable_{true};
  mutable std::mutex health_mu_;
  std::string broken_reason_;  // GUARDED_BY(health_mu_)
  std::atomic<uint64_t> write_errors_{0};
  std::atomic<uint64_t> dropped_unlogged_{0};
  std::atomic<uint64_t> recoveries_{0};
  std::chrono::steady_clock::time_point last_recovery_{};  // commit thread

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Pending> queue_;  // GUARDED_BY(mu_)
  WriteBatch unlogged_;        // GUARDED_BY(mu_)
  bool stopping_ = false;      // GUARDED_BY(mu_)
  std::thread committer_;
};

}  // namespace

StatusOr<std::unique_ptr<Store>> OpenRocksStore(const RocksStoreOptions& options) {
  OpenSpec spec;
  spec.path = options.path;
  rocksdb::DBOptions& db_opts = spec.db;
  db_opts.create_if_missing = true;
  db_opts.create_missing_column_families = true;
  db_opts.max_background_jobs = 2;
  db_opts.enable_pipelined_write = true;
  db_opts.max_total_wal_size = 256 << 20;
  db_opts.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  db_opts.info_log = std::make_shared<StderrLogger>();

  auto cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  for (int i = 0; i < kFamilyCount; ++i) {
    rocksdb::ColumnFamilyOptions cf;
    rocksdb::BlockBasedTableOptions table;
    table.block_cache = cache;
    // Index blocks live in (and are bounded by) the block cache rather than beside each open
    // table: otherwise memory grows with the data kept (attempt records are kept for days),
    // about 0.4 MB per 64 MB table, and a 30-minute soak saw RSS grow by a quarter in its second
    // half. Level-0 indexes stay pinned, being the ones every read consults.
    table.cache_index_and_filter_blocks = true;
    table.pin_l0_filter_and_index_blocks_in_cache = true;
    cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
    cf.write_buffer_size = 32 << 20;
    if (i == static_cast<int>(Family::kTasks) || i == static_cast<int>(Family::kQueues)) {
      // Short-lived records: most are deleted before a flush. Bigger memtables let deletes meet
      // their puts in memory; no compression keeps flushes cheap.
      cf.write_buffer_size = 64 << 20;
      cf.max_write_buffer_number = 4;
      cf.compression = rocksdb::kNoCompression;
    }
    spec.families.emplace_back(kFamilyNames[i], cf);
  }
  auto store = std::make_unique<RocksStore>(std::move(spec), options.sync);
  BP_RETURN_IF_ERROR(store->Open());
  return std::unique_ptr<Store>(std::move(store));
}

void AppendBigEndian64(std::string& out, uint64_t v) {
  for (int i = 7; i >= 0; --i) out.push_back(static_cast<char>((v >> (i * 8)) & 0xff));
}

uint64_t ReadBigEndian64(std::string_view in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(in[i]);
  return v;
}

std::string PrefixEnd(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    unsigned char c = static_cast<unsigned char>(end.back());
    if (c != 0xff) {
      end.back() = static_cast<char>(c + 1);
      return end;
    }
    end.pop_back();
  }
  return end;  // empty: no upper bound
}

}  // namespace bp::store
