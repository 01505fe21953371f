// Exact sliding-window start-rate limiter: API destinations (SPEC §8 "rate-limit promise") and
// SQS message move tasks (MaxNumberOfMessagesPerSecond).
//
// Contract: with limit R, every half-open interval [t, t + 1 s) contains at most R accepted starts
// (times in monotonic microseconds). A start at `now` is accepted iff fewer than R starts were
// accepted in (now - 1 s, now]. This is also the most permissive rule with that guarantee, so a
// standing backlog driven at NextAvailable() achieves exactly R starts per second.
//
// Threading: not thread-safe; one thread (or one mutex) owns each limiter. Lifecycle: lives as
// long as its owner's in-memory state; nothing is persisted (after a restart the owner waits 1 s
// before starting, see SPEC §8 leases).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>

namespace bp {

class SlidingWindowLimiter {
 public:
  static constexpr int64_t kWindowMicros = 1'000'000;

  // `rate_per_second` < 1 is treated as 1 (SPEC §8: InvocationRateLimitPerSecond >= 1).
  explicit SlidingWindowLimiter(int rate_per_second);

  // Records a start at `now` and returns true if the window allows it; otherwise changes nothing.
  // `now` must not go backwards between calls; an earlier `now` is treated as the latest time seen.
  bool TryAcquire(int64_t now);

  // Earliest time >= now at which TryAcquire would succeed (== now when a start is allowed now).
  int64_t NextAvailable(int64_t now) const;

  // Starts still allowed in the window ending at `now`, i.e. R - starts in (now - 1 s, now].
  // Exposed as the `rate_limiter_tokens` gauge.
  int Available(int64_t now) const;

  // Changes R. A lowered R applies at once: no later start is accepted while the window ending at
  // it would hold more than the new R starts (earlier starts cannot be undone).
  void SetRate(int rate_per_second);

  int rate() const { return rate_; }

 private:
  // Index of the first retained start inside (now - 1 s, now].
  size_t FirstInWindow(int64_t now) const;
  // Drops starts that can no longer be inside any future window.
  void Prune(int64_t now);

  int rate_;
  // Accepted starts that may still be inside a window, oldest first (non-decreasing). Starts are
  // dropped only when they leave the window, never on SetRate, so that lowering and then raising
  // R within a second still counts every start of that second. Holds at most max(R) entries.
  std::deque<int64_t> starts_;
  int64_t last_ = INT64_MIN;  // latest time seen, to clamp a clock that steps back
};

}  // namespace bp
