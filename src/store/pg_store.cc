// PostgreSQL implementation of Store; see pg_store.h for the layout and the failure contract.
#include "store/pg_store.h"

#include <array>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "common/log.h"
#include "store/pg_conn.h"

namespace bp::store {

namespace {

constexpr int kScanPage = 512;

// The net effect of a group of batches on one family. Applying `ranges` first and then `last`
// equals applying the ops in order: a range delete erases the earlier puts it covers from
// `last`, and anything in `last` was written after every range delete that covers it.
struct FamilyChanges {
  std::vector<std::pair<std::string, std::string>> ranges;
  std::map<std::string, std::optional<std::string>> last;  // nullopt: delete
  bool empty() const { return ranges.empty() && last.empty(); }
};

void Collapse(WriteBatch& batch, std::array<FamilyChanges, kFamilyCount>& out) {
  for (const WriteBatch::Op& op_ref : batch.ops()) {
    auto& op = const_cast<WriteBatch::Op&>(op_ref);  // the batch is ours and discarded after
    FamilyChanges& f = out[static_cast<int>(op.family)];
    switch (op.kind) {
      case WriteBatch::Op::Kind::kPut:
        f.last[std::move(op.key)] = std::move(op.value);
        break;
      case WriteBatch::Op::Kind::kDelete:
        f.last[std::move(op.key)] = std::nullopt;
        break;
      case WriteBatch::Op::Kind::kDeleteRange:
        if (op.value <= op.key) break;  // empty range (as in RocksDB)
        f.last.erase(f.last.lower_bound(op.key), f.last.lower_bound(op.value));
        f.ranges.emplace_back(std::move(op.key), std::move(op.value));
        break;
    }
  }
}

// Writes one family's net changes inside the caller's transaction.
Status ApplyFamily(PgConn& c, Family family, const FamilyChanges& f, bool feed) {
  std::string table = PgTableName(family);
  for (const auto& [begin, end] : f.ranges) {
    BP_RETURN_IF_ERROR(c.Exec("DELETE FROM " + table + " WHERE k >= $1::bytea AND k < $2::bytea",
                              {PgParam{begin}, PgParam{end}})
                           .status());
  }
  std::vector<const std::string*> deletes, put_keys, put_values;
  for (const auto& [k, v] : f.last) {
    if (v) {
      put_keys.push_back(&k);
      put_values.push_back(&*v);
    } else {
      deletes.push_back(&k);
    }
  }
  if (!deletes.empty()) {
    BP_RETURN_IF_ERROR(
        c.Exec("DELETE FROM " + table + " WHERE k = ANY($1::bytea[])", {PgByteaArray(deletes)})
            .status());
  }
  if (!put_keys.empty()) {
    std::string upsert = "INSERT INTO " + table +
                         " (k, v) SELECT * FROM unnest($1::bytea[], $2::bytea[])"
                         " ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v";
    if (feed) {
      // Rows that were inserted, not updated (xmax = 0), are new tasks: announce them.
      upsert = "WITH up AS (" + upsert +
               " RETURNING k, (xmax = 0) AS fresh) INSERT INTO bp_task_feed (k)"
               " SELECT k FROM up WHERE fresh";
    }
    BP_RETURN_IF_ERROR(c.Exec(upsert, {PgByteaArray(put_keys), PgByteaArray(put_values)}).status());
  }
  return Status::Ok();
}

class PgStore final : public Store {
 public:
  PgStore(PgStoreOptions options, std::unique_ptr<PgConn> conn)
      : options_(std::move(options)), conn_(std::move(conn)) {
    committer_ = std::thread([this] { CommitLoop(); });
  }

  ~PgStore() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    committer_.join();
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
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return Status::Unavailable("store is shutting down");
    unlogged_.Append(std::move(batch));
    cv_.notify_one();
    return Status::Ok();
  }

  StatusOr<std::optional<std::string>> Get(Family f, std::string_view key) override {
    std::optional<std::string> out;
    Status s = WithReader([&](PgConn& c) -> Status {
      BP_ASSIGN_OR_RETURN(PgResult r, c.Exec(std::string("SELECT v FROM ") + PgTableName(f) +
                                                 " WHERE k = $1::bytea",
                                             {PgParam{std::string(key)}}));
      if (r.rows() > 0) out = std::string(r.Get(0, 0));
      return Status::Ok();
    });
    if (!s.ok()) return s;
    return out;
  }

  Status Scan(Family f, std::string_view begin, std::string_view end, const ScanFn& fn) override {
    std::string from(begin);
    bool inclusive = true;
    const std::string table = PgTableName(f);
    for (;;) {
      PgResult page;
      Status s = WithReader([&](PgConn& c) -> Status {
        std::string sql =
            "SELECT k, v FROM " + table + " WHERE k " + (inclusive ? ">=" : ">") + " $1::bytea";
        std::vector<PgParam> params{PgParam{from}};
        if (!end.empty()) {
          sql += " AND k < $2::bytea";
          params.push_back(PgParam{std::string(end)});
        }
        sql += " ORDER BY k LIMIT " + std::to_string(kScanPage);
        BP_ASSIGN_OR_RETURN(page, c.Exec(sql, params));
        return Status::Ok();
      });
      BP_RETURN_IF_ERROR(s);
      // The connection is back in the pool: callbacks may use the store.
      for (int i = 0; i < page.rows(); ++i) {
        if (!fn(page.Get(i, 0), page.Get(i, 1))) return Status::Ok();
      }
      if (page.rows() < kScanPage) return Status::Ok();
      from = std::string(page.Get(page.rows() - 1, 0));
      inclusive = false;
    }
  }

  void CompactRange(Family, std::string_view, std::string_view) override {
    // Dead rows are reclaimed by autovacuum.
  }

  uint64_t ApproximateSize(Family f) override {
    uint64_t size = 0;
    WithReader([&](PgConn& c) -> Status {
      BP_ASSIGN_OR_RETURN(PgResult r, c.Exec(std::string("SELECT pg_total_relation_size('") +
                                             PgTableName(f) + "')::int8"));
      if (r.rows() > 0) size = static_cast<uint64_t>(r.GetInt64(0, 0));
      return Status::Ok();
    }).IgnoreError();
    return size;
  }

  bool Available() override { return available_.load(); }

 private:
  struct Pending {
    WriteBatch batch;
    std::function<void(Status)> done;
  };

  template <typename F>
  Status WithReader(F&& fn) {
    std::unique_ptr<PgConn> c;
    {
      std::lock_guard<std::mutex> lock(pool_mu_);
      if (!idle_.empty()) {
        c = std::move(idle_.back());
        idle_.pop_back();
      }
    }
    if (!c) {
      auto opened = PgConn::Connect(options_.url);
      if (!opened.ok()) {
        available_.store(false);
        return opened.status();
      }
      c = std::move(*opened);
    }
    Status s = fn(*c);
    if (c->broken()) {
      available_.store(false);
      return s;
    }
    std::lock_guard<std::mutex> lock(pool_mu_);
    if (static_cast<int>(idle_.size()) < options_.idle_read_connections)
      idle_.push_back(std::move(c));
    return s;
  }

  // The commit connection, (re)connected if needed. Commit thread only.
  StatusOr<PgConn*> CommitConn() {
    if (conn_ && !conn_->broken()) return conn_.get();
    conn_.reset();
    auto opened = PgConn::Connect(options_.url);
    if (!opened.ok()) return opened.status();
    Status s = (*opened)->Run(options_.sync ? "SET synchronous_commit = on"
                                            : "SET synchronous_commit = off");
    if (!s.ok()) return s;
    conn_ = std::move(*opened);
    log::Info("store", "PostgreSQL commit connection established");
    return conn_.get();
  }

  // One transaction for all of `batches`; Ok only after COMMIT succeeded.
  Status CommitBatches(std::vector<WriteBatch*> batches, bool durable) {
    BP_ASSIGN_OR_RETURN(PgConn * c, CommitConn());
    std::array<FamilyChanges, kFamilyCount> changes;
    for (WriteBatch* b : batches) Collapse(*b, changes);
    Status s = c->Run(durable ? "BEGIN" : "BEGIN; SET LOCAL synchronous_commit = off");
    for (int f = 0; s.ok() && f < kFamilyCount; ++f) {
      bool feed = options_.notify_tasks && f == static_cast<int>(Family::kTasks);
      if (!changes[f].empty()) s = ApplyFamily(*c, static_cast<Family>(f), changes[f], feed);
    }
    if (s.ok() && !changes[static_cast<int>(Family::kMeta)].empty()) {
      s = c->Run("UPDATE bp_control SET version = version + 1 WHERE id = 1; NOTIFY bp_control");
    }
    if (s.ok() && options_.notify_tasks && !changes[static_cast<int>(Family::kTasks)].empty()) {
      s = c->Run("NOTIFY bp_tasks");
    }
    if (s.ok()) s = c->Run("COMMIT");
    if (!s.ok() && !c->broken()) c->Run("ROLLBACK").IgnoreError();
    return s;
  }

  void CommitGroup(std::deque<Pending>& group) {
    std::vector<WriteBatch*> all;
    for (Pending& p : group) all.push_back(&p.batch);
    // Collapse() consumes the batches, so a per-batch retry needs copies taken first.
    std::vector<WriteBatch> copies;
    if (group.size() > 1) {
      for (Pending& p : group) copies.push_back(p.batch);
    }
    Status s = CommitBatches(all, /*durable=*/true);
    available_.store(s.ok() || s.code() != StatusCode::kUnavailable);
    if (!s.ok() && s.code() != StatusCode::kUnavailable && group.size() > 1) {
      // A statement error (not an outage): commit the batches one by one so that one bad batch
      // does not fail the others.
      log::Warn("store", "group commit failed; retrying batches singly", {{"error", s.message()}});
      for (size_t i = 0; i < group.size(); ++i) group[i].done(CommitBatches({&copies[i]}, true));
      return;
    }
    if (!s.ok()) log::Error("store", "group commit failed", {{"error", s.message()}});
    for (Pending& p : group) p.done(s);
  }

  void Probe() {
    auto c = CommitConn();
    Status s = c.ok() ? (*c)->Run("SELECT 1") : c.status();
    bool was = available_.exchange(s.ok());
    if (was != s.ok()) {
      if (s.ok()) {
        log::Info("store", "PostgreSQL reachable again");
      } else {
        log::Error("store", "PostgreSQL unreachable", {{"error", s.message()}});
      }
    }
  }

  void CommitLoop() {
    std::deque<Pending> group;
    WriteBatch unlogged;
    for (;;) {
      bool idle = false;
      {
        std::unique_lock<std::mutex> lock(mu_);
        idle = !cv_.wait_for(lock, std::chrono::seconds(1),
                             [this] { return stopping_ || !queue_.empty() || !unlogged_.empty(); });
        if (queue_.empty() && unlogged_.empty() && stopping_) return;
        group.swap(queue_);
        std::swap(unlogged, unlogged_);
      }
      if (idle) {
        Probe();
        continue;
      }
      if (!group.empty()) {
        CommitGroup(group);
        group.clear();
      }
      if (!unlogged.empty()) {
        Status s = CommitBatches({&unlogged}, /*durable=*/false);
        if (!s.ok()) log::Warn("store", "unlogged write dropped", {{"error", s.message()}});
        unlogged = WriteBatch();
      }
    }
  }

  const PgStoreOptions options_;
  std::unique_ptr<PgConn> conn_;  // commit thread only
  std::atomic<bool> available_{true};

  std::mutex pool_mu_;
  std::vector<std::unique_ptr<PgConn>> idle_;  // GUARDED_BY(pool_mu_)

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Pending> queue_;  // GUARDED_BY(mu_)
  WriteBatch unlogged_;        // GUARDED_BY(mu_)
  bool stopping_ = false;      // GUARDED_BY(mu_)
  std::thread committer_;
};

}  // namespace

StatusOr<std::unique_ptr<Store>> OpenPgStore(const PgStoreOptions& options) {
  BP_ASSIGN_OR_RETURN(std::unique_ptr<PgConn> conn, PgConn::Connect(options.url));
  BP_RETURN_IF_ERROR(PgMigrate(*conn));
  BP_RETURN_IF_ERROR(
      conn->Run(options.sync ? "SET synchronous_commit = on" : "SET synchronous_commit = off"));
  return std::unique_ptr<Store>(new PgStore(options, std::move(conn)));
}

}  // namespace bp::store
