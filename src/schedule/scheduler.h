// Scheduled rules: one thread that puts the AWS "Scheduled Event" to a scheduled rule's targets at
// each tick of its ScheduleExpression.
//
// Durability contract: a tick's delivery tasks and the rule's "last tick" marker (meta key
// `sched/<bus>/<rule>`) are one atomic write, so a restart neither repeats a committed tick nor
// loses one. Missed ticks (server down, rule just re-enabled while running) collapse into one
// catch-up tick for the most recent scheduled time; earlier missed times are skipped.
//
// Thread-safety: Start/Stop from one thread; RunOnce is for tests (no thread started) and must not
// run concurrently with the scheduler thread.
#pragma once

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "schedule/schedule_expression.h"
#include "store/store.h"

namespace bp::schedule {

struct ScheduledRule {
  std::string bus;
  std::string name;
  std::string arn;
  std::string expression;
  bool enabled = true;
};

struct SchedulerDeps {
  store::Store* store = nullptr;
  const Clock* clock = nullptr;
  std::string account, region;
  // The current scheduled rules (from the registry's snapshot).
  std::function<std::vector<ScheduledRule>()> rules;
  // Adds the delivery tasks of `event_json` for `rule`'s targets only to `batch`, and returns the
  // action to run once the batch is durable (handing the tasks to the delivery engine).
  std::function<StatusOr<std::function<void()>>(
      const ScheduledRule& rule, const std::string& event_json, store::WriteBatch& batch)>
      fanout;
  // Upper bound on the scheduler's sleep, so rule changes are seen promptly.
  int64_t poll_ms = 1000;
};

class Scheduler {
 public:
  explicit Scheduler(SchedulerDeps deps);
  ~Scheduler();

  // Loads the stored markers and starts the thread.
  [[nodiscard]] Status Start();
  void Stop();

  // One pass: fires every due tick, creates/removes markers. Returns how many ticks fired.
  int RunOnce();
  [[nodiscard]] Status LoadMarkers();

  // The event a tick puts (exposed for tests).
  static std::string ScheduledEvent(const ScheduledRule& rule, int64_t tick_ms,
                                    const std::string& account, const std::string& region);

 private:
  struct Marker {
    std::string expression;
    int64_t anchor_ms = 0;  // rate schedules count from here
    int64_t last_ms = 0;    // the last committed tick (or the time the schedule was first seen)
    bool disabled = false;  // in memory only: the rule was seen disabled
  };
  static std::string MarkerKey(const ScheduledRule& r);
  static std::string EncodeMarker(const Marker& m);
  bool Fire(const ScheduledRule& rule, Marker& marker, int64_t tick_ms);
  int64_t NextWakeMs(int64_t now_ms);
  void Loop();

  SchedulerDeps deps_;
  std::map<std::string, Marker> markers_;  // by MarkerKey; scheduler thread only
  std::map<std::string, std::shared_ptr<const ScheduleExpression>> parsed_;  // by expression
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;  // GUARDED_BY(mu_)
  std::thread thread_;
};

}  // namespace bp::schedule
