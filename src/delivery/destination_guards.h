// [ext] Per-destination guards on top of the exact rate limit (SPEC.md §12):
//   CircuitBreaker — `bridgeport:circuit-breaker`: stops starting attempts while a destination
//     fails too often, then lets one probe through;
//   AdaptiveRate   — `bridgeport:adaptive-rate`: halves the rate on 429 (pausing until
//     Retry-After) and recovers by 5 % of R per clean second.
// Both are plain state machines over caller-supplied monotonic times; the engine thread owns them.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string_view>

#include "registry/settings.h"

namespace bp::delivery {

using BreakerPolicy = registry::BreakerPolicy;

class CircuitBreaker {
 public:
  enum class State { kClosed, kOpen, kHalfOpen };

  explicit CircuitBreaker(BreakerPolicy policy) : policy_(policy) {}

  // Whether an attempt may start now. In half-open state exactly one probe is let through until
  // its result arrives.
  bool AllowStart(int64_t now);
  void OnResult(int64_t now, bool success);
  State state(int64_t now) const;
  // When an open breaker lets its probe through.
  int64_t open_until() const { return open_until_; }

 private:
  void Trim(int64_t now);

  const BreakerPolicy policy_;
  std::deque<std::pair<int64_t, bool>> window_;  // (time, success) of results in the window
  int failures_ = 0;
  bool open_ = false;
  int64_t open_until_ = 0;
  bool probe_in_flight_ = false;
};

class AdaptiveRate {
 public:
  // The effective rate now, for a configured rate `r`.
  int Rate(int64_t now, int r);
  // A 429 (or a Retry-After) was received: halve the rate (at least 1/s) and pause.
  void OnThrottled(int64_t now, int r, std::optional<int64_t> retry_after_us);
  int64_t paused_until() const { return paused_until_; }

 private:
  std::optional<double> rate_;  // nullopt: at the configured rate
  int64_t last_change_ = 0;
  int64_t paused_until_ = 0;
};

}  // namespace bp::delivery
