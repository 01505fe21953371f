// The durable store: an ordered key-value store with column families and atomic, fsynced batches.
//
// Implementations: RocksStore (embedded RocksDB, the default) and PgStore (store/pg_store.h,
// cluster mode on PostgreSQL).
//
// Thread-safety: all methods may be called from any thread concurrently.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace bp::store {

// Column families. Keys inside each family are designed so that byte order is the iteration
// order callers need (big-endian integers, '/'-separated names).
enum class Family : int {
  kMeta = 0,  // control-plane resources (buses, rules, targets, connections, destinations, queues)
  kEvents,    // event id -> event envelope (referenced by delivery tasks)
  kTasks,     // delivery tasks
  kQueues,    // queue messages
  kArchive,   // archived events
  kAttempts,  // delivery attempt records
};
inline constexpr int kFamilyCount = 6;

// A set of writes applied atomically.
class WriteBatch {
 public:
  struct Op {
    enum class Kind { kPut, kDelete, kDeleteRange } kind;
    Family family;
    std::string key;
    std::string value;  // kPut: value; kDeleteRange: exclusive end key
  };

  void Put(Family f, std::string key, std::string value) {
    bytes_ += key.size() + value.size();
    ops_.push_back({Op::Kind::kPut, f, std::move(key), std::move(value)});
  }
  void Delete(Family f, std::string key) {
    bytes_ += key.size();
    ops_.push_back({Op::Kind::kDelete, f, std::move(key), {}});
  }
  // Deletes every key in [begin, end).
  void DeleteRange(Family f, std::string begin, std::string end) {
    bytes_ += begin.size() + end.size();
    ops_.push_back({Op::Kind::kDeleteRange, f, std::move(begin), std::move(end)});
  }
  void Append(WriteBatch&& other) {
    for (auto& op : other.ops_) ops_.push_back(std::move(op));
    bytes_ += other.bytes_;
    other.ops_.clear();
    other.bytes_ = 0;
  }
  bool empty() const { return ops_.empty(); }
  size_t size() const { return ops_.size(); }
  size_t bytes() const { return bytes_; }
  const std::vector<Op>& ops() const { return ops_; }

 private:
  std::vector<Op> ops_;
  size_t bytes_ = 0;
};

// Called with each key/value in order; return false to stop.
using ScanFn = std::function<bool(std::string_view key, std::string_view value)>;

class Store {
 public:
  virtual ~Store() = default;

  // Applies `batch` atomically and durably (fsync before return). Concurrent callers are
  // group-committed: many batches share one fsync.
  [[nodiscard]] virtual Status Write(WriteBatch batch) = 0;

  // Like Write, but returns at once; `done` runs on the store's commit thread after the batch is
  // durable (or failed). Callbacks must be cheap and must not call Write synchronously.
  // Batches are applied in the order WriteAsync/Write were called (callers rely on it: a retry
  // update followed by the task's deletion must never be applied the other way round).
  virtual void WriteAsync(WriteBatch batch, std::function<void(Status)> done) = 0;

  // Applies `batch` soon, without the write-ahead log and without waiting: it survives a clean
  // shutdown but may be lost in a crash. Only for data whose loss is acceptable (attempt records).
  // Returns an error only if the store is closing. The default is a normal durable write (fine for
  // fakes and stores without a log).
  [[nodiscard]] virtual Status WriteUnlogged(WriteBatch batch) { return Write(std::move(batch)); }

  [[nodiscard]] virtual StatusOr<std::optional<std::string>> Get(Family f,
                                                                 std::string_view key) = 0;

  // Visits keys in [begin, end) in ascending order (an empty `end` means "to the end of the
  // family").
  [[nodiscard]] virtual Status Scan(Family f, std::string_view begin, std::string_view end,
                                    const ScanFn& fn) = 0;

  // Hint that [begin, end) was drained, so tombstones there can be compacted away.
  virtual void CompactRange(Family f, std::string_view begin, std::string_view end) = 0;

  // Approximate statistics for metrics.
  virtual uint64_t ApproximateSize(Family f) = 0;

  // Whether writes currently succeed. After a failed write (disk full, I/O error) a store may
  // refuse every write until it has recovered by itself; Health() says why and since when.
  virtual bool Writable() const { return true; }
  struct Health {
    bool writable = true;
    std::string reason;             // the error that stopped writes; empty while writable
    uint64_t write_errors = 0;      // failed writes (a failed group commit counts once)
    uint64_t dropped_unlogged = 0;  // WriteUnlogged batches lost while not writable
    uint64_t recoveries = 0;        // times writes resumed after an error
  };
  virtual Health GetHealth() const { return {}; }
  // Bytes the store occupies on disk (approximate, cheap); 0 if unknown.
  virtual uint64_t DiskBytes() { return 0; }
  // False while the store cannot commit (a remote database is unreachable): /ready answers 503.
  // Embedded stores are always available.
  virtual bool Available() { return true; }
};

struct RocksStoreOptions {
  std::string path;
  // Disable fsync (benchmarks of the non-durable path only; never in production).
  bool sync = true;
  size_t block_cache_bytes = 64 << 20;
};

// Opens (creating if needed) the RocksDB store at options.path.
StatusOr<std::unique_ptr<Store>> OpenRocksStore(const RocksStoreOptions& options);

// Big-endian key encoding helpers so that byte order equals numeric order.
void AppendBigEndian64(std::string& out, uint64_t v);
uint64_t ReadBigEndian64(std::string_view in);  // in.size() >= 8
// Smallest key greater than every key starting with `prefix`.
std::string PrefixEnd(std::string_view prefix);

}  // namespace bp::store
