// RocksDB implementation of Store.
//
// Group commit: WriteAsync puts batches on a queue; one commit thread takes everything queued,
// merges it into a single rocksdb::WriteBatch and writes it with sync=true (one fsync), then runs
// the callbacks. Write() is WriteAsync plus a wait, so synchronous callers join the same groups.
#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <thread>

#include "common/log.h"
#include "store/store.h"

namespace bp::store {

namespace {

constexpr const char* kFamilyNames[kFamilyCount] = {"default", "events",  "tasks",
                                                    "queues",  "archive", "attempts"};

Status FromRocks(const rocksdb::Status& s) {
  if (s.ok()) return Status::Ok();
  if (s.IsCorruption()) return Status::Corruption(s.ToString());
  return Status::IoError(s.ToString());
}

class RocksStore final : public Store {
 public:
  RocksStore(std::unique_ptr<rocksdb::DB> db, std::vector<rocksdb::ColumnFamilyHandle*> handles,
             bool sync)
      : db_(std::move(db)), handles_(std::move(handles)), sync_(sync) {
    committer_ = std::thread([this] { CommitLoop(); });
  }

  ~RocksStore() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    committer_.join();
    for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h).PermitUncheckedError();
    db_->Close().PermitUncheckedError();
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
    std::string value;
    rocksdb::Status s =
        db_->Get(rocksdb::ReadOptions(), handle(f), rocksdb::Slice(key.data(), key.size()), &value);
    if (s.IsNotFound()) return std::optional<std::string>();
    if (!s.ok()) return FromRocks(s);
    return std::optional<std::string>(std::move(value));
  }

  Status Scan(Family f, std::string_view begin, std::string_view end, const ScanFn& fn) override {
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
    rocksdb::Slice b(begin.data(), begin.size());
    rocksdb::Slice e(end.data(), end.size());
    rocksdb::CompactRangeOptions opts;
    db_->CompactRange(opts, handle(f), &b, end.empty() ? nullptr : &e).PermitUncheckedError();
  }

  uint64_t ApproximateSize(Family f) override {
    uint64_t v = 0;
    db_->GetIntProperty(handle(f), "rocksdb.estimate-live-data-size", &v);
    return v;
  }

 private:
  struct Pending {
    WriteBatch batch;
    std::function<void(Status)> done;
  };

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

  void CommitLoop() {
    std::deque<Pending> group;
    WriteBatch unlogged;
    for (;;) {
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [this] { return stopping_ || !queue_.empty() || !unlogged_.empty(); });
        if (queue_.empty() && unlogged_.empty() && stopping_) return;
        group.swap(queue_);
        std::swap(unlogged, unlogged_);
      }
      if (!group.empty()) {
        rocksdb::WriteBatch wb;
        for (const Pending& p : group) Append(p.batch, wb);
        rocksdb::WriteOptions wo;
        wo.sync = sync_;
        Status s = FromRocks(db_->Write(wo, &wb));
        if (!s.ok()) log::Error("store", "group commit failed", {{"error", s.ToString()}});
        for (Pending& p : group) p.done(s);
        group.clear();
      }
      if (!unlogged.empty()) {
        rocksdb::WriteBatch wb;
        Append(unlogged, wb);
        rocksdb::WriteOptions wo;
        wo.disableWAL = true;
        Status s = FromRocks(db_->Write(wo, &wb));
        if (!s.ok()) log::Warn("store", "unlogged write failed", {{"error", s.ToString()}});
        unlogged = WriteBatch();
      }
    }
  }

  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  const bool sync_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Pending> queue_;  // GUARDED_BY(mu_)
  WriteBatch unlogged_;        // GUARDED_BY(mu_)
  bool stopping_ = false;      // GUARDED_BY(mu_)
  std::thread committer_;
};

}  // namespace

StatusOr<std::unique_ptr<Store>> OpenRocksStore(const RocksStoreOptions& options) {
  rocksdb::DBOptions db_opts;
  db_opts.create_if_missing = true;
  db_opts.create_missing_column_families = true;
  db_opts.max_background_jobs = 2;
  db_opts.enable_pipelined_write = true;
  db_opts.max_total_wal_size = 256 << 20;
  db_opts.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  db_opts.keep_log_file_num = 3;

  auto cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  std::vector<rocksdb::ColumnFamilyDescriptor> families;
  for (int i = 0; i < kFamilyCount; ++i) {
    rocksdb::ColumnFamilyOptions cf;
    rocksdb::BlockBasedTableOptions table;
    table.block_cache = cache;
    cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
    cf.write_buffer_size = 32 << 20;
    if (i == static_cast<int>(Family::kTasks) || i == static_cast<int>(Family::kQueues)) {
      // Short-lived records: most are deleted before a flush. Bigger memtables let deletes meet
      // their puts in memory; no compression keeps flushes cheap.
      cf.write_buffer_size = 64 << 20;
      cf.max_write_buffer_number = 4;
      cf.compression = rocksdb::kNoCompression;
    }
    families.emplace_back(kFamilyNames[i], cf);
  }
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(db_opts, options.path, families, &handles, &raw);
  if (!s.ok()) return Status::IoError("cannot open store at " + options.path + ": " + s.ToString());
  return std::unique_ptr<Store>(
      new RocksStore(std::unique_ptr<rocksdb::DB>(raw), std::move(handles), options.sync));
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
