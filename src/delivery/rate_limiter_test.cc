#include "delivery/rate_limiter.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

#include "common/clock.h"

namespace bp::delivery {
namespace {

constexpr int64_t kSec = RateLimiter::kWindowMicros;

// Number of accepted starts in the half-open window [from, to).
int CountIn(const std::vector<int64_t>& sorted, int64_t from, int64_t to) {
  return static_cast<int>(std::lower_bound(sorted.begin(), sorted.end(), to) -
                          std::lower_bound(sorted.begin(), sorted.end(), from));
}

TEST(RateLimiterTest, AllowsBurstOfRThenWaitsForWindow) {
  RateLimiter limiter(3);
  const int64_t t0 = 5 * kSec;
  EXPECT_EQ(limiter.Available(t0), 3);
  EXPECT_TRUE(limiter.TryAcquire(t0));
  EXPECT_TRUE(limiter.TryAcquire(t0 + 10));
  EXPECT_TRUE(limiter.TryAcquire(t0 + 20));
  EXPECT_EQ(limiter.Available(t0 + 20), 0);
  EXPECT_FALSE(limiter.TryAcquire(t0 + 30));
  EXPECT_EQ(limiter.NextAvailable(t0 + 30), t0 + kSec);
  // One microsecond before the oldest start leaves the window: still refused.
  EXPECT_FALSE(limiter.TryAcquire(t0 + kSec - 1));
  EXPECT_TRUE(limiter.TryAcquire(t0 + kSec));
  EXPECT_FALSE(limiter.TryAcquire(t0 + kSec + 9));
  EXPECT_TRUE(limiter.TryAcquire(t0 + kSec + 10));
  EXPECT_EQ(limiter.Available(t0 + 2 * kSec + 20), 3);
}

TEST(RateLimiterTest, RefusalChangesNothing) {
  RateLimiter limiter(1);
  EXPECT_TRUE(limiter.TryAcquire(0));
  for (int i = 1; i < 100; ++i) EXPECT_FALSE(limiter.TryAcquire(i * 1000));
  EXPECT_EQ(limiter.NextAvailable(500'000), kSec);
  EXPECT_TRUE(limiter.TryAcquire(kSec));
}

TEST(RateLimiterTest, ClockSteppingBackIsClampedToLatestTimeSeen) {
  RateLimiter limiter(2);
  EXPECT_TRUE(limiter.TryAcquire(10 * kSec));
  EXPECT_TRUE(limiter.TryAcquire(5 * kSec));  // treated as 10 s
  EXPECT_FALSE(limiter.TryAcquire(10 * kSec + kSec - 1));
  EXPECT_EQ(limiter.NextAvailable(0), 11 * kSec);
}

TEST(RateLimiterTest, LoweredRateAppliesImmediately) {
  RateLimiter limiter(10);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(limiter.TryAcquire(i * 1000));
  limiter.SetRate(4);
  EXPECT_EQ(limiter.Available(20'000), 0);
  // The 4th most recent start was at 6 ms, so the next is allowed at 1.006 s.
  EXPECT_FALSE(limiter.TryAcquire(kSec + 5'999));
  EXPECT_EQ(limiter.NextAvailable(kSec), kSec + 6'000);
  EXPECT_TRUE(limiter.TryAcquire(kSec + 6'000));
  EXPECT_FALSE(limiter.TryAcquire(kSec + 6'000));
}

TEST(RateLimiterTest, RaisedRateAllowsMoreAtOnce) {
  RateLimiter limiter(2);
  ASSERT_TRUE(limiter.TryAcquire(0));
  ASSERT_TRUE(limiter.TryAcquire(1));
  ASSERT_FALSE(limiter.TryAcquire(2));
  limiter.SetRate(5);
  EXPECT_EQ(limiter.Available(2), 3);
  EXPECT_TRUE(limiter.TryAcquire(2));
  EXPECT_TRUE(limiter.TryAcquire(3));
  EXPECT_TRUE(limiter.TryAcquire(4));
  EXPECT_FALSE(limiter.TryAcquire(5));
  EXPECT_EQ(limiter.NextAvailable(5), kSec);
}

TEST(RateLimiterTest, LowerThenRaiseWithinOneSecondCountsEveryStart) {
  RateLimiter limiter(10);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(limiter.TryAcquire(i));
  limiter.SetRate(4);
  limiter.SetRate(12);
  EXPECT_EQ(limiter.Available(100), 2);
  EXPECT_TRUE(limiter.TryAcquire(100));
  EXPECT_TRUE(limiter.TryAcquire(101));
  EXPECT_FALSE(limiter.TryAcquire(102));
  EXPECT_EQ(limiter.NextAvailable(102), kSec);
}

TEST(RateLimiterTest, RateBelowOneIsOne) {
  RateLimiter limiter(0);
  EXPECT_EQ(limiter.rate(), 1);
  EXPECT_TRUE(limiter.TryAcquire(0));
  EXPECT_FALSE(limiter.TryAcquire(1));
}

// Random arrival times (bursts and gaps) and random rate changes. Checks, for every accepted
// start s: the window (s - 1 s, s] holds at most the rate in force at s (this bounds every window
// [t, t + 1 s), whose count is the count of the window ending at its last start); with a constant
// rate also every window [s, s + 1 s) directly. Also checks exactness: every refusal happened with
// exactly R starts in (now - 1 s, now], and NextAvailable agrees with TryAcquire.
TEST(RateLimiterTest, PropertyNoWindowExceedsRateAndRefusalsAreExact) {
  std::mt19937_64 rng(12345);
  for (int round = 0; round < 40; ++round) {
    const bool change_rate = round % 2 == 1;
    int rate = 1 + static_cast<int>(rng() % 50);
    RateLimiter limiter(rate);
    std::vector<int64_t> accepted;
    std::vector<int> rate_at;
    int64_t now = static_cast<int64_t>(rng() % (100 * kSec));
    for (int step = 0; step < 4000; ++step) {
      switch (rng() % 4) {
        case 0:
          break;  // same microsecond
        case 1:
          now += static_cast<int64_t>(rng() % 50);
          break;
        case 2:
          now += static_cast<int64_t>(rng() % (kSec / 10));
          break;
        default:
          now += static_cast<int64_t>(rng() % (2 * kSec));
          break;
      }
      if (change_rate && rng() % 200 == 0) {
        rate = 1 + static_cast<int>(rng() % 50);
        limiter.SetRate(rate);
      }
      const int64_t next = limiter.NextAvailable(now);
      const int in_window = CountIn(accepted, now - kSec + 1, now + 1);
      ASSERT_EQ(limiter.Available(now), std::max(0, rate - in_window));
      const bool ok = limiter.TryAcquire(now);
      ASSERT_EQ(ok, next == now);
      if (ok) {
        accepted.push_back(now);
        rate_at.push_back(rate);
      } else {
        ASSERT_GT(next, now);
        // Exact: refused only with at least R starts in the window (more only after a lowering).
        ASSERT_GE(in_window, rate);
        if (!change_rate) {
          ASSERT_EQ(in_window, rate);
        }
      }
    }
    ASSERT_FALSE(accepted.empty());
    for (size_t i = 0; i < accepted.size(); ++i) {
      const int64_t s = accepted[i];
      // Starts accepted up to and including this one (later ones at the same microsecond came
      // under a rate set afterwards).
      const auto before = static_cast<int>(
          i + 1 -
          (std::lower_bound(accepted.begin(), accepted.end(), s - kSec + 1) - accepted.begin()));
      ASSERT_LE(before, rate_at[i]) << "round " << round;
      if (!change_rate) {
        ASSERT_LE(CountIn(accepted, s, s + kSec), rate) << "round " << round;
      }
    }
  }
}

// A standing backlog served by a loop that sleeps (ManualClock) until NextAvailable, with a
// scheduling delay of up to 200 us per wakeup. Over 10 s it must start >= 0.99 R, never > R in
// any window.
TEST(RateLimiterTest, BacklogAchievesRate) {
  for (int rate : {1, 7, 300, 5000}) {
    ManualClock clock(0);
    RateLimiter limiter(rate);
    std::mt19937_64 rng(rate);
    std::vector<int64_t> starts;
    const int64_t end = 10 * kSec;
    while (true) {
      const int64_t now = clock.MonotonicMicros();
      if (now >= end) break;
      if (limiter.TryAcquire(now)) {
        starts.push_back(now);
        continue;
      }
      const int64_t wake = limiter.NextAvailable(now) + static_cast<int64_t>(rng() % 200);
      clock.SetMicros(wake);
    }
    const double achieved = static_cast<double>(starts.size()) / 10.0;
    EXPECT_GE(achieved, 0.99 * rate) << "rate " << rate;
    EXPECT_LE(starts.size(), static_cast<size_t>(10 * rate)) << "rate " << rate;
    for (int64_t s : starts) ASSERT_LE(CountIn(starts, s, s + kSec), rate);
  }
}

}  // namespace
}  // namespace bp::delivery
