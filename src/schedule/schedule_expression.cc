#include "schedule/schedule_expression.h"

#include <array>
#include <cctype>
#include <chrono>
#include <string>
#include <vector>

namespace bp::schedule {

namespace {

namespace chr = std::chrono;

constexpr int kMinYear = 1970;
constexpr int kMaxYear = 2199;
constexpr int64_t kMinuteMs = 60'000;
constexpr int64_t kDayMs = 86'400'000;

Status Invalid() { return Status::Validation("Parameter ScheduleExpression is not valid."); }

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == sep) {
      out.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  return out;
}

// Whitespace-separated words (runs of spaces count once).
std::vector<std::string_view> Words(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && s[i] == ' ') ++i;
    size_t start = i;
    while (i < s.size() && s[i] != ' ') ++i;
    if (i > start) out.push_back(s.substr(start, i - start));
  }
  return out;
}

std::optional<int> Number(std::string_view s) {
  if (s.empty() || s.size() > 4) return std::nullopt;
  int v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

constexpr std::array<std::string_view, 12> kMonthNames = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                                          "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
constexpr std::array<std::string_view, 7> kDayNames = {"SUN", "MON", "TUE", "WED",
                                                       "THU", "FRI", "SAT"};

// A field value: a number, or (for month and day-of-week) a three-letter name, case-insensitive.
template <size_t N>
std::optional<int> Value(std::string_view s, const std::array<std::string_view, N>* names) {
  if (auto n = Number(s)) return n;
  if (!names || s.size() != 3) return std::nullopt;
  std::string upper;
  for (char c : s) upper.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  for (size_t i = 0; i < N; ++i) {
    if ((*names)[i] == upper) return static_cast<int>(i) + 1;
  }
  return std::nullopt;
}

// Parses a list of `*`, `a`, `a-b`, with an optional `/step`, into the values set in `out`
// (indexes lo..hi).
template <size_t N>
bool ParseList(std::string_view field, int lo, int hi, const std::array<std::string_view, N>* names,
               std::vector<bool>& out) {
  out.assign(static_cast<size_t>(hi) + 1, false);
  for (std::string_view item : Split(field, ',')) {
    if (item.empty()) return false;
    int step = 1;
    bool stepped = false;
    if (size_t slash = item.find('/'); slash != std::string_view::npos) {
      auto s = Number(item.substr(slash + 1));
      if (!s || *s < 1) return false;
      step = *s;
      stepped = true;
      item = item.substr(0, slash);
    }
    int a = lo, b = hi;
    if (item != "*") {
      size_t dash = item.find('-');
      auto first = Value(item.substr(0, dash), names);
      if (!first) return false;
      a = *first;
      b = stepped ? hi : a;
      if (dash != std::string_view::npos) {
        auto last = Value(item.substr(dash + 1), names);
        if (!last) return false;
        b = *last;
      }
    }
    if (a < lo || b > hi || a > b) return false;
    for (int v = a; v <= b; v += step) out[static_cast<size_t>(v)] = true;
  }
  return true;
}

constexpr const std::array<std::string_view, 1>* kNoNames = nullptr;

int DaysInMonth(int year, int month) {
  return static_cast<int>(static_cast<unsigned>(
      chr::year_month_day_last(chr::year(year), chr::month_day_last(chr::month(month))).day()));
}

// 1 = Sunday ... 7 = Saturday.
int Weekday(int year, int month, int day) {
  chr::sys_days d = chr::year(year) / chr::month(month) / chr::day(day);
  return static_cast<int>(chr::weekday(d).c_encoding()) + 1;
}

int64_t DayStartMs(int year, int month, int day) {
  chr::sys_days d = chr::year(year) / chr::month(month) / chr::day(day);
  return static_cast<int64_t>(d.time_since_epoch().count()) * kDayMs;
}

// The weekday (Mon-Fri) nearest to `day` without leaving the month.
int NearestWeekday(int year, int month, int day) {
  int dim = DaysInMonth(year, month);
  int wd = Weekday(year, month, day);
  if (wd == 7) return day == 1 ? 3 : day - 1;          // Saturday
  if (wd == 1) return day == dim ? day - 2 : day + 1;  // Sunday
  return day;
}

}  // namespace

class CronParser {
 public:
  static Status Fill(std::string_view body, ScheduleExpression& e) {
    auto f = Words(body);
    if (f.size() != 6) return Invalid();
    std::vector<bool> v;
    if (!ParseList(f[0], 0, 59, kNoNames, v)) return Invalid();
    for (int i = 0; i < 60; ++i) e.minutes_[i] = v[i];
    if (!ParseList(f[1], 0, 23, kNoNames, v)) return Invalid();
    for (int i = 0; i < 24; ++i) e.hours_[i] = v[i];
    if (!ParseList(f[3], 1, 12, &kMonthNames, v)) return Invalid();
    for (int i = 1; i <= 12; ++i) e.months_[i] = v[i];
    if (!ParseList(f[5], kMinYear, kMaxYear, kNoNames, v)) return Invalid();
    for (int y = kMinYear; y <= kMaxYear; ++y) e.years_[y - kMinYear] = v[y];
    bool dom_any = f[2] == "?", dow_any = f[4] == "?";
    if (dom_any == dow_any) return Invalid();  // exactly one of them is `?`
    if (dom_any) {
      e.dom_.any = true;
      if (!ParseDow(f[4], e.dow_)) return Invalid();
    } else {
      e.dow_.any = true;
      if (!ParseDom(f[2], e.dom_)) return Invalid();
    }
    return Status::Ok();
  }

 private:
  static bool ParseDom(std::string_view s, ScheduleExpression::DaySpec& d) {
    if (s == "L") return d.last = true;
    if (s == "LW") return d.last_weekday = true;
    if (s.size() >= 2 && s.back() == 'W') {
      auto n = Number(s.substr(0, s.size() - 1));
      if (!n || *n < 1 || *n > 31) return false;
      d.nearest_weekday = *n;
      return true;
    }
    std::vector<bool> v;
    if (!ParseList(s, 1, 31, kNoNames, v)) return false;
    for (int i = 1; i <= 31; ++i) d.days[i] = v[i];
    return true;
  }

  static bool ParseDow(std::string_view s, ScheduleExpression::DaySpec& d) {
    if (s == "L") {  // the last day of the week: Saturday
      d.days[7] = true;
      return true;
    }
    if (size_t hash = s.find('#'); hash != std::string_view::npos) {
      auto kind = Value(s.substr(0, hash), &kDayNames);
      auto nth = Number(s.substr(hash + 1));
      if (!kind || *kind < 1 || *kind > 7 || !nth || *nth < 1 || *nth > 5) return false;
      d.nth_kind = *kind;
      d.nth = *nth;
      return true;
    }
    if (s.size() >= 2 && s.back() == 'L') {
      auto kind = Value(s.substr(0, s.size() - 1), &kDayNames);
      if (!kind || *kind < 1 || *kind > 7) return false;
      d.last_of_kind = *kind;
      return true;
    }
    std::vector<bool> v;
    if (!ParseList(s, 1, 7, &kDayNames, v)) return false;
    for (int i = 1; i <= 7; ++i) d.days[i] = v[i];
    return true;
  }
};

StatusOr<ScheduleExpression> ScheduleExpression::Parse(std::string_view text) {
  auto body_of = [&](std::string_view prefix) -> std::optional<std::string_view> {
    if (text.size() < prefix.size() + 1 || text.substr(0, prefix.size()) != prefix ||
        text.back() != ')') {
      return std::nullopt;
    }
    return text.substr(prefix.size(), text.size() - prefix.size() - 1);
  };
  ScheduleExpression e;
  if (auto body = body_of("rate(")) {
    auto w = Words(*body);
    if (w.size() != 2) return Invalid();
    auto n = Number(w[0]);
    if (!n || *n < 1) return Invalid();
    struct Unit {
      std::string_view singular, plural;
      int64_t ms;
    };
    for (const Unit& u : {Unit{"minute", "minutes", kMinuteMs},
                          Unit{"hour", "hours", 60 * kMinuteMs}, Unit{"day", "days", kDayMs}}) {
      if (w[1] == (*n == 1 ? u.singular : u.plural)) {
        e.rate_ms_ = *n * u.ms;
        return e;
      }
    }
    return Invalid();
  }
  if (auto body = body_of("cron(")) {
    BP_RETURN_IF_ERROR(CronParser::Fill(*body, e));
    return e;
  }
  return Invalid();
}

bool ScheduleExpression::DayMatches(int year, int month, int day) const {
  if (!months_[month]) return false;
  int dim = DaysInMonth(year, month);
  if (dow_.any) {  // day-of-month rules
    if (dom_.last) return day == dim;
    if (dom_.last_weekday) return day == NearestWeekday(year, month, dim);
    if (dom_.nearest_weekday) {
      return dom_.nearest_weekday <= dim &&
             day == NearestWeekday(year, month, dom_.nearest_weekday);
    }
    return dom_.days[day];
  }
  int wd = Weekday(year, month, day);
  if (dow_.last_of_kind) return wd == dow_.last_of_kind && day + 7 > dim;
  if (dow_.nth) return wd == dow_.nth_kind && (day - 1) / 7 + 1 == dow_.nth;
  return dow_.days[wd];
}

std::optional<int64_t> ScheduleExpression::NextCron(int64_t after_ms) const {
  // Candidate minutes start at the whole minute after `after_ms`.
  int64_t from =
      (after_ms >= 0 ? after_ms / kMinuteMs : (after_ms - kMinuteMs + 1) / kMinuteMs) * kMinuteMs +
      kMinuteMs;
  chr::sys_days start_day{chr::days{from >= 0 ? from / kDayMs : (from - kDayMs + 1) / kDayMs}};
  chr::year_month_day ymd{start_day};
  int y = static_cast<int>(ymd.year()), m = static_cast<int>(static_cast<unsigned>(ymd.month()));
  int d = static_cast<int>(static_cast<unsigned>(ymd.day()));
  int64_t minute_of_day = (from - DayStartMs(y, m, d)) / kMinuteMs;
  if (y < kMinYear) y = kMinYear, m = 1, d = 1, minute_of_day = 0;
  for (; y <= kMaxYear; ++y, m = 1, d = 1, minute_of_day = 0) {
    if (!years_[y - kMinYear]) continue;
    for (; m <= 12; ++m, d = 1, minute_of_day = 0) {
      if (!months_[m]) continue;
      int dim = DaysInMonth(y, m);
      for (; d <= dim; ++d, minute_of_day = 0) {
        if (!DayMatches(y, m, d)) continue;
        for (int64_t t = minute_of_day; t < 24 * 60; ++t) {
          if (hours_[t / 60] && minutes_[t % 60]) return DayStartMs(y, m, d) + t * kMinuteMs;
        }
      }
    }
  }
  return std::nullopt;
}

std::optional<int64_t> ScheduleExpression::Next(int64_t after_ms, int64_t anchor_ms) const {
  if (rate_ms_ > 0) {
    if (after_ms < anchor_ms) return anchor_ms + rate_ms_;
    return anchor_ms + ((after_ms - anchor_ms) / rate_ms_ + 1) * rate_ms_;
  }
  return NextCron(after_ms);
}

std::optional<int64_t> ScheduleExpression::LatestDue(int64_t after_ms, int64_t now_ms,
                                                     int64_t anchor_ms) const {
  if (now_ms <= after_ms) return std::nullopt;
  if (rate_ms_ > 0) {
    auto first = Next(after_ms, anchor_ms);
    if (!first || *first > now_ms) return std::nullopt;
    return anchor_ms + ((now_ms - anchor_ms) / rate_ms_) * rate_ms_;
  }
  // Walk forward from the later of `after_ms` and one day ago first (cheap in the common case);
  // only if nothing is due in the last day walk the whole gap.
  for (int64_t from : {std::max(after_ms, now_ms - kDayMs), after_ms}) {
    std::optional<int64_t> latest;
    for (auto t = Next(from, anchor_ms); t && *t <= now_ms; t = Next(*t, anchor_ms)) latest = t;
    if (latest) return latest;
    if (from == after_ms) break;
  }
  return std::nullopt;
}

}  // namespace bp::schedule
