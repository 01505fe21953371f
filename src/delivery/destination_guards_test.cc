#include "delivery/destination_guards.h"

#include <gtest/gtest.h>

namespace bp::delivery {
namespace {

constexpr int64_t kS = 1'000'000;

TEST(BreakerPolicyTest, Parse) {
  bool ok = false;
  EXPECT_FALSE(BreakerPolicy::Parse("off", &ok).has_value());
  EXPECT_TRUE(ok);
  auto p = BreakerPolicy::Parse("failure-rate=40,min-requests=5,window-s=10,open-s=2", &ok);
  ASSERT_TRUE(ok && p);
  EXPECT_EQ(p->failure_rate_percent, 40);
  EXPECT_EQ(p->min_requests, 5);
  EXPECT_EQ(p->window_us, 10 * kS);
  EXPECT_EQ(p->open_us, 2 * kS);
  BreakerPolicy::Parse("failure-rate=0", &ok);
  EXPECT_FALSE(ok);
  BreakerPolicy::Parse("bogus=1", &ok);
  EXPECT_FALSE(ok);
  BreakerPolicy::Parse("on", &ok);
  EXPECT_FALSE(ok);
}

TEST(CircuitBreakerTest, OpensProbesAndCloses) {
  BreakerPolicy p;
  p.failure_rate_percent = 50;
  p.min_requests = 4;
  p.window_us = 10 * kS;
  p.open_us = 2 * kS;
  CircuitBreaker b(p);
  int64_t t = 100 * kS;
  b.OnResult(t, true);
  b.OnResult(t, false);
  b.OnResult(t, false);
  EXPECT_EQ(b.state(t), CircuitBreaker::State::kClosed);  // only 3 results
  b.OnResult(t, true);
  EXPECT_EQ(b.state(t), CircuitBreaker::State::kOpen);  // 2 of 4 failed
  EXPECT_FALSE(b.AllowStart(t + kS));
  // Half-open after open-s: one probe only.
  EXPECT_TRUE(b.AllowStart(t + 2 * kS));
  EXPECT_FALSE(b.AllowStart(t + 2 * kS));
  b.OnResult(t + 2 * kS, false);  // probe failed: open again
  EXPECT_FALSE(b.AllowStart(t + 3 * kS));
  EXPECT_TRUE(b.AllowStart(t + 4 * kS));
  b.OnResult(t + 4 * kS, true);  // probe succeeded: closed
  EXPECT_EQ(b.state(t + 4 * kS), CircuitBreaker::State::kClosed);
  EXPECT_TRUE(b.AllowStart(t + 4 * kS));
}

TEST(CircuitBreakerTest, OldResultsLeaveTheWindow) {
  BreakerPolicy p;
  p.min_requests = 2;
  p.window_us = 5 * kS;
  CircuitBreaker b(p);
  b.OnResult(0, false);
  b.OnResult(10 * kS, true);  // the failure is outside the window now
  b.OnResult(10 * kS, true);
  EXPECT_EQ(b.state(10 * kS), CircuitBreaker::State::kClosed);
}

TEST(AdaptiveRateTest, HalvesPausesAndRecovers) {
  AdaptiveRate a;
  EXPECT_EQ(a.Rate(0, 100), 100);
  a.OnThrottled(0, 100, 2 * kS);
  EXPECT_EQ(a.paused_until(), 2 * kS);
  EXPECT_EQ(a.Rate(kS, 100), 50);
  a.OnThrottled(kS, 100, std::nullopt);
  EXPECT_EQ(a.Rate(kS, 100), 25);
  // Recovery counts from the end of the pause: +5 per clean second.
  EXPECT_EQ(a.Rate(2 * kS + 3 * kS, 100), 40);
  EXPECT_EQ(a.Rate(2 * kS + 100 * kS, 100), 100);
  AdaptiveRate floor;
  for (int i = 0; i < 10; ++i) floor.OnThrottled(0, 3, std::nullopt);
  EXPECT_EQ(floor.Rate(0, 3), 1);
}

}  // namespace
}  // namespace bp::delivery
