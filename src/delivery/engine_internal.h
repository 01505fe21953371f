// Internal state of the delivery engine (engine.cc, engine_attempts.cc, engine_admin.cc).
#pragma once

#include <boost/json/object.hpp>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <queue>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "auth/token_cache.h"
#include "delivery/destination_guards.h"
#include "delivery/engine.h"
#include "delivery/rate_limiter.h"
#include "delivery/retry_policy.h"
#include "delivery/start_history.h"
#include "metrics/metrics.h"
#include "transform/transform.h"

namespace bp::delivery {

using tasks::DecodeTask;
using tasks::EncodeTask;
using tasks::SeqFromTaskKey;
using tasks::TaskKey;
using tasks::TaskRecord;

struct TaskRef {
  uint64_t seq = 0;
  int64_t ingestion_ms = 0;
  int32_t max_age_s = 86400;
  // The stored record, kept only while the lane is short (memory stays bounded with a large
  // backlog); otherwise the attempt reads the record from the store.
  std::shared_ptr<const std::string> record;
};

// Lanes longer than this keep no task records in memory.
inline constexpr size_t kMaxCachedRecordsPerLane = 4096;

enum class LaneKind { kApi, kQueue, kBus };

// A pipe call waiting for (or holding) a start slot on its destination's lane.
struct PendingPipeCall {
  PipeCall call;
  PipeCallDone done;
  std::string access_token;  // OAuth token used, for Invalidate on 401/407
  std::string method, redacted_url;
  std::vector<std::pair<std::string, std::string>> redacted_headers;
  int64_t start_wall_us = 0;
  int64_t submitted_mono_us = 0;
  uint64_t seq = 0;  // attempt record key
};

struct Lane {
  std::string key;
  LaneKind kind = LaneKind::kApi;
  std::string resource;  // destination name, queue ARN or bus name
  std::deque<TaskRef> ready;
  size_t scheduled = 0;  // tasks waiting in the retry timer heap
  std::unique_ptr<RateLimiter> limiter;
  int inflight = 0;
  bool parked = false;
  bool throttled = false;                   // the limiter refused a start while work was ready
  int burst = 0;                            // bridgeport:rate-burst (0: off)
  std::string breaker_spec;                 // bridgeport:circuit-breaker as last applied
  std::unique_ptr<CircuitBreaker> breaker;  // null: off
  bool adaptive = false;                    // bridgeport:adaptive-rate=on
  AdaptiveRate adaptive_rate;
  int64_t blocked_until_us = 0;  // breaker open / Retry-After pause: no start before this
  int64_t gcra_tat_us = 0;       // GCRA theoretical arrival time (monotonic µs)
  uint64_t epoch = 0;            // bumped when the lane's pending work is dropped (cluster)
  bool waiting_token = false;
  metrics::Counter* throttled_waits = nullptr;
  metrics::Counter* starts = nullptr;           // attempts started through the limiter (API lanes)
  std::shared_ptr<StartHistory> start_history;  // the same starts per second (API lanes)
  std::map<std::string, metrics::Counter*> attempts_by_result;  // cached series
  // Latency series labelled with this lane's resource, looked up once when the lane is made.
  metrics::Histogram* attempt_duration = nullptr;
  metrics::Histogram* ingest_to_invocation = nullptr;
  // Pipe calls share the lane's limiter; starts alternate between them and `ready` tasks.
  std::deque<std::shared_ptr<PendingPipeCall>> pipe_calls;
  bool pipe_turn = false;
};

inline bool HasWork(const Lane& lane) { return !lane.ready.empty() || !lane.pipe_calls.empty(); }

struct Timer {
  int64_t due_ms;
  uint64_t seq;
  std::string lane;
  TaskRef ref;
  uint64_t lane_epoch = 0;  // the lane's epoch when scheduled (DropLane voids it)
  bool operator>(const Timer& o) const {
    return due_ms != o.due_ms ? due_ms > o.due_ms : seq > o.seq;
  }
};

// Everything about one attempt in flight.
struct Attempt {
  TaskRecord task;
  std::string lane;
  TaskRef ref;
  std::shared_ptr<const registry::TargetRoute> target;
  std::shared_ptr<const registry::DestinationView> destination;
  std::shared_ptr<const registry::ConnectionView> connection;
  registry::DeliverySettings settings;
  RetryPolicy policy;
  std::string access_token;  // OAuth token used, for Invalidate on 401/407
  std::string method;
  std::string redacted_url;
  std::vector<std::pair<std::string, std::string>> redacted_headers;
  int64_t start_wall_us = 0;
  bool recorded = false;  // an attempt record was written for this attempt
};

// A connection's InvocationHttpParameters in the transform module's terms.
transform::ConnectionHttpParameters ConnectionParams(const registry::ConnectionView& c);

// "2xx".."5xx", "timeout" or "conn_error": the result label of
// bridgeport_invocation_attempts_total.
std::string ResultClass(const HttpResult& r);

// The HTTP exchange part of an attempt record (timing, status, response prefix, transport error,
// method, URL and headers with secrets already masked).
void AddExchangeFields(boost::json::object& rec, const HttpResult* r, const std::string& method,
                       const std::string& url, const HttpHeaders& headers);
// Writes an attempt record under its lane and start time, without the write-ahead log.
void WriteAttemptRecord(store::Store& store, const std::string& lane, int64_t start_us,
                        uint64_t seq, const boost::json::object& rec);

// Per-connection OAuth state, owned by the engine thread.
class ConnectionAuth;

}  // namespace bp::delivery
