// Event archives (CreateArchive … DeleteArchive) and the archived events themselves.
//
// An archive belongs to one event bus and keeps a copy of every event PutEvents accepts on that
// bus that matches its optional EventPattern (absent = all events). Copies are written into the
// PutEvents WriteBatch (Add), so an acknowledged event is archived. Archived events live in the
// kArchive family under 'e' + BE64(archive id) + BE64(event time ms, sign-flipped) + event id, so a
// time-range scan of one archive is one ordered iteration. Archive ids are never reused (meta key
// `archive-next-id`), so events of a deleted archive can never reappear under a new one.
//
// EventCount and SizeBytes (bytes of the stored envelopes) are exact: counted from the store at
// start-up, then incremented after each PutEvents batch is durable and decremented by the
// retention sweep for exactly the keys it deleted.
//
// Thread-safety: all methods are thread-safe. Add/Find*/Scan read an immutable snapshot and never
// wait for a control-plane write.
#pragma once

#include <atomic>
#include <boost/json/object.hpp>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "model/arn.h"
#include "store/store.h"

namespace bp::archive {

struct ArchiveOptions {
  model::Partition partition{"us-east-1", "000000000000"};
  // Whether an event bus exists (registry).
  std::function<bool(std::string_view bus)> bus_exists;
};

struct ArchiveCounters {
  std::atomic<int64_t> events{0};
  std::atomic<int64_t> bytes{0};
};

// One copy added by Add, to be counted once its batch is durable.
struct ArchiveCopy {
  std::shared_ptr<ArchiveCounters> counters;
  int64_t bytes = 0;
};

// What a replay needs to know about an archive.
struct ArchiveRef {
  uint64_t id = 0;
  std::string name, arn, bus, bus_arn;
};

class ArchiveStore {
 public:
  using Json = boost::json::object;

  static StatusOr<std::unique_ptr<ArchiveStore>> Open(store::Store& store, const Clock& clock,
                                                      ArchiveOptions options);
  ~ArchiveStore();

  // Control plane: AWS request object in, AWS response object out.
  StatusOr<Json> CreateArchive(const Json& in);
  StatusOr<Json> DescribeArchive(const Json& in);
  StatusOr<Json> ListArchives(const Json& in);
  StatusOr<Json> UpdateArchive(const Json& in);
  StatusOr<Json> DeleteArchive(const Json& in);

  // Data plane. Adds a copy of `envelope` to `batch` for each archive of `bus` that matches it and
  // appends what to count to `copies`. Returns the number of copies added.
  int Add(std::string_view bus, std::string_view event_id, int64_t event_time_s,
          std::string_view envelope, store::WriteBatch& batch,
          std::vector<ArchiveCopy>* copies) const;
  // Counts copies whose batch is now durable.
  static void Count(const std::vector<ArchiveCopy>& copies);

  std::optional<ArchiveRef> FindByArn(std::string_view arn) const;
  bool Exists(uint64_t id) const;

  // Visits the events of archive `id` with start_ms <= time < end_ms in (time, id) order, starting
  // after `after_key` when it is not empty, at most `max` of them. Returns how many were visited.
  using EventFn =
      std::function<void(std::string_view key, std::string_view event, int64_t time_ms)>;
  StatusOr<size_t> Scan(uint64_t id, int64_t start_ms, std::string_view after_key, int64_t end_ms,
                        size_t max, const EventFn& fn) const;

  // Deletes the events older than each archive's RetentionDays (by event time). Returns how many.
  StatusOr<int64_t> SweepExpired();
  // Runs SweepExpired every `interval_ms` on a background thread until Stop.
  void StartSweeper(int64_t interval_ms);
  void Stop();

 private:
  struct Archive;
  struct Snapshot;

  ArchiveStore(store::Store& store, const Clock& clock, ArchiveOptions options);
  Status Load();
  void Publish();  // callers hold mu_
  Json Describe(const Archive& a, bool full) const;
  std::shared_ptr<const Snapshot> snapshot() const;

  store::Store& store_;
  const Clock& clock_;
  const ArchiveOptions options_;

  mutable std::mutex mu_;                                     // serialises control-plane changes
  std::map<std::string, std::unique_ptr<Archive>> archives_;  // GUARDED_BY(mu_), by name
  uint64_t next_id_ = 1;                                      // GUARDED_BY(mu_)
  std::vector<uint64_t> deleted_ids_;  // GUARDED_BY(mu_): purged again by the sweep

  mutable std::mutex snapshot_mu_;  // guards only the pointer
  std::shared_ptr<const Snapshot> snapshot_;

  std::mutex sweep_mu_;
  std::condition_variable sweep_cv_;
  bool stop_ = false;  // GUARDED_BY(sweep_mu_)
  std::thread sweeper_;
};

// Key helpers (exposed for tests).
std::string ArchivePrefix(uint64_t id);
std::string ArchiveEventKey(uint64_t id, int64_t time_ms, std::string_view event_id);

}  // namespace bp::archive
