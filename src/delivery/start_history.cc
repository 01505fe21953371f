#include "delivery/start_history.h"

#include <algorithm>

namespace bp::delivery {

void StartHistory::Record(int64_t epoch_second) {
  size_t slot = static_cast<size_t>(epoch_second % kSeconds);
  std::lock_guard<std::mutex> lock(mu_);
  if (second_[slot] != epoch_second) {
    second_[slot] = epoch_second;
    count_[slot] = 0;
  }
  ++count_[slot];
}

std::vector<int> StartHistory::Last(int64_t now_s, int n) const {
  n = std::clamp(n, 0, kSeconds);
  std::vector<int> out(static_cast<size_t>(n), 0);
  std::lock_guard<std::mutex> lock(mu_);
  for (int i = 0; i < n; ++i) {
    int64_t s = now_s - n + i;
    if (s < 0) continue;
    size_t slot = static_cast<size_t>(s % kSeconds);
    if (second_[slot] == s) out[static_cast<size_t>(i)] = count_[slot];
  }
  return out;
}

}  // namespace bp::delivery
