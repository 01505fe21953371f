#include "delivery/destination_guards.h"

#include <algorithm>
#include <cmath>

namespace bp::delivery {

void CircuitBreaker::Trim(int64_t now) {
  while (!window_.empty() && window_.front().first <= now - policy_.window_us) {
    if (!window_.front().second) --failures_;
    window_.pop_front();
  }
}

CircuitBreaker::State CircuitBreaker::state(int64_t now) const {
  if (!open_) return State::kClosed;
  return now < open_until_ ? State::kOpen : State::kHalfOpen;
}

bool CircuitBreaker::AllowStart(int64_t now) {
  switch (state(now)) {
    case State::kClosed:
      return true;
    case State::kOpen:
      return false;
    case State::kHalfOpen:
      if (probe_in_flight_) return false;
      probe_in_flight_ = true;
      return true;
  }
  return true;
}

void CircuitBreaker::OnResult(int64_t now, bool success) {
  if (open_) {
    // Results while open are from attempts started before it opened, or the probe.
    if (!probe_in_flight_) return;
    probe_in_flight_ = false;
    if (success) {
      open_ = false;
      window_.clear();
      failures_ = 0;
    } else {
      open_until_ = now + policy_.open_us;
    }
    return;
  }
  Trim(now);
  window_.emplace_back(now, success);
  if (!success) ++failures_;
  int total = static_cast<int>(window_.size());
  if (total >= policy_.min_requests && failures_ * 100 >= policy_.failure_rate_percent * total) {
    open_ = true;
    open_until_ = now + policy_.open_us;
  }
}

int AdaptiveRate::Rate(int64_t now, int r) {
  if (!rate_) return r;
  // +5 % of R for every whole clean second since the last change.
  int64_t seconds = (now - last_change_) / 1'000'000;
  if (seconds > 0) {
    *rate_ += static_cast<double>(seconds) * 0.05 * r;
    last_change_ += seconds * 1'000'000;
  }
  if (*rate_ >= r) {
    rate_.reset();
    return r;
  }
  return std::max(1, static_cast<int>(std::floor(*rate_)));
}

void AdaptiveRate::OnThrottled(int64_t now, int r, std::optional<int64_t> retry_after_us) {
  double current = rate_ ? *rate_ : static_cast<double>(r);
  rate_ = std::max(1.0, current * 0.5);
  if (retry_after_us && *retry_after_us > 0) {
    paused_until_ = std::max(paused_until_, now + *retry_after_us);
  }
  // Clean seconds are counted from the end of any pause.
  last_change_ = std::max(now, paused_until_);
}

}  // namespace bp::delivery
