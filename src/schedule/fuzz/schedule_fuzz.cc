// Fuzzes ScheduleExpression::Parse and, for accepted expressions, the next-time computation.
// Invariants: Next is strictly after its argument, on a whole minute for cron, and LatestDue
// never exceeds `now`.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "schedule/schedule_expression.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto e = bp::schedule::ScheduleExpression::Parse(text);
  if (!e.ok()) return 0;
  const int64_t t = 1'700'000'000'000;
  auto next = e->Next(t, t - 90'000);
  if (next && *next <= t) std::abort();
  if (next && !e->is_rate() && *next % 60'000 != 0) std::abort();
  auto due = e->LatestDue(t - 86'400'000, t, t - 90'000);
  if (due && (*due > t || *due <= t - 86'400'000)) std::abort();
  return 0;
}
