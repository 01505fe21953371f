// The seam between the modules that create delivery tasks (ingest, bus-to-bus targets, replays,
// console redrive, pipes) and the one that runs them (delivery). Nothing here knows how a task is
// delivered: ingest and the others depend on this module only, never on delivery's headers.
//
//   TaskRecord (task_record.h)  the versioned, self-contained stored task (Family::kTasks)
//   LaneFor                     the lane (per-destination delivery queue) a target's tasks join
//   SeqAllocator                unique, increasing task sequence numbers (one per node)
//   TaskSink                    "these tasks are committed": the delivery engine implements it
//   BusRoute                    "route this event onto bus B": ingest provides it; the engine
//                               (event-bus targets) and pipes call it
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "registry/routing.h"
#include "store/store.h"
#include "tasks/task_record.h"

namespace bp::tasks {

// A task whose record is durable (or in the batch about to commit), handed over for delivery.
struct NewTask {
  uint64_t seq = 0;
  std::string lane;
  int64_t ingestion_ms = 0;
  int64_t due_ms = 0;
  int32_t max_age_s = 86400;  // the target's MaximumEventAgeInSeconds (parking expiry)
  // The encoded TaskRecord as written, so a prompt first attempt need not read it back.
  std::shared_ptr<const std::string> record;
};

// The lane (delivery queue) a target delivers through: "api/<destination>", "sqs/<queue arn>",
// or "bus/<bus name>". Lanes are the unit of FIFO order and, in cluster mode, of ownership.
std::string LaneFor(registry::TargetKind kind, const std::string& resource_name);
inline std::string LaneFor(const registry::TargetRoute& target) {
  return LaneFor(target.kind, target.resource_name);
}

// Task sequence numbers: unique and increasing in allocation order (the key order of
// Family::kTasks, hence FIFO within a lane). Seeded once, after the largest stored sequence number
// is known, and never below the clock (16 numbers per microsecond), so a wiped store still yields
// increasing keys. In cluster mode every node allocates only numbers congruent to `offset` modulo
// `stride`, so nodes sharing one database never allocate the same key. Next is thread-safe.
class SeqAllocator {
 public:
  explicit SeqAllocator(uint64_t stride = 1, uint64_t offset = 0);
  // `max_stored`: the largest sequence number in the store (0 if none); `now_micros`: wall clock.
  void Seed(uint64_t max_stored, int64_t now_micros);
  uint64_t Next() { return next_.fetch_add(stride_, std::memory_order_relaxed); }
  uint64_t stride() const { return stride_; }

 private:
  const uint64_t stride_;
  const uint64_t offset_;
  std::atomic<uint64_t> next_{0};
};

// "These tasks are committed": whoever writes task records hands them over here after the write
// is durable. Implemented by the delivery engine (and, in cluster mode, by a filter in front of it
// that keeps the lanes this node owns). Thread-safe.
class TaskSink {
 public:
  virtual ~TaskSink() = default;
  // A fresh sequence number for a task about to be written.
  virtual uint64_t NextSeq() = 0;
  virtual void Enqueue(std::vector<NewTask> tasks) = 0;
  // Deliveries waiting or in flight: a cheap estimate for backpressure.
  virtual int64_t PendingDeliveries() const { return 0; }
};

// "Route this event onto bus B": matches `event_json` against bus `bus`'s rules, adds one task
// record per matched target to `batch` and returns the tasks, to be handed to a TaskSink after the
// batch commits. `hops` counts event-bus-to-event-bus hops so far (loop protection).
using BusRoute = std::function<StatusOr<std::vector<NewTask>>(
    const std::string& bus, const std::string& event_json, int64_t ingestion_ms, int hops,
    store::WriteBatch& batch)>;

}  // namespace bp::tasks
