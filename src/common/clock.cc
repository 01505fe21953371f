#include "common/clock.h"

namespace bp {

RealClock& RealClock::Get() {
  static RealClock clock;
  return clock;
}

}  // namespace bp
