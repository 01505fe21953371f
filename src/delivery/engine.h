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

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/delivery_error_code.h"
#include "common/status.h"
#include "delivery/http_client.h"
#include "http/server.h"
#include "registry/registry.h"
#include "registry/settings.h"
#include "store/store.h"
#include "tasks/tasks.h"

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

using tasks::BusRoute;
using tasks::LaneFor;
using tasks::NewTask;

struct EngineDeps {
  store::Store* store = nullptr;
  registry::Registry* registry = nullptr;
  queue::QueueService* queues = nullptr;
  metrics::Registry* metrics = nullptr;
  HttpClient* http = nullptr;
  auth::TokenFetcher* token_fetcher = nullptr;
  const Clock* clock = nullptr;
  BusRoute bus_fanout;  // event-bus targets
  registry::DeliverySettings defaults;
  int64_t attempt_retention_seconds = 7 * 86400;
  // Cap on a built payload and on the expanded URL and headers of one attempt (INVALID_PARAMETER
  // beyond it).
  size_t max_payload_bytes = 256 * 1024;
  // Cluster mode (unset otherwise): attempts start, and parked or throttled work expires, only in
  // lanes for which may_start(lane) is true (this node holds the lane's lease). Task sequence
  // numbers are congruent to seq_offset modulo seq_stride, so nodes on one database never
  // allocate the same task key.
  std::function<bool(const std::string& lane)> may_start;
  uint64_t seq_stride = 1;
  uint64_t seq_offset = 0;
};

// One HTTP call of an EventBridge pipe (its enrichment or its target) through an API destination.
// The call takes a start slot on the destination's exact rate limiter (shared with rule
// deliveries, FIFO-interleaved with them), uses the connection's auth and the destination's
// settings (timeout, retryable statuses), and is classified as SPEC §9 says. It is not durable
// and never retried by the engine: the pipe's source queue owns redelivery.
struct PipeCall {
  std::string pipe_name;
  std::string role;         // "enrichment" or "target" (attempt records, logs)
  std::string destination;  // API destination name
  std::string payload;      // request body
  // The pipe's HttpParameters ({"PathParameterValues": [...], "HeaderParameters": {...},
  // "QueryStringParameters": {...}}) as JSON text; empty for none. `$.` values are paths into
  // `path_document`.
  std::string http_parameters_json;
  std::string path_document;
  std::string record_id;            // the first record's messageId (attempt records)
  bool keep_response_body = false;  // enrichment: the body is the next payload
};

struct PipeCallResult {
  enum class Kind { kSuccess, kRetryable, kPermanent };
  Kind kind = Kind::kPermanent;
  int status = 0;
  std::string body;  // response body (whole with keep_response_body, else <= 1 KiB)
  DeliveryErrorCode error_code = DeliveryErrorCode::kNone;  // SPEC §9 ERROR_CODE
  std::string error_message;                                // <= 1024 bytes
};

// Runs on the engine thread: must be cheap and must not call back into the engine synchronously.
using PipeCallDone = std::function<void(PipeCallResult)>;

// The engine is the TaskSink ingest and the other task writers hand committed tasks to
// (tasks/tasks.h): NextSeq, Enqueue and PendingDeliveries.
class DeliveryEngine : public tasks::TaskSink {
 public:
  // Recovers pending tasks from the store and starts the engine thread.
  static StatusOr<std::unique_ptr<DeliveryEngine>> Start(EngineDeps deps);
  ~DeliveryEngine() override = default;

  // A connection was created, changed or deleted (called by the registry's listener; must not
  // call back into the registry synchronously).
  virtual void ConnectionChanged(const std::string& name) = 0;
  // PendingDeliveries (TaskSink): deliveries waiting or in flight (ready, scheduled, parked),
  // refreshed every 250 ms plus the tasks enqueued since. Any thread.
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
  // Attempt starts per second of an API destination for the `seconds` whole seconds before
  // `now_s`, oldest first (all zero for a destination without starts). Any thread.
  virtual std::vector<int> RecentStarts(const std::string& destination, int64_t now_s,
                                        int seconds) {
    (void)destination, (void)now_s;
    return std::vector<int>(static_cast<size_t>(std::max(0, seconds)), 0);
  }
  // Queues a pipe's call on its destination's lane; `done` runs exactly once, unless the engine
  // stops first (then never: callers wait with their own deadline).
  virtual void SubmitPipeCall(PipeCall call, PipeCallDone done) = 0;
};

}  // namespace bp::delivery
