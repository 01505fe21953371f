// Attempt starts per wall-clock second of one API destination over the last few minutes, for the
// web console's rate charts. Each start is counted in the second it happened, so bursts at the
// edge of a second are never split across samples.
//
// Threads: the engine thread calls Record at each start; any thread may call Last. A mutex guards
// the ring (one uncontended lock per attempt start).
#pragma once

#include <array>
#include <cstdint>
#include <mutex>
#include <vector>

namespace bp::delivery {

class StartHistory {
 public:
  static constexpr int kSeconds = 300;

  void Record(int64_t epoch_second);
  // Starts in each of the `n` (<= kSeconds) whole seconds before `now_s`, oldest first.
  std::vector<int> Last(int64_t now_s, int n) const;

 private:
  mutable std::mutex mu_;
  std::array<int64_t, kSeconds> second_{};  // GUARDED_BY(mu_): which second a slot counts
  std::array<int, kSeconds> count_{};       // GUARDED_BY(mu_)
};

}  // namespace bp::delivery
