#include "delivery/start_history.h"

#include <gtest/gtest.h>

namespace bp::delivery {
namespace {

TEST(StartHistory, CountsStartsInTheirOwnSecondAndForgetsOldOnes) {
  StartHistory h;
  for (int i = 0; i < 3; ++i) h.Record(1000);
  h.Record(1002);
  EXPECT_EQ(h.Last(1003, 4), (std::vector<int>{0, 3, 0, 1}));
  EXPECT_EQ(h.Last(1002, 2), (std::vector<int>{3, 0}));  // 1000 and 1001: not the current second
  // A slot reused StartHistory::kSeconds later starts from zero.
  h.Record(1000 + StartHistory::kSeconds);
  EXPECT_EQ(h.Last(1001 + StartHistory::kSeconds, 1), (std::vector<int>{1}));
  EXPECT_EQ(h.Last(1003, 4), (std::vector<int>{0, 0, 0, 1}));
  EXPECT_TRUE(h.Last(5, 0).empty());
}

}  // namespace
}  // namespace bp::delivery
