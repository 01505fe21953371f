// Delivery engine tests (fixture: engine_test_fixture.h). Limits: in-flight bound, the rate
// limiter, and pipes sharing a destination's limiter.
#include "delivery/engine_test_fixture.h"

namespace bp::delivery::engine_testing {
namespace {

TEST_F(EngineTest, MaxInflightBoundsConcurrentAttempts) {
  MakeDestination(300);
  TagDestination("bridgeport:max-inflight", "2");
  MakeRuleAndTarget({});
  StartEngine();
  fake_->Hold(true);
  PutEvents(5);
  ASSERT_TRUE(fake_->WaitForSends(2, milliseconds(10000)));
  EXPECT_TRUE(StaysAt(2));
  fake_->ReleaseHeld();
  ASSERT_TRUE(fake_->WaitForSends(4, milliseconds(10000)));
  EXPECT_TRUE(StaysAt(4));
  fake_->Hold(false);
  fake_->ReleaseHeld();
  ASSERT_TRUE(Eventually([&] { return StoredTasks().empty(); }));
  EXPECT_EQ(fake_->SendCount(), 5u);
}

TEST_F(EngineTest, RateLimiterStartsAtMostRPerSecond) {
  constexpr size_t kRate = 5;
  SetUpDestination(kRate, {});
  PutEvents(10);
  PutEvents(10);
  for (size_t window = 1; window <= 4; ++window) {
    ASSERT_TRUE(fake_->WaitForSends(kRate * window, milliseconds(10000))) << window;
    // Let the engine see every completion of this window and try to dispatch again.
    ASSERT_TRUE(Eventually([&] { return Outcomes("success") == kRate * window; }));
    // With the clock standing still the window is used up: no further start, however often the
    // engine wakes.
    EXPECT_TRUE(StaysAt(kRate * window));
    Advance(kSecondUs);
  }
  ASSERT_TRUE(Eventually([&] { return StoredTasks().empty(); }));
  EXPECT_EQ(fake_->SendCount(), 20u);
  // Every R+1 consecutive starts span at least one second of the engine's clock.
  auto sent = fake_->Sent();
  for (size_t i = 0; i + kRate < sent.size(); ++i) {
    EXPECT_GE(sent[i + kRate].mono_us - sent[i].mono_us, kSecondUs) << i;
  }
  EXPECT_GE(Counter("bridgeport_throttled_waits_total", {{"destination", "d1"}}), 1u);
}

// Pipe calls take starts from the same exact limiter as rule deliveries, and come back classified.

TEST_F(EngineTest, PipeCallsShareTheDestinationLimiter) {
  constexpr size_t kRate = 2;
  SetUpDestination(kRate, {});
  fake_->RespondWith(200, {}, R"({"enriched":true})");
  std::mutex mu;
  std::vector<PipeCallResult> results;
  for (int i = 0; i < 3; ++i) {
    PipeCall call;
    call.pipe_name = "p1";
    call.role = "enrichment";
    call.destination = "d1";
    call.payload = R"({"i":1})";
    call.path_document = "{}";
    call.keep_response_body = true;
    engine_->SubmitPipeCall(std::move(call), [&](PipeCallResult r) {
      std::lock_guard<std::mutex> lock(mu);
      results.push_back(std::move(r));
    });
  }
  PutEvents(3);
  for (size_t window = 1; window <= 3; ++window) {
    ASSERT_TRUE(fake_->WaitForSends(kRate * window, milliseconds(10000))) << window;
    EXPECT_TRUE(StaysAt(kRate * window));
    Advance(kSecondUs);
  }
  ASSERT_TRUE(Eventually([&] {
    std::lock_guard<std::mutex> lock(mu);
    return results.size() == 3;
  }));
  for (const auto& r : results) {
    EXPECT_EQ(r.kind, PipeCallResult::Kind::kSuccess);
    EXPECT_EQ(r.body, R"({"enriched":true})");
  }
  EXPECT_EQ(HeaderOf(fake_->Sent()[0].request, "x-api-key"), "sekrit-1");
  size_t pipe_records = 0;
  for (const auto& rec : AttemptRecords()) pipe_records += rec.contains("pipe");
  EXPECT_EQ(pipe_records, 3u);

  fake_->RespondWith(503, {}, "down");
  std::promise<PipeCallResult> failed;
  PipeCall call;
  call.pipe_name = "p1";
  call.role = "target";
  call.destination = "d1";
  call.payload = "{}";
  engine_->SubmitPipeCall(std::move(call), [&](PipeCallResult r) { failed.set_value(r); });
  Advance(kSecondUs);
  auto f = failed.get_future();
  ASSERT_EQ(f.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  PipeCallResult r = f.get();
  EXPECT_EQ(r.kind, PipeCallResult::Kind::kRetryable);
  EXPECT_EQ(r.error_code, DeliveryErrorCode::kErrorFromTarget);
}

}  // namespace
}  // namespace bp::delivery::engine_testing
