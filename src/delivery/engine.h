// The delivery engine: per-destination ready queues, an exact rate limiter per API destination,
// retries with backoff, parking while a connection is not authorized, and dead-lettering.
//
// Threads: one engine thread owns all scheduling state and starts attempts; the HTTP client's
// thread and the store's commit thread only post results into the engine's inbox. Enqueue and
// NextSeq are thread-safe and cheap.
//
// Durability: tasks are written by ingest before they are enqueued here; every outcome (delete,
// retry state, dead-letter message) is written back through the store's group commit. A restart
// recovers every task from the store, so nothing acknowledged depends on memory.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "delivery/http_client.h"
#include "delivery/task_record.h"
#include "http/server.h"
#include "registry/registry.h"
#include "registry/settings.h"
#include "store/store.h"

namespace bp::auth {
class TokenFetcher;
}
namespace bp::metrics {
class Registry;
}
namespace bp::queue {
class QueueService;
}

namespace bp::delivery {

// A task that ingest has made durable and hands over for delivery.
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
// or "bus/<bus name>".
std::string LaneFor(const registry::TargetRoute& target);

// Re-puts an event on another bus (event-bus targets): adds the new tasks to `batch` and returns
// them, to be enqueued after the batch commits.
using BusFanout = std::function<StatusOr<std::vector<NewTask>>(
    const std::string& bus, const std::string& event_json, int64_t ingestion_ms, int hops,
    store::WriteBatch& batch)>;

struct EngineDeps {
  store::Store* store = nullptr;
  registry::Registry* registry = nullptr;
  queue::QueueService* queues = nullptr;
  metrics::Registry* metrics = nullptr;
  HttpClient* http = nullptr;
  auth::TokenFetcher* token_fetcher = nullptr;
  const Clock* clock = nullptr;
  BusFanout bus_fanout;
  registry::DeliverySettings defaults;
  int64_t attempt_retention_seconds = 7 * 86400;
  // Cluster mode (unset otherwise): attempts start, and parked or throttled work expires, only in
  // lanes for which may_start(lane) is true (this node holds the lane's lease). Task sequence
  // numbers are congruent to seq_offset modulo seq_stride, so nodes on one database never
  // allocate the same task key.
  std::function<bool(const std::string& lane)> may_start;
  uint64_t seq_stride = 1;
  uint64_t seq_offset = 0;
};

class DeliveryEngine {
 public:
  // Recovers pending tasks from the store and starts the engine thread.
  static StatusOr<std::unique_ptr<DeliveryEngine>> Start(EngineDeps deps);
  virtual ~DeliveryEngine() = default;

  // Unique, increasing sequence numbers for new tasks.
  virtual uint64_t NextSeq() = 0;
  virtual void Enqueue(std::vector<NewTask> tasks) = 0;
  // A connection was created, changed or deleted (called by the registry's listener; must not
  // call back into the registry synchronously).
  virtual void ConnectionChanged(const std::string& name) = 0;
  // Cluster mode (engine_cluster.cc). The protocol when this node takes `lane`'s lease:
  // DropLane, then read the lane's tasks from the store, then AdoptLane with them. AdoptLane adds
  // the tasks not already pending (Enqueue may have added some meanwhile), and Enqueue ignores
  // the adopted sequence numbers for a while, since a task may be handed over twice.
  // (The defaults do nothing: engines that never run in cluster mode, e.g. test doubles.)
  virtual void AdoptLane(const std::string& lane, std::vector<NewTask> tasks) {
    (void)lane;
    (void)tasks;
  }
  // Forgets `lane`'s pending work (another node owns it, or it is about to be re-read); attempts
  // in flight finish and write their outcome.
  virtual void DropLane(const std::string& lane) { (void)lane; }
  // Re-evaluates which lanes may start (lease ownership changed).
  virtual void Wake() {}
  // Stops starting attempts, waits (bounded) for in-flight ones, joins the thread.
  virtual void Stop() = 0;
  // GET /_bridgeport/v1/... admin requests.
  virtual void HandleAdmin(const http::Request& req, http::Responder respond) = 0;
};

}  // namespace bp::delivery
