// Schedule expressions of scheduled rules (PutRule ScheduleExpression), as EventBridge accepts
// them:
//   rate(N unit)   N >= 1; unit minute|hour|day when N = 1, minutes|hours|days when N > 1
//   cron(min hour day-of-month month day-of-week year), UTC, six fields:
//     min 0-59, hour 0-23: , - * /
//     day-of-month 1-31:   , - * / ? L LW nW
//     month 1-12|JAN-DEC:  , - * /
//     day-of-week 1-7|SUN-SAT (1 = Sunday): , - * ? L nL n#k
//     year 1970-2199:      , - * /
//   exactly one of day-of-month and day-of-week is `?`.
//
// Pure and immutable: no clock, no I/O; safe to share between threads.
#pragma once

#include <bitset>
#include <cstdint>
#include <optional>
#include <string_view>

#include "common/status.h"

namespace bp::schedule {

class ScheduleExpression {
 public:
  // Errors are kValidation "Parameter ScheduleExpression is not valid." (AWS's message).
  [[nodiscard]] static StatusOr<ScheduleExpression> Parse(std::string_view text);

  // The first scheduled time strictly after `after_ms` (epoch milliseconds, UTC), or nullopt if
  // there is none (a cron whose years are over). Rate schedules tick at anchor_ms + k·period,
  // k >= 1; cron schedules ignore `anchor_ms` and tick on whole minutes.
  std::optional<int64_t> Next(int64_t after_ms, int64_t anchor_ms) const;

  // The latest scheduled time in (after_ms, now_ms], or nullopt if none is due.
  std::optional<int64_t> LatestDue(int64_t after_ms, int64_t now_ms, int64_t anchor_ms) const;

  bool is_rate() const { return rate_ms_ > 0; }
  int64_t rate_ms() const { return rate_ms_; }

 private:
  // Day-of-month / day-of-week specials.
  struct DaySpec {
    bool any = false;  // `?`
    std::bitset<32> days;
    bool last = false;          // dom: L
    bool last_weekday = false;  // dom: LW
    int nearest_weekday = 0;    // dom: nW (0 = none)
    int last_of_kind = 0;       // dow: nL (1-7), 0 = none
    int nth_kind = 0, nth = 0;  // dow: n#k
  };

  bool DayMatches(int year, int month, int day) const;
  std::optional<int64_t> NextCron(int64_t after_ms) const;

  int64_t rate_ms_ = 0;
  std::bitset<60> minutes_;
  std::bitset<24> hours_;
  std::bitset<13> months_;  // 1-12
  std::bitset<230> years_;  // year - 1970
  DaySpec dom_, dow_;
  friend class CronParser;
};

}  // namespace bp::schedule
