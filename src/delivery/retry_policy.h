// Retry classification, backoff and the stop rule for API-destination deliveries (SPEC §9, §12).
//
// RetryPolicy is immutable configuration (one per rule target after tag resolution); the
// per-delivery state (retries made, ingestion time) lives with the task and is passed in. All
// functions here are pure and thread-safe.
#pragma once

#include <bitset>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/delivery_error_code.h"
#include "common/status.h"
#include "delivery/http_client.h"

namespace bp::delivery {

// A set of HTTP status codes 100..599, written like "401,407,409,429,5xx" (SPEC §12).
class StatusSet {
 public:
  // The default retryable set: 401, 407, 409, 429 and every 5xx.
  static StatusSet DefaultRetryable();
  // Parses a comma-separated list of codes (100..599) and classes ("4xx"); spaces are allowed.
  [[nodiscard]] static StatusOr<StatusSet> Parse(std::string_view text);

  bool Contains(int status) const { return status >= 0 && status < 600 && bits_.test(status); }
  void Add(int status) {
    if (status >= 100 && status < 600) bits_.set(status);
  }

 private:
  std::bitset<600> bits_;
};

struct RetryPolicy {
  int max_retry_attempts = 185;     // MaximumRetryAttempts, 0..185
  int64_t max_event_age_s = 86400;  // MaximumEventAgeInSeconds, 60..86400
  int64_t backoff_base_ms = 1000;   // [ext] backoff-base-ms
  int64_t backoff_cap_ms = 480000;  // [ext] backoff-cap-ms
  double multiplier = 2;            // [ext] backoff-multiplier, >= 1
  StatusSet retryable_statuses = StatusSet::DefaultRetryable();  // [ext] retryable-statuses
  bool retry_all_network_errors = false;                         // [ext] retry-network-errors=all
  std::optional<int64_t> retry_after_max_s;                      // [ext] retry-after-max-seconds
};

enum class OutcomeKind { kSuccess, kRetryable, kPermanent };

struct Outcome {
  OutcomeKind kind = OutcomeKind::kPermanent;
  DeliveryErrorCode error_code = DeliveryErrorCode::kNone;  // kNone iff kind == kSuccess
  // ERROR_MESSAGE: "HTTP 503 from api.example.com: <= 256 bytes of body>" or a transport error
  // description; valid UTF-8, at most 1024 bytes, empty on success.
  std::string error_message;
};

inline constexpr size_t kMaxErrorMessageBytes = 1024;
inline constexpr size_t kMaxBodyInErrorMessageBytes = 256;

Outcome Classify(const HttpResult& result, const RetryPolicy& policy);

// Delay before retry number `retry_number` (1-based): d * (0.5 + 0.5 * u) with
// d = min(cap, base * multiplier^(n-1)); `u` in [0, 1) (clamped).
int64_t BackoffDelayMs(int retry_number, double u, const RetryPolicy& policy);

// Retry-After value as a delay in seconds from `now_s`: delta-seconds, or an HTTP-date
// (IMF-fixdate, RFC 850 or asctime; a date in the past gives 0). A negative delta-seconds value is
// returned as is and means "do not retry". Unparseable -> nullopt (the header is ignored).
std::optional<int64_t> ParseRetryAfter(std::string_view value, int64_t now_s);

enum class RetryDecisionKind {
  kRetry,         // schedule the next attempt at due_ms
  kExhausted,     // a limit was reached: `exhausted` says which
  kNotRetryable,  // Retry-After was negative
};

// The DLQ EXHAUSTED_RETRY_CONDITION attribute (absent when kNone).
enum class ExhaustedRetryCondition { kNone, kMaximumRetryAttempts, kMaximumEventAgeInSeconds };
std::string_view ExhaustedRetryConditionName(ExhaustedRetryCondition c);  // "" for kNone

struct NextRetryDecision {
  RetryDecisionKind kind = RetryDecisionKind::kExhausted;
  int64_t due_ms = 0;  // wall-clock ms, set iff kind == kRetry
  ExhaustedRetryCondition exhausted = ExhaustedRetryCondition::kNone;
};

// The stop rule for a retryable outcome (SPEC §9). A retry is scheduled only if
// retries_made < max_retry_attempts and its due time < ingestion + max_event_age_s. The due time
// is now + BackoffDelayMs(retries_made + 1, rng_u), or the Retry-After time if later (Retry-After
// clamped to retry_after_max_s first). `retry_after_s` is ParseRetryAfter's result.
NextRetryDecision DecideRetry(int retries_made, int64_t now_ms, int64_t ingestion_ms,
                              std::optional<int64_t> retry_after_s, const RetryPolicy& policy,
                              double rng_u);

}  // namespace bp::delivery
