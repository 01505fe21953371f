#include "ingest/detail_json.h"

#include <gtest/gtest.h>

namespace bp::ingest {
namespace {

std::string Compact(std::string_view in) {
  std::string out;
  EXPECT_TRUE(CompactDetail(in, &out)) << in;
  return out;
}

bool Valid(std::string_view in) {
  std::string out;
  return CompactDetail(in, &out);
}

TEST(DetailJsonTest, KeepsOrderAndNumberSpelling) {
  EXPECT_EQ(Compact(" { \"b\" : 1.50 , \"a\" : [ 1e3 , -0 , \"x y\" ] } "),
            "{\"b\":1.50,\"a\":[1e3,-0,\"x y\"]}");
  EXPECT_EQ(Compact("{\"s\":\"\\u00e9\\n\"}"), "{\"s\":\"\\u00e9\\n\"}");
  EXPECT_EQ(Compact("{}"), "{}");
}

TEST(DetailJsonTest, RejectsMalformed) {
  EXPECT_FALSE(Valid("[1]"));
  EXPECT_FALSE(Valid("\"x\""));
  EXPECT_FALSE(Valid("{\"a\":1,\"a\":2}"));
  EXPECT_FALSE(Valid("{\"a\":}"));
  EXPECT_FALSE(Valid("{\"a\":01}"));
  EXPECT_FALSE(Valid("{\"a\":1} x"));
  EXPECT_FALSE(Valid("{\"a\":\"\x01\"}"));
  EXPECT_FALSE(Valid("{\"a\":tru}"));
  std::string deep = "{\"a\":";
  for (int i = 0; i < 1001; ++i) deep += "[";
  for (int i = 0; i < 1001; ++i) deep += "]";
  deep += "}";
  EXPECT_FALSE(Valid(deep));
  std::string ok = "{\"a\":";
  for (int i = 0; i < 998; ++i) ok += "[";
  for (int i = 0; i < 998; ++i) ok += "]";
  ok += "}";
  EXPECT_TRUE(Valid(ok));
}

}  // namespace
}  // namespace bp::ingest
