#include "common/sliding_window_limiter.h"

#include <algorithm>

namespace bp {

SlidingWindowLimiter::SlidingWindowLimiter(int rate_per_second)
    : rate_(std::max(1, rate_per_second)) {}

size_t SlidingWindowLimiter::FirstInWindow(int64_t now) const {
  // Starts are sorted, so the ones at or before now - 1 s form a prefix.
  return static_cast<size_t>(std::upper_bound(starts_.begin(), starts_.end(), now - kWindowMicros) -
                             starts_.begin());
}

void SlidingWindowLimiter::Prune(int64_t now) {
  const size_t first = FirstInWindow(now);
  starts_.erase(starts_.begin(), starts_.begin() + static_cast<std::ptrdiff_t>(first));
}

bool SlidingWindowLimiter::TryAcquire(int64_t now) {
  now = std::max(now, last_);
  last_ = now;
  Prune(now);
  if (starts_.size() >= static_cast<size_t>(rate_)) return false;
  starts_.push_back(now);
  return true;
}

int64_t SlidingWindowLimiter::NextAvailable(int64_t now) const {
  now = std::max(now, last_);
  const size_t first = FirstInWindow(now);
  const size_t in_window = starts_.size() - first;
  if (in_window < static_cast<size_t>(rate_)) return now;
  // The count drops below R once the (in_window - R + 1) oldest in-window starts have left.
  return starts_[first + (in_window - static_cast<size_t>(rate_))] + kWindowMicros;
}

int SlidingWindowLimiter::Available(int64_t now) const {
  now = std::max(now, last_);
  const auto in_window = static_cast<int64_t>(starts_.size() - FirstInWindow(now));
  return static_cast<int>(std::max<int64_t>(0, rate_ - in_window));
}

void SlidingWindowLimiter::SetRate(int rate_per_second) { rate_ = std::max(1, rate_per_second); }

}  // namespace bp
