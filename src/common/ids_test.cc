#include "common/ids.h"

#include <gtest/gtest.h>

#include <set>

namespace bp {
namespace {

TEST(IdsTest, UuidShapeAndUniqueness) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    std::string id = NewUuid();
    ASSERT_EQ(id.size(), 36u);
    EXPECT_EQ(id[14], '4');
    EXPECT_TRUE(id[19] == '8' || id[19] == '9' || id[19] == 'a' || id[19] == 'b');
    EXPECT_TRUE(seen.insert(id).second);
  }
}

TEST(IdsTest, Iso8601RoundTrip) {
  EXPECT_EQ(FormatIso8601(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(FormatIso8601(1700000000), "2023-11-14T22:13:20Z");
  EXPECT_EQ(ParseIso8601("2023-11-14T22:13:20Z"), 1700000000);
  EXPECT_EQ(ParseIso8601("2023-11-14T22:13:20.123Z"), 1700000000);
  EXPECT_EQ(ParseIso8601("2023-11-14T23:13:20+01:00"), 1700000000);
  EXPECT_FALSE(ParseIso8601("yesterday").has_value());
  EXPECT_FALSE(ParseIso8601("2023-13-14T22:13:20Z").has_value());
}

}  // namespace
}  // namespace bp
