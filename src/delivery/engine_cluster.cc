// Cluster mode: handing a lane's pending work between nodes (see DeliveryEngine::AdoptLane).
#include <unordered_set>

#include "common/log.h"
#include "delivery/engine_impl.h"

namespace bp::delivery {

namespace {
// How long adopted sequence numbers are remembered: far longer than a store read takes, so a
// task both read by the adoption scan and handed over by the task feed is pending only once.
constexpr int64_t kAdoptedMemoryMicros = 120'000'000;
}  // namespace

bool EngineImpl::RecentlyAdopted(const std::string& lane, uint64_t seq) {
  int64_t now = d_.clock->MonotonicMicros();
  for (auto it = adopted_.begin(); it != adopted_.end();) {
    if (now - it->second.at_mono > kAdoptedMemoryMicros) {
      it = adopted_.erase(it);
    } else {
      ++it;
    }
  }
  auto it = adopted_.find(lane);
  return it != adopted_.end() && it->second.seqs.count(seq) > 0;
}

void EngineImpl::DropLane(const std::string& lane_key) {
  Post([this, lane_key] {
    auto it = lanes_.find(lane_key);
    if (it == lanes_.end()) return;
    Lane& lane = *it->second;
    lane.epoch++;  // voids the lane's entries in the timer heap
    lane.ready.clear();
    lane.scheduled = 0;
    active_.erase(&lane);
    adopted_.erase(lane_key);
  });
}

void EngineImpl::AdoptLane(const std::string& lane_key, std::vector<NewTask> tasks) {
  Post([this, lane_key, tasks = std::move(tasks)] {
    Lane& lane = GetLane(lane_key);
    std::unordered_set<uint64_t> pending;
    for (const TaskRef& r : lane.ready) pending.insert(r.seq);
    Adopted& memo = adopted_[lane_key];
    memo.seqs.clear();
    memo.at_mono = d_.clock->MonotonicMicros();
    int64_t now_ms = d_.clock->NowMillis();
    size_t added = 0;
    for (const NewTask& t : tasks) {
      memo.seqs.insert(t.seq);
      if (pending.count(t.seq)) continue;
      // No cached record: the attempt reads the task back, so a task finished elsewhere since
      // the scan is skipped rather than delivered again.
      TaskRef ref{t.seq, t.ingestion_ms, t.max_age_s, nullptr};
      if (t.due_ms > now_ms) {
        Schedule(lane_key, ref, t.due_ms);
      } else {
        AddReady(lane_key, ref);
      }
      ++added;
    }
    log::Info("delivery", "lane adopted",
              {{"lane", lane_key}, {"tasks", static_cast<int64_t>(added)}});
  });
}

}  // namespace bp::delivery
