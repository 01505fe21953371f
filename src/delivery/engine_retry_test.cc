// Delivery engine tests (fixture: engine_test_fixture.h). Failures: durable retries, Retry-After,
// retryable and permanent errors, dead-letter queues.
#include "delivery/engine_test_fixture.h"

namespace bp::delivery::engine_testing {
namespace {

TEST_F(EngineTest, ServerErrorSchedulesADurableRetry) {
  TargetOptions opts;
  opts.max_retries = 3;
  SetUpDestination(300, opts);
  fake_->SetScript([](const HttpRequest& req, size_t i) {
    return i == 0 ? FakeHttpClient::Response(req, 500, {}, "boom")
                  : FakeHttpClient::Response(req, 200);
  });
  int64_t t0_ms = clock_.NowMillis();
  auto ids = PutEvents(1);
  ASSERT_TRUE(fake_->WaitForSends(1, milliseconds(10000)));
  std::vector<TaskRecord> tasks;
  ASSERT_TRUE(Eventually([&] {
    tasks = StoredTasks();
    return tasks.size() == 1 && tasks[0].retries == 1;
  }));
  // Retry 1 waits 50 ms * (0.5 + 0.5u) with backoff-base-ms=50.
  EXPECT_GE(tasks[0].due_ms, t0_ms + 25);
  EXPECT_LE(tasks[0].due_ms, t0_ms + 50);
  EXPECT_EQ(tasks[0].last_error_code, "ERROR_FROM_TARGET");
  EXPECT_EQ(tasks[0].last_error_message, "HTTP 500 from 127.0.0.1: boom");
  EXPECT_EQ(tasks[0].event_id, ids[0]);

  // Not due yet: nothing is sent while the clock stands still.
  EXPECT_TRUE(StaysAt(1));

  Advance(50'000);
  ASSERT_TRUE(fake_->WaitForSends(2, milliseconds(10000)));
  auto sent = fake_->Sent();
  EXPECT_EQ(sent[1].request.body, sent[0].request.body);
  ASSERT_TRUE(Eventually([&] { return StoredTasks().empty(); }));
  ASSERT_TRUE(Eventually([&] { return AttemptRecords().size() == 2; }));
  std::multiset<std::string> outcomes;
  for (auto& r : AttemptRecords()) outcomes.insert(std::string(r["outcome"].as_string()));
  EXPECT_EQ(outcomes, (std::multiset<std::string>{"retry", "success"}));
  EXPECT_EQ(Outcomes("success"), 1u);
  EXPECT_EQ(
      Counter("bridgeport_invocation_attempts_total", {{"destination", "d1"}, {"result", "5xx"}}),
      1u);
  EXPECT_TRUE(ReceiveDlq().empty());
}

TEST_F(EngineTest, NoRetriesAllowedSendsToTheDeadLetterQueue) {
  TargetOptions opts;
  opts.max_retries = 0;
  SetUpDestination(300, opts);
  fake_->RespondWith(503, {}, "unavailable");
  auto ids = PutEvents(1);
  auto msg = OneDlqMessage();
  auto body = json::parse(msg.body).as_object();
  EXPECT_EQ(body["id"].as_string(), ids[0]);
  EXPECT_EQ(msg.body, fake_->Sent()[0].request.body);  // the original event
  auto attrs = AttrMap(msg);
  using P = std::pair<std::string, std::string>;
  EXPECT_EQ(attrs["RULE_ARN"], P("String", rule_arn_));
  EXPECT_EQ(attrs["TARGET_ARN"], P("String", dest_arn_));
  EXPECT_EQ(attrs["ERROR_CODE"], P("String", "ERROR_FROM_TARGET"));
  EXPECT_EQ(attrs["ERROR_MESSAGE"], P("String", "HTTP 503 from 127.0.0.1: unavailable"));
  EXPECT_EQ(attrs["EXHAUSTED_RETRY_CONDITION"], P("String", "MaximumRetryAttempts"));
  EXPECT_EQ(attrs["RETRY_ATTEMPTS"], P("Number", "0"));
  EXPECT_EQ(attrs.size(), 6u);
  EXPECT_EQ(fake_->SendCount(), 1u);
  ASSERT_TRUE(Eventually([&] { return StoredTasks().empty(); }));
  EXPECT_EQ(Outcomes("dlq"), 1u);
  EXPECT_EQ(Counter("bridgeport_dlq_sends_total", {}), 1u);
}

TEST_F(EngineTest, RetriesUntilExhaustedThenDeadLetters) {
  TargetOptions opts;
  opts.max_retries = 2;
  SetUpDestination(300, opts);
  fake_->RespondWith(500);
  PutEvents(1);
  for (size_t n = 1; n <= 3; ++n) {
    ASSERT_TRUE(fake_->WaitForSends(n, milliseconds(10000))) << n;
    if (n < 3) {
      ASSERT_TRUE(Eventually([&] {
        auto t = StoredTasks();
        return t.size() == 1 && t[0].retries == static_cast<int>(n);
      }));
      Advance(kSecondUs);  // past any backoff of 50 ms * 2^(n-1)
    }
  }
  auto msg = OneDlqMessage();
  auto attrs = AttrMap(msg);
  EXPECT_EQ(attrs["RETRY_ATTEMPTS"].second, "2");
  EXPECT_EQ(attrs["EXHAUSTED_RETRY_CONDITION"].second, "MaximumRetryAttempts");
  EXPECT_EQ(attrs["ERROR_MESSAGE"].second, "HTTP 500 from 127.0.0.1: ");
  EXPECT_EQ(fake_->SendCount(), 3u);
  ASSERT_TRUE(Eventually([&] { return StoredTasks().empty(); }));
}

TEST_F(EngineTest, ClientErrorDeadLettersWithoutExhaustedCondition) {
  SetUpDestination(300, {});
  fake_->RespondWith(400, {}, "bad request");
  PutEvents(1);
  auto msg = OneDlqMessage();
  auto attrs = AttrMap(msg);
  EXPECT_EQ(attrs["ERROR_CODE"].second, "ERROR_FROM_TARGET");
  EXPECT_EQ(attrs["ERROR_MESSAGE"].second, "HTTP 400 from 127.0.0.1: bad request");
  EXPECT_EQ(attrs.count("EXHAUSTED_RETRY_CONDITION"), 0u);
  EXPECT_EQ(attrs["RETRY_ATTEMPTS"].second, "0");
  EXPECT_EQ(fake_->SendCount(), 1u);
  ASSERT_TRUE(Eventually([&] { return StoredTasks().empty(); }));
}

TEST_F(EngineTest, NoDeadLetterQueueDropsAndCounts) {
  TargetOptions opts;
  opts.dead_letter = false;
  SetUpDestination(300, opts);
  fake_->RespondWith(404);
  PutEvents(1);
  ASSERT_TRUE(Eventually([&] { return Outcomes("dropped") == 1; }));
  ASSERT_TRUE(Eventually([&] { return StoredTasks().empty(); }));
  EXPECT_EQ(Counter("bridgeport_dropped_total",
                    {{"reason", "no_dlq"}, {"error_code", "ERROR_FROM_TARGET"}}),
            1u);
  EXPECT_TRUE(ReceiveDlq().empty());
}

TEST_F(EngineTest, RetryAfterDelaysTheRetry) {
  TargetOptions opts;
  opts.max_retries = 3;
  SetUpDestination(300, opts);
  fake_->SetScript([](const HttpRequest& req, size_t i) {
    return i == 0 ? FakeHttpClient::Response(req, 429, {{"Retry-After", "7"}})
                  : FakeHttpClient::Response(req, 200);
  });
  int64_t t0_ms = clock_.NowMillis();
  PutEvents(1);
  std::vector<TaskRecord> tasks;
  ASSERT_TRUE(Eventually([&] {
    tasks = StoredTasks();
    return tasks.size() == 1 && tasks[0].retries == 1;
  }));
  // The later of Retry-After (7 s) and the backoff (25-50 ms).
  EXPECT_GE(tasks[0].due_ms, t0_ms + 6000);
  EXPECT_LE(tasks[0].due_ms, t0_ms + 8000);
  clock_.SetMicros(tasks[0].due_ms * 1000 - 1000);
  EXPECT_TRUE(StaysAt(1));
  Advance(1000);
  ASSERT_TRUE(fake_->WaitForSends(2, milliseconds(10000)));
  ASSERT_TRUE(Eventually([&] { return StoredTasks().empty(); }));
}

TEST_F(EngineTest, TimeoutIsRetryableAndNxdomainIsNot) {
  TargetOptions opts;
  opts.max_retries = 0;
  SetUpDestination(300, opts);
  fake_->SetScript([](const HttpRequest& req, size_t i) {
    HttpResult r;
    r.kind = i == 0 ? HttpResult::Kind::kTimeout : HttpResult::Kind::kDnsNotFound;
    r.host = FakeHttpClient::HostOf(req.url);
    r.error = i == 0 ? "timed out" : "could not resolve host";
    return r;
  });
  PutEvents(1);
  auto first = OneDlqMessage();
  auto a1 = AttrMap(first);
  EXPECT_EQ(a1["ERROR_CODE"].second, "TIMEOUT");
  EXPECT_EQ(a1["EXHAUSTED_RETRY_CONDITION"].second, "MaximumRetryAttempts");
  PutEvents(1);
  auto second = OneDlqMessage();
  auto a2 = AttrMap(second);
  EXPECT_EQ(a2["ERROR_CODE"].second, "CONNECTION_FAILURE");
  EXPECT_EQ(a2.count("EXHAUSTED_RETRY_CONDITION"), 0u);
  EXPECT_EQ(Counter("bridgeport_invocation_attempts_total",
                    {{"destination", "d1"}, {"result", "timeout"}}),
            1u);
  EXPECT_EQ(Counter("bridgeport_invocation_attempts_total",
                    {{"destination", "d1"}, {"result", "conn_error"}}),
            1u);
}

TEST_F(EngineTest, ParkedDestinationDeadLettersPastTheEventAge) {
  TargetOptions opts;
  opts.max_age_s = 60;
  SetUpDestination(300, opts);
  ASSERT_TRUE(registry_->DeauthorizeConnection(J(R"({"Name":"c1"})")).ok());
  PutEvents(1);
  // Parked: nothing is sent and the task waits durably.
  EXPECT_TRUE(StaysAt(0));
  Advance(30 * kSecondUs);
  EXPECT_TRUE(StaysAt(0));
  EXPECT_EQ(StoredTasks().size(), 1u);
  Advance(31 * kSecondUs);
  auto msg = OneDlqMessage();
  auto attrs = AttrMap(msg);
  EXPECT_EQ(attrs["ERROR_CODE"].second, "NO_PERMISSIONS");
  EXPECT_EQ(attrs["EXHAUSTED_RETRY_CONDITION"].second, "MaximumEventAgeInSeconds");
  EXPECT_EQ(attrs["RETRY_ATTEMPTS"].second, "0");
  EXPECT_EQ(fake_->SendCount(), 0u);
  ASSERT_TRUE(Eventually([&] { return StoredTasks().empty(); }));
}

}  // namespace
}  // namespace bp::delivery::engine_testing
