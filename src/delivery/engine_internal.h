// Internal state of the delivery engine (engine.cc, engine_attempts.cc, engine_admin.cc).
#pragma once

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
#include "metrics/metrics.h"
#include "transform/transform.h"

namespace bp::delivery {

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
  std::map<std::string, metrics::Counter*> attempts_by_result;  // cached series
};

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

// Per-connection OAuth state, owned by the engine thread.
class ConnectionAuth;

}  // namespace bp::delivery
