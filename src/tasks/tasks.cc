#include "tasks/tasks.h"

#include <algorithm>

namespace bp::tasks {

std::string LaneFor(registry::TargetKind kind, const std::string& resource_name) {
  switch (kind) {
    case registry::TargetKind::kApiDestination:
      return "api/" + resource_name;
    case registry::TargetKind::kQueue:
      return "sqs/" + resource_name;
    case registry::TargetKind::kEventBus:
      return "bus/" + resource_name;
  }
  return "api/" + resource_name;
}

SeqAllocator::SeqAllocator(uint64_t stride, uint64_t offset)
    : stride_(std::max<uint64_t>(1, stride)), offset_(offset % std::max<uint64_t>(1, stride)) {}

void SeqAllocator::Seed(uint64_t max_stored, int64_t now_micros) {
  uint64_t floor = static_cast<uint64_t>(std::max<int64_t>(0, now_micros)) * 16;
  uint64_t first = std::max(max_stored + 1, floor);
  uint64_t aligned = first - first % stride_ + offset_;
  next_.store(aligned < first ? aligned + stride_ : aligned, std::memory_order_relaxed);
}

}  // namespace bp::tasks
