#include "delivery/retry_policy.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <limits>
#include <vector>

namespace bp::delivery {
namespace {

constexpr int64_t kMaxRetryAfterSeconds = int64_t{1} << 40;  // bounds arithmetic, ~35,000 years

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Digits -> value, saturating at kMaxRetryAfterSeconds.
int64_t ParseSaturating(std::string_view digits) {
  int64_t v = 0;
  for (char c : digits) {
    v = v * 10 + (c - '0');
    if (v > kMaxRetryAfterSeconds) return kMaxRetryAfterSeconds;
  }
  return v;
}

// Appends `in` to `out` as valid UTF-8, replacing invalid sequences and control characters other
// than tab/newline/CR with '?', stopping before `limit` bytes would be exceeded (never splitting a
// character).
void AppendSanitized(std::string& out, std::string_view in, size_t limit) {
  size_t i = 0;
  while (i < in.size()) {
    const auto c = static_cast<unsigned char>(in[i]);
    size_t len = 1;
    bool valid = true;
    if (c < 0x80) {
      valid = c >= 0x20 || c == '\t' || c == '\n' || c == '\r';
      valid = valid && c != 0x7f;
    } else if ((c & 0xE0) == 0xC0 && c >= 0xC2) {
      len = 2;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
    } else if ((c & 0xF8) == 0xF0 && c <= 0xF4) {
      len = 4;
    } else {
      valid = false;
    }
    if (valid && len > 1) {
      if (i + len > in.size()) {
        valid = false;
      } else {
        for (size_t k = 1; k < len; ++k) {
          if ((static_cast<unsigned char>(in[i + k]) & 0xC0) != 0x80) valid = false;
        }
        if (valid) {
          // Reject overlong encodings, surrogates and code points above U+10FFFF.
          const auto c1 = static_cast<unsigned char>(in[i + 1]);
          if (len == 3 && c == 0xE0 && c1 < 0xA0) valid = false;
          if (len == 3 && c == 0xED && c1 >= 0xA0) valid = false;
          if (len == 4 && c == 0xF0 && c1 < 0x90) valid = false;
          if (len == 4 && c == 0xF4 && c1 >= 0x90) valid = false;
        }
      }
    }
    if (!valid) len = 1;
    const size_t add = valid ? len : 1;
    if (out.size() + add > limit) return;
    if (valid) {
      out.append(in.substr(i, len));
    } else {
      out.push_back('?');
    }
    i += len;
  }
}

std::string TransportPhrase(const HttpResult& r) {
  switch (r.kind) {
    case HttpResult::Kind::kTimeout:
      return "Timeout";
    case HttpResult::Kind::kConnectionFailed:
      return "Connection failure";
    case HttpResult::Kind::kDnsNotFound:
      return "Host not found";
    case HttpResult::Kind::kTlsCertificate:
      return "TLS certificate rejected";
    case HttpResult::Kind::kInternal:
      return "Internal error";
    case HttpResult::Kind::kEgressDenied:
      return "Egress denied";
    case HttpResult::Kind::kResponse:
    case HttpResult::Kind::kResponseTooLarge:
      break;
  }
  return "Error";
}

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's civil algorithm).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

int MonthIndex(std::string_view s) {
  static constexpr std::array<std::string_view, 12> kMonths = {
      "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"};
  if (s.size() != 3) return 0;
  std::string lower(s);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (size_t i = 0; i < kMonths.size(); ++i) {
    if (kMonths[i] == lower) return static_cast<int>(i) + 1;
  }
  return 0;
}

bool IsWeekday(std::string_view s) {
  static constexpr std::array<std::string_view, 14> kDays = {
      "Mon",    "Tue",     "Wed",       "Thu",      "Fri",    "Sat",      "Sun",
      "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"};
  return std::find(kDays.begin(), kDays.end(), s) != kDays.end();
}

// Parses the three HTTP-date forms of RFC 9110 §5.6.7 into epoch seconds:
//   Sun, 06 Nov 1994 08:49:37 GMT | Sunday, 06-Nov-94 08:49:37 GMT | Sun Nov  6 08:49:37 1994
std::optional<int64_t> ParseHttpDate(std::string_view s) {
  std::vector<std::string_view> tokens;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == ',' || s[i] == '-')) ++i;
    const size_t start = i;
    while (i < s.size() && s[i] != ' ' && s[i] != ',' && s[i] != '-') ++i;
    if (i > start) tokens.push_back(s.substr(start, i - start));
  }
  if (tokens.size() < 5 || tokens.size() > 6 || !IsWeekday(tokens[0])) return std::nullopt;
  int month = 0;
  std::vector<std::string_view> numbers;
  std::string_view time;
  bool gmt = false;
  for (size_t k = 1; k < tokens.size(); ++k) {
    const std::string_view t = tokens[k];
    if (t.find(':') != std::string_view::npos) {
      if (!time.empty()) return std::nullopt;
      time = t;
    } else if (AllDigits(t)) {
      numbers.push_back(t);
    } else if (t == "GMT") {
      gmt = true;
    } else if (int m = MonthIndex(t); m != 0 && month == 0) {
      month = m;
    } else {
      return std::nullopt;
    }
  }
  if (month == 0 || numbers.size() != 2 || time.size() != 8 || time[2] != ':' || time[5] != ':') {
    return std::nullopt;
  }
  const bool asctime = !gmt;  // only asctime has no zone, and it puts the year last
  if (asctime && tokens.size() != 5) return std::nullopt;
  const std::string_view day_s = numbers[0];
  const std::string_view year_s = numbers[1];
  if (day_s.size() > 2) return std::nullopt;
  const int64_t day = ParseSaturating(day_s);
  int64_t year = ParseSaturating(year_s);
  if (year_s.size() == 2) {
    year += year < 70 ? 2000 : 1900;
  } else if (year_s.size() != 4) {
    return std::nullopt;
  }
  const std::string_view hh = time.substr(0, 2), mm = time.substr(3, 2), ss = time.substr(6, 2);
  if (!AllDigits(hh) || !AllDigits(mm) || !AllDigits(ss)) return std::nullopt;
  const int64_t h = ParseSaturating(hh), mi = ParseSaturating(mm), se = ParseSaturating(ss);
  if (day < 1 || day > 31 || h > 23 || mi > 59 || se > 60) return std::nullopt;
  return DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day)) * 86400 +
         h * 3600 + mi * 60 + se;
}

}  // namespace

StatusSet StatusSet::DefaultRetryable() {
  StatusSet s;
  for (int code : {401, 407, 409, 429}) s.Add(code);
  for (int code = 500; code < 600; ++code) s.Add(code);
  return s;
}

StatusOr<StatusSet> StatusSet::Parse(std::string_view text) {
  StatusSet s;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t comma = text.find(',', pos);
    if (comma == std::string_view::npos) comma = text.size();
    const std::string_view item = Trim(text.substr(pos, comma - pos));
    pos = comma + 1;
    if (item.size() == 3 && item[0] >= '1' && item[0] <= '5' &&
        (item[1] == 'x' || item[1] == 'X') && (item[2] == 'x' || item[2] == 'X')) {
      const int base = (item[0] - '0') * 100;
      for (int code = base; code < base + 100; ++code) s.Add(code);
    } else if (item.size() == 3 && AllDigits(item) && item[0] >= '1' && item[0] <= '5') {
      s.Add(static_cast<int>(ParseSaturating(item)));
    } else {
      return Status::Validation("invalid HTTP status code or class '" + std::string(item) +
                                "' (expected e.g. 429 or 5xx)");
    }
  }
  return s;
}

std::string_view ExhaustedRetryConditionName(ExhaustedRetryCondition c) {
  switch (c) {
    case ExhaustedRetryCondition::kNone:
      return "";
    case ExhaustedRetryCondition::kMaximumRetryAttempts:
      return "MaximumRetryAttempts";
    case ExhaustedRetryCondition::kMaximumEventAgeInSeconds:
      return "MaximumEventAgeInSeconds";
  }
  return "";
}

Outcome Classify(const HttpResult& result, const RetryPolicy& policy) {
  Outcome out;
  const bool has_status = result.kind == HttpResult::Kind::kResponse ||
                          result.kind == HttpResult::Kind::kResponseTooLarge;
  if (has_status) {
    if (result.status >= 200 && result.status < 300) {
      out.kind = OutcomeKind::kSuccess;
      return out;
    }
    out.kind = policy.retryable_statuses.Contains(result.status) ? OutcomeKind::kRetryable
                                                                 : OutcomeKind::kPermanent;
    out.error_code = DeliveryErrorCode::kErrorFromTarget;
    std::string head = "HTTP " + std::to_string(result.status) + " from ";
    AppendSanitized(head, result.host, kMaxErrorMessageBytes / 2);
    head += ": ";
    out.error_message = std::move(head);
    AppendSanitized(out.error_message, result.body_prefix,
                    out.error_message.size() + kMaxBodyInErrorMessageBytes);
    return out;
  }
  switch (result.kind) {
    case HttpResult::Kind::kTimeout:
      out.kind = OutcomeKind::kRetryable;
      out.error_code = DeliveryErrorCode::kTimeout;
      break;
    case HttpResult::Kind::kConnectionFailed:
      out.kind = OutcomeKind::kRetryable;
      out.error_code = DeliveryErrorCode::kConnectionFailure;
      break;
    case HttpResult::Kind::kDnsNotFound:
    case HttpResult::Kind::kTlsCertificate:
      out.kind =
          policy.retry_all_network_errors ? OutcomeKind::kRetryable : OutcomeKind::kPermanent;
      out.error_code = DeliveryErrorCode::kConnectionFailure;
      break;
    case HttpResult::Kind::kEgressDenied:
      // A policy decision: the same address would be refused again, so no retry is spent.
      out.kind = OutcomeKind::kPermanent;
      out.error_code = DeliveryErrorCode::kEgressDenied;
      break;
    default:
      out.kind = OutcomeKind::kRetryable;
      out.error_code = DeliveryErrorCode::kInternal;
      break;
  }
  std::string msg = TransportPhrase(result) + " for " + result.host;
  if (!result.error.empty()) msg += ": " + result.error;
  AppendSanitized(out.error_message, msg, kMaxErrorMessageBytes);
  return out;
}

int64_t BackoffDelayMs(int retry_number, double u, const RetryPolicy& policy) {
  if (!(u >= 0)) u = 0;  // also catches NaN
  if (u >= 1) u = std::nextafter(1.0, 0.0);
  const int n = std::max(1, retry_number);
  const double grown = static_cast<double>(policy.backoff_base_ms) *
                       std::pow(std::max(1.0, policy.multiplier), n - 1);
  const double d = std::min(static_cast<double>(policy.backoff_cap_ms), grown);
  const auto delay = static_cast<int64_t>(d * (0.5 + 0.5 * u));
  // u < 1 means the delay stays below d even where the product rounds up to it.
  return std::min(delay, std::max<int64_t>(0, static_cast<int64_t>(std::ceil(d)) - 1));
}

std::optional<int64_t> ParseRetryAfter(std::string_view value, int64_t now_s) {
  value = Trim(value);
  if (AllDigits(value)) return ParseSaturating(value);
  if (value.size() > 1 && value[0] == '-' && AllDigits(value.substr(1))) {
    const int64_t v = ParseSaturating(value.substr(1));
    return v == 0 ? 0 : -v;
  }
  const std::optional<int64_t> date = ParseHttpDate(value);
  if (!date) return std::nullopt;
  return std::clamp<int64_t>(*date - now_s, 0, kMaxRetryAfterSeconds);
}

NextRetryDecision DecideRetry(int retries_made, int64_t now_ms, int64_t ingestion_ms,
                              std::optional<int64_t> retry_after_s, const RetryPolicy& policy,
                              double rng_u) {
  NextRetryDecision d;
  if (retry_after_s && *retry_after_s < 0) {
    d.kind = RetryDecisionKind::kNotRetryable;
    return d;
  }
  if (retries_made >= policy.max_retry_attempts) {
    d.kind = RetryDecisionKind::kExhausted;
    d.exhausted = ExhaustedRetryCondition::kMaximumRetryAttempts;
    return d;
  }
  int64_t due = now_ms + BackoffDelayMs(retries_made + 1, rng_u, policy);
  if (retry_after_s) {
    int64_t ra = *retry_after_s;
    if (policy.retry_after_max_s)
      ra = std::min(ra, std::max<int64_t>(0, *policy.retry_after_max_s));
    due = std::max(due, now_ms + ra * 1000);
  }
  if (due >= ingestion_ms + policy.max_event_age_s * 1000) {
    d.kind = RetryDecisionKind::kExhausted;
    d.exhausted = ExhaustedRetryCondition::kMaximumEventAgeInSeconds;
    return d;
  }
  d.kind = RetryDecisionKind::kRetry;
  d.due_ms = due;
  return d;
}

}  // namespace bp::delivery
