// The delivery engine's per-destination limiter is the exact sliding-window limiter of common/.
#pragma once

#include "common/sliding_window_limiter.h"

namespace bp::delivery {

using RateLimiter = bp::SlidingWindowLimiter;

}  // namespace bp::delivery
