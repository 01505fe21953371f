#include "ingest/admission.h"

#include <gtest/gtest.h>

namespace bp::ingest {
namespace {

TEST(AdmissionTest, NoBoundsAdmitsEverything) {
  metrics::Registry m;
  ManualClock clock;
  Admission a(
      {}, [] { return int64_t{1} << 40; }, [] { return uint64_t{1} << 40; }, m, clock);
  EXPECT_FALSE(a.Check(10).has_value());
}

TEST(AdmissionTest, PendingBoundRefusesAndCounts) {
  metrics::Registry m;
  ManualClock clock;
  int64_t pending = 4;
  Admission a(
      {.max_pending_deliveries = 5}, [&] { return pending; }, nullptr, m, clock);
  EXPECT_FALSE(a.Check(3).has_value());
  pending = 5;
  std::optional<std::string> refusal = a.Check(3);
  ASSERT_TRUE(refusal.has_value());
  EXPECT_NE(refusal->find("Too many deliveries are pending (5, limit 5)"), std::string::npos);
  EXPECT_EQ(
      m.GetCounter("bridgeport_ingest_throttled_total", "", {{"reason", "pending_deliveries"}})
          .value(),
      3u);
  pending = 0;
  EXPECT_FALSE(a.Check(1).has_value());
}

TEST(AdmissionTest, StoreBoundUsesARefreshedSize) {
  metrics::Registry m;
  ManualClock clock;
  uint64_t bytes = 100;
  int reads = 0;
  Admission a(
      {.max_store_bytes = 1000}, nullptr,
      [&] {
        ++reads;
        return bytes;
      },
      m, clock);
  EXPECT_FALSE(a.Check(1).has_value());
  bytes = 5000;
  EXPECT_FALSE(a.Check(1).has_value());  // the size is re-read at most every 250 ms
  EXPECT_EQ(reads, 1);
  clock.AdvanceMillis(250);
  std::optional<std::string> refusal = a.Check(2);
  ASSERT_TRUE(refusal.has_value());
  EXPECT_NE(refusal->find("store is full"), std::string::npos);
  EXPECT_EQ(reads, 2);
}

}  // namespace
}  // namespace bp::ingest
