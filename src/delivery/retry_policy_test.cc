#include "delivery/retry_policy.h"

#include <gtest/gtest.h>

#include <string>

namespace bp::delivery {
namespace {

HttpResult Response(int status, std::string body = "") {
  HttpResult r;
  r.kind = HttpResult::Kind::kResponse;
  r.status = status;
  r.host = "api.example.com";
  r.body_prefix = std::move(body);
  return r;
}

HttpResult Transport(HttpResult::Kind kind, std::string error) {
  HttpResult r;
  r.kind = kind;
  r.host = "api.example.com";
  r.error = std::move(error);
  return r;
}

TEST(StatusSetTest, DefaultAndParse) {
  const StatusSet d = StatusSet::DefaultRetryable();
  for (int s : {401, 407, 409, 429, 500, 503, 599}) EXPECT_TRUE(d.Contains(s)) << s;
  for (int s : {200, 400, 403, 404, 408, 425, 499, 600, -1}) EXPECT_FALSE(d.Contains(s)) << s;

  StatusOr<StatusSet> p = StatusSet::Parse(" 408, 425 ,4xx");
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->Contains(408));
  EXPECT_TRUE(p->Contains(499));
  EXPECT_FALSE(p->Contains(500));
  for (const char* bad : {"", "42", "600", "6xx", "5x", "abc", "429,", "1000"}) {
    EXPECT_FALSE(StatusSet::Parse(bad).ok()) << bad;
  }
}

TEST(ClassifyTest, StatusTable) {
  const RetryPolicy policy;
  struct Case {
    int status;
    OutcomeKind kind;
  } cases[] = {{200, OutcomeKind::kSuccess},   {204, OutcomeKind::kSuccess},
               {299, OutcomeKind::kSuccess},   {100, OutcomeKind::kPermanent},
               {301, OutcomeKind::kPermanent}, {304, OutcomeKind::kPermanent},
               {400, OutcomeKind::kPermanent}, {404, OutcomeKind::kPermanent},
               {408, OutcomeKind::kPermanent}, {401, OutcomeKind::kRetryable},
               {407, OutcomeKind::kRetryable}, {409, OutcomeKind::kRetryable},
               {429, OutcomeKind::kRetryable}, {500, OutcomeKind::kRetryable},
               {503, OutcomeKind::kRetryable}, {599, OutcomeKind::kRetryable}};
  for (const Case& c : cases) {
    const Outcome o = Classify(Response(c.status), policy);
    EXPECT_EQ(o.kind, c.kind) << c.status;
    if (c.kind == OutcomeKind::kSuccess) {
      EXPECT_EQ(o.error_code, DeliveryErrorCode::kNone);
      EXPECT_TRUE(o.error_message.empty());
    } else {
      EXPECT_EQ(o.error_code, DeliveryErrorCode::kErrorFromTarget) << c.status;
    }
  }
}

TEST(ClassifyTest, CustomRetryableStatuses) {
  RetryPolicy policy;
  policy.retryable_statuses = *StatusSet::Parse("408");
  EXPECT_EQ(Classify(Response(408), policy).kind, OutcomeKind::kRetryable);
  EXPECT_EQ(Classify(Response(503), policy).kind, OutcomeKind::kPermanent);
}

TEST(ClassifyTest, ErrorMessageFormatAndLimits) {
  const RetryPolicy policy;
  EXPECT_EQ(Classify(Response(503, "busy"), policy).error_message,
            "HTTP 503 from api.example.com: busy");
  const std::string long_body(1000, 'x');
  const Outcome o = Classify(Response(500, long_body), policy);
  EXPECT_EQ(o.error_message, "HTTP 500 from api.example.com: " + std::string(256, 'x'));
  // A multi-byte character is never split at the 256-byte cut; invalid bytes become '?'.
  std::string utf8(255, 'a');
  utf8 += "\xC3\xA9";  // é straddles byte 256
  EXPECT_EQ(Classify(Response(500, utf8), policy).error_message,
            "HTTP 500 from api.example.com: " + std::string(255, 'a'));
  EXPECT_EQ(Classify(Response(500,
                              "a\xFF"
                              "b\x01"
                              "c\n"),
                     policy)
                .error_message,
            "HTTP 500 from api.example.com: a?b?c\n");
  // 2xx on a too-large response still counts as success; its status decides.
  HttpResult big = Response(200);
  big.kind = HttpResult::Kind::kResponseTooLarge;
  EXPECT_EQ(Classify(big, policy).kind, OutcomeKind::kSuccess);
  big.status = 502;
  EXPECT_EQ(Classify(big, policy).kind, OutcomeKind::kRetryable);
}

TEST(ClassifyTest, TransportErrors) {
  RetryPolicy policy;
  const Outcome timeout = Classify(Transport(HttpResult::Kind::kTimeout, "timed out"), policy);
  EXPECT_EQ(timeout.kind, OutcomeKind::kRetryable);
  EXPECT_EQ(timeout.error_code, DeliveryErrorCode::kTimeout);
  EXPECT_EQ(timeout.error_message, "Timeout for api.example.com: timed out");

  const Outcome refused =
      Classify(Transport(HttpResult::Kind::kConnectionFailed, "refused"), policy);
  EXPECT_EQ(refused.kind, OutcomeKind::kRetryable);
  EXPECT_EQ(refused.error_code, DeliveryErrorCode::kConnectionFailure);

  for (auto kind : {HttpResult::Kind::kDnsNotFound, HttpResult::Kind::kTlsCertificate}) {
    const Outcome o = Classify(Transport(kind, "x"), policy);
    EXPECT_EQ(o.kind, OutcomeKind::kPermanent);
    EXPECT_EQ(o.error_code, DeliveryErrorCode::kConnectionFailure);
  }
  policy.retry_all_network_errors = true;
  EXPECT_EQ(Classify(Transport(HttpResult::Kind::kDnsNotFound, "x"), policy).kind,
            OutcomeKind::kRetryable);

  const Outcome internal = Classify(Transport(HttpResult::Kind::kInternal, "shutdown"), policy);
  EXPECT_EQ(internal.kind, OutcomeKind::kRetryable);
  EXPECT_EQ(DeliveryErrorCodeName(internal.error_code), "INTERNAL_ERROR");

  const Outcome huge =
      Classify(Transport(HttpResult::Kind::kConnectionFailed, std::string(5000, 'e')), policy);
  EXPECT_EQ(huge.error_message.size(), kMaxErrorMessageBytes);
}

TEST(BackoffTest, MatchesSpecFormula) {
  const RetryPolicy p;
  EXPECT_EQ(BackoffDelayMs(1, 0.0, p), 500);
  EXPECT_EQ(BackoffDelayMs(1, 0.999999, p), 999);
  EXPECT_EQ(BackoffDelayMs(2, 0.0, p), 1000);
  EXPECT_EQ(BackoffDelayMs(9, 0.0, p), 128000);
  EXPECT_EQ(BackoffDelayMs(9, 0.5, p), 192000);
  EXPECT_EQ(BackoffDelayMs(10, 0.0, p), 240000);
  EXPECT_EQ(BackoffDelayMs(185, 0.0, p), 240000);
  EXPECT_EQ(BackoffDelayMs(100000, 0.0, p), 240000);  // no overflow
  EXPECT_EQ(BackoffDelayMs(3, 7.0, p), 3999);         // u clamped below 1
  EXPECT_EQ(BackoffDelayMs(3, -1.0, p), 2000);

  // SPEC §9: worst-case sum of the 185 delays is 84,991 s.
  int64_t worst_ms = 0;
  for (int n = 1; n <= 185; ++n) worst_ms += BackoffDelayMs(n, 1.0, p);
  EXPECT_NEAR(static_cast<double>(worst_ms) / 1000.0, 84991.0, 1.0);

  RetryPolicy custom;
  custom.backoff_base_ms = 100;
  custom.multiplier = 3;
  custom.backoff_cap_ms = 1000;
  EXPECT_EQ(BackoffDelayMs(3, 0.0, custom), 450);
  EXPECT_EQ(BackoffDelayMs(4, 0.0, custom), 500);
}

TEST(RetryAfterTest, DeltaSecondsAndDates) {
  const int64_t now = 784111777;  // Sun, 06 Nov 1994 08:49:37 GMT
  EXPECT_EQ(ParseRetryAfter("120", now), 120);
  EXPECT_EQ(ParseRetryAfter(" 0 ", now), 0);
  EXPECT_EQ(ParseRetryAfter("-5", now), -5);
  EXPECT_EQ(ParseRetryAfter("99999999999999999999999", now), int64_t{1} << 40);
  EXPECT_EQ(ParseRetryAfter("Sun, 06 Nov 1994 08:50:37 GMT", now), 60);
  EXPECT_EQ(ParseRetryAfter("Sunday, 06-Nov-94 08:51:37 GMT", now), 120);
  EXPECT_EQ(ParseRetryAfter("Sun Nov  6 08:52:37 1994", now), 180);
  EXPECT_EQ(ParseRetryAfter("Sat, 05 Nov 1994 08:49:37 GMT", now), 0);  // past -> now
  EXPECT_EQ(ParseRetryAfter("Thu, 01 Jan 2026 00:00:00 GMT", 1767225600 - 10), 10);
  for (const char* bad :
       {"", "soon", "1.5", "+5", "-", "Sun, 06 Nov 1994", "06 Nov 1994 08:49:37 GMT",
        "Sun, 32 Nov 1994 08:49:37 GMT", "Sun, 06 Foo 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 25:49:37 GMT", "Sun, 06 Nov 1994 08:49:37 GMT extra"}) {
    EXPECT_FALSE(ParseRetryAfter(bad, now).has_value()) << bad;
  }
}

TEST(DecideRetryTest, SchedulesWithBackoff) {
  const RetryPolicy p;
  const int64_t ingest = 1'000'000;
  const NextRetryDecision d = DecideRetry(0, ingest + 10, ingest, std::nullopt, p, 0.0);
  EXPECT_EQ(d.kind, RetryDecisionKind::kRetry);
  EXPECT_EQ(d.due_ms, ingest + 10 + 500);
  EXPECT_EQ(d.exhausted, ExhaustedRetryCondition::kNone);
  EXPECT_EQ(DecideRetry(8, ingest, ingest, std::nullopt, p, 0.0).due_ms, ingest + 128000);
}

TEST(DecideRetryTest, MaximumRetryAttempts) {
  RetryPolicy p;
  p.max_retry_attempts = 2;
  EXPECT_EQ(DecideRetry(1, 0, 0, std::nullopt, p, 0.5).kind, RetryDecisionKind::kRetry);
  const NextRetryDecision d = DecideRetry(2, 0, 0, std::nullopt, p, 0.5);
  EXPECT_EQ(d.kind, RetryDecisionKind::kExhausted);
  EXPECT_EQ(ExhaustedRetryConditionName(d.exhausted), "MaximumRetryAttempts");
  p.max_retry_attempts = 0;
  EXPECT_EQ(DecideRetry(0, 0, 0, std::nullopt, p, 0.5).exhausted,
            ExhaustedRetryCondition::kMaximumRetryAttempts);
}

TEST(DecideRetryTest, MaximumEventAge) {
  RetryPolicy p;
  p.max_event_age_s = 60;
  const int64_t ingest = 5'000'000;
  // Due exactly at ingestion + age is not before it: stop.
  NextRetryDecision d = DecideRetry(0, ingest + 59'000, ingest, std::nullopt, p, 1.0 - 1e-12);
  EXPECT_EQ(d.kind, RetryDecisionKind::kRetry);  // 59 s + 999 ms < 60 s
  d = DecideRetry(0, ingest + 59'500, ingest, std::nullopt, p, 0.0);
  EXPECT_EQ(d.kind, RetryDecisionKind::kExhausted);
  EXPECT_EQ(ExhaustedRetryConditionName(d.exhausted), "MaximumEventAgeInSeconds");
}

TEST(DecideRetryTest, RetryAfter) {
  RetryPolicy p;
  const int64_t ingest = 0;
  // Later of header and backoff.
  EXPECT_EQ(DecideRetry(0, 1000, ingest, 30, p, 0.0).due_ms, 31'000);
  EXPECT_EQ(DecideRetry(8, 1000, ingest, 30, p, 0.0).due_ms, 129'000);
  // Beyond the event age: stop with the age condition.
  const NextRetryDecision far = DecideRetry(0, 1000, ingest, 86400, p, 0.0);
  EXPECT_EQ(far.kind, RetryDecisionKind::kExhausted);
  EXPECT_EQ(far.exhausted, ExhaustedRetryCondition::kMaximumEventAgeInSeconds);
  // Negative: not retryable, no exhausted condition.
  const NextRetryDecision neg = DecideRetry(0, 1000, ingest, -1, p, 0.0);
  EXPECT_EQ(neg.kind, RetryDecisionKind::kNotRetryable);
  EXPECT_EQ(neg.exhausted, ExhaustedRetryCondition::kNone);
  // Clamp.
  p.retry_after_max_s = 10;
  EXPECT_EQ(DecideRetry(0, 1000, ingest, 86400, p, 0.0).due_ms, 11'000);
}

}  // namespace
}  // namespace bp::delivery
