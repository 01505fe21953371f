// Redrive: moves dead-letter messages back to the rule and target named in their RULE_ARN and
// TARGET_ARN attributes, as new durable delivery tasks, at most `rate` per second.
//
// Contract: each message leaves the DLQ in the same store write that creates its task (so a
// message is deleted only once its task is durable, and never redriven twice); the task then goes
// through the destination's lane, so the destination's own limit still applies. A redrive selects
// the messages present when it was created (seq bound), so deliveries that fail again and return
// to the DLQ are not picked up again by the same redrive. Jobs are stored under meta
// "redrive/<id>" with their progress, written in the same batch as each step, and resume after a
// restart.
//
// Threads: one worker thread runs every job's steps; the public methods may be called from any
// thread (they wait at most for one step, i.e. one fsync).
#pragma once

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "console/console_internal.h"

namespace bp::console {

struct RedriveJob {
  std::string id;
  std::string queue;  // queue name
  DeadLetterFilter filter;
  int rate = 10;          // messages per second, 1..kMaxRedriveRate
  std::string state;      // RUNNING, COMPLETED, CANCELLED, FAILED
  uint64_t total = 0;     // messages selected when the redrive was created
  uint64_t redriven = 0;  // tasks created (and messages deleted)
  uint64_t skipped = 0;   // left in the DLQ: rule/target gone, or in flight at the time
  uint64_t cursor = 0;    // messages up to this seq have been looked at
  int64_t created_ms = 0, updated_ms = 0;
  std::string last_error;  // last skip reason or failure
  int64_t next_us = 0;     // pacing (monotonic), not stored

  json::object ToJson() const;
  static std::optional<RedriveJob> FromJson(const json::value& v);
};

inline constexpr int kMaxRedriveRate = 10000;

class Redriver {
 public:
  explicit Redriver(const ConsoleDeps& deps) : d_(deps) {}
  ~Redriver() { Stop(); }

  // Loads stored jobs and starts the worker.
  [[nodiscard]] Status Start();
  void Stop();

  // POST /_bridgeport/v1/redrives body.
  StatusOr<json::object> Create(const json::object& request);
  StatusOr<json::object> Get(const std::string& id);
  json::object List();
  StatusOr<json::object> Cancel(const std::string& id);

 private:
  void Loop();
  // One paced step of a running job; mu_ held. Returns false when the job is finished.
  bool Step(RedriveJob& job, int64_t now_us);
  // Ends `job` as FAILED with `error` (persisted best effort).
  void FailJob(RedriveJob& job, std::string error, int64_t now_ms);
  Status Persist(const RedriveJob& job);

  const ConsoleDeps d_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, RedriveJob> jobs_;  // GUARDED_BY(mu_)
  bool stopping_ = false;                   // GUARDED_BY(mu_)
  std::thread thread_;
};

}  // namespace bp::console
