// Replays (StartReplay / DescribeReplay / ListReplays / CancelReplay): archived events of an event
// time range [EventStartTime, EventEndTime) are put again on the archive's bus, through its rules
// (all, or only Destination.FilterArns), with a top-level "replay-name" field and their original
// id, and are never archived again.
//
// One worker thread walks every running replay in (event time, event id) order, one 1-minute
// event-time slice at a time, in batches of at most `batch_events` events. Each batch's delivery
// tasks and the replay's progress (cursor, EventLastReplayedTime, state) are ONE atomic write, so a
// restart resumes exactly after the last committed batch: the replay itself never repeats or skips
// an event (duplicates can only come from deliveries in flight at a crash, as for any task).
//
// States: STARTING → RUNNING → COMPLETED | CANCELLED (via CANCELLING) | FAILED (archive or bus
// deleted, store error). At most `max_running` replays are STARTING, RUNNING or CANCELLING.
//
// Thread-safety: all methods are thread-safe.
#pragma once

#include <boost/json/object.hpp>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "archive/archive_store.h"
#include "common/clock.h"
#include "common/status.h"
#include "model/arn.h"
#include "store/store.h"

namespace bp::replay {

struct ReplayOptions {
  model::Partition partition{"us-east-1", "000000000000"};
  int max_running = 10;
  // Upper bound on replayed events per second per replay; 0 = as fast as the store commits.
  int64_t events_per_second = 0;
  size_t batch_events = 100;
};

struct ReplayDeps {
  store::Store* store = nullptr;
  const Clock* clock = nullptr;
  const archive::ArchiveStore* archives = nullptr;
  // Adds the tasks of `event_json` for the matching rules of `bus` (only `rule_arns` if not empty)
  // to `batch`; returns the action to run once the batch is durable.
  std::function<StatusOr<std::function<void()>>(
      const std::string& bus, const std::string& event_id, const std::string& event_json,
      const std::vector<std::string>& rule_arns, store::WriteBatch& batch)>
      fanout;
  // Whether `rule_arn` names a rule of `bus`.
  std::function<bool(const std::string& bus, const std::string& rule_arn)> rule_exists;
  std::function<bool(const std::string& bus)> bus_exists;
};

class ReplayService {
 public:
  using Json = boost::json::object;

  ReplayService(ReplayDeps deps, ReplayOptions options);
  ~ReplayService();

  // Loads stored replays and starts the worker (unfinished replays resume).
  [[nodiscard]] Status Start();
  void Stop();

  StatusOr<Json> StartReplay(const Json& in);
  StatusOr<Json> DescribeReplay(const Json& in);
  StatusOr<Json> ListReplays(const Json& in);
  StatusOr<Json> CancelReplay(const Json& in);

 private:
  struct Replay;
  // Where a replay stands (a copy taken under mu_).
  struct Position {
    std::string name, bus;
    uint64_t archive_id = 0;
    int64_t start_ms = 0, end_ms = 0;
    std::string cursor;
    std::vector<std::string> filters;
  };
  // The next batch of a replay: its task writes and what to run once they are durable.
  struct Batch {
    store::WriteBatch writes;
    std::vector<std::function<void()>> after;
    std::string last_key;
    int64_t last_time = 0;
    size_t events = 0;
    bool end_of_range = false;
    Status error;
  };
  Batch NextBatch(const Position& p) const;
  Status Load();
  void Loop();
  // Runs one batch of `name`; returns false when the replay is finished (or gone).
  bool Step(const std::string& name);
  void Finish(Replay& r, std::string_view state, std::string reason);  // callers hold mu_
  Status Persist(const Replay& r, store::WriteBatch& batch);           // callers hold mu_
  Json View(const Replay& r, bool full) const;
  int Running() const;  // callers hold mu_

  ReplayDeps deps_;
  const ReplayOptions options_;

  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<Replay>> replays_;  // GUARDED_BY(mu_)
  std::condition_variable cv_;                              // work arrived / stop
  bool stop_ = false;                                       // GUARDED_BY(mu_)
  std::thread worker_;
};

}  // namespace bp::replay
