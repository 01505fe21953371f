#include "transform/json_path.h"

#include <gtest/gtest.h>

#include "transform/json_text.h"
#include "transform/test_event.h"

namespace bp::transform {
namespace {

using testing::kEvent;

std::optional<std::string> FindIn(std::string_view doc, std::string_view path) {
  StatusOr<JsonPath> parsed = JsonPath::Parse(path);
  EXPECT_TRUE(parsed.ok()) << path << ": " << parsed.status().message();
  if (!parsed.ok()) return std::nullopt;
  std::optional<std::string_view> found = parsed->Find(doc);
  if (!found.has_value()) return std::nullopt;
  return std::string(*found);
}

TEST(JsonPathTest, AcceptsSupportedSyntax) {
  for (const char* text : {"$", "$.detail", "$.detail.order.id", "$['detail-type']",
                           "$[\"detail-type\"]", "$.detail.items[1].sku", "$.a/b", "$.a_b-c:d",
                           "$['a b']", "$['it\\'s']", "$[0]", "$.detail['order'][0]"}) {
    EXPECT_TRUE(JsonPath::Parse(text).ok()) << text;
  }
}

TEST(JsonPathTest, RejectsUnsupportedSyntax) {
  for (const char* text :
       {"", "detail", "$.", "$..a", "$.a[", "$.a[x]", "$.a[*]", "$.*", "$.a b", "$.a]", "$['a'",
        "$['a]", "$[1234567890]", "$.a[-1]", " $.a", "$.a.", "$.a\n", "$['a\\q']"}) {
    StatusOr<JsonPath> parsed = JsonPath::Parse(text);
    EXPECT_FALSE(parsed.ok()) << text;
    if (!parsed.ok()) {
      EXPECT_EQ(parsed.status().code(), StatusCode::kValidation);
    }
  }
}

TEST(JsonPathTest, FindsValuesWithOriginalSpelling) {
  EXPECT_EQ(FindIn(kEvent, "$"), std::string(kEvent));
  EXPECT_EQ(FindIn(kEvent, "$.id"), "\"6a7e8feb-b491-4cf7-a9f1-bf3703467718\"");
  EXPECT_EQ(FindIn(kEvent, "$['detail-type']"), "\"Order Placed\"");
  EXPECT_EQ(FindIn(kEvent, "$.detail-type"), "\"Order Placed\"");
  EXPECT_EQ(FindIn(kEvent, "$.detail.order.total"), "12.50");
  EXPECT_EQ(FindIn(kEvent, "$.detail.order.big"), "1e3");
  EXPECT_EQ(FindIn(kEvent, "$.detail.order.tags"), "[\"x\",\"y\"]");
  EXPECT_EQ(FindIn(kEvent, "$.detail.order.tags[1]"), "\"y\"");
  EXPECT_EQ(FindIn(kEvent, "$.detail.items[1].sku"), "\"b\"");
  EXPECT_EQ(FindIn(kEvent, "$.resources[0]"), "\"arn:a\"");
  EXPECT_EQ(FindIn(kEvent, "$.detail.order.nothing"), "null");
  EXPECT_EQ(FindIn(kEvent, "$.detail.order.uni"), "\"caf\\u00e9 ☕\"");
}

TEST(JsonPathTest, MissingValues) {
  EXPECT_EQ(FindIn(kEvent, "$.nope"), std::nullopt);
  EXPECT_EQ(FindIn(kEvent, "$.detail.order.tags[2]"), std::nullopt);
  EXPECT_EQ(FindIn(kEvent, "$.detail.order[0]"), std::nullopt);    // index into an object
  EXPECT_EQ(FindIn(kEvent, "$.detail.items.sku"), std::nullopt);   // name into an array
  EXPECT_EQ(FindIn(kEvent, "$.detail.order.id.x"), std::nullopt);  // name into a string
}

TEST(JsonPathTest, KeysCompareDecodedAndFirstMatchWins) {
  const std::string_view doc = R"({"a\u0062" : 1, "ab": 2, "x y": {"z": [ true , false ]}})";
  EXPECT_EQ(FindIn(doc, "$.ab"), "1");
  EXPECT_EQ(FindIn(doc, "$['x y'].z[1]"), "false");
  EXPECT_EQ(FindIn(doc, "$['x y']"), "{\"z\": [ true , false ]}");
}

TEST(JsonPathTest, MalformedDocumentsAreMissingNotCrashes) {
  for (const char* doc :
       {"", "{", "{\"a\":", "{\"a\" 1}", "[1,", "{\"a\":[1,2}", "\"abc", "{\"a\":1,}"}) {
    StatusOr<JsonPath> path = JsonPath::Parse("$.a[1]");
    ASSERT_TRUE(path.ok());
    EXPECT_EQ(path->Find(doc), std::nullopt) << doc;
  }
}

TEST(JsonTextTest, DecodeAndEscapeRoundTrip) {
  EXPECT_EQ(DecodeString(R"("a\"b\\c\/d\n\t\u00e9\ud83d\ude00")"), "a\"b\\c/d\n\té😀");
  EXPECT_EQ(DecodeString(R"("\ud800x")"), "\xEF\xBF\xBDx");  // lone surrogate -> U+FFFD
  EXPECT_EQ(DecodeString(R"("bad\q")"), std::nullopt);
  std::string out;
  AppendEscaped(out, std::string("q\"b\\n\n\x01\xC3\xA9", 9));
  EXPECT_EQ(out, "q\\\"b\\\\n\\n\\u0001\xC3\xA9");
}

TEST(JsonTextTest, MinifyKeepsStringsAndSpelling) {
  std::string out;
  AppendMinified(out, "{ \"a b\" : [ 1.50 ,\n\t\"x \\\" y\" ] }");
  EXPECT_EQ(out, "{\"a b\":[1.50,\"x \\\" y\"]}");
}

TEST(JsonTextTest, IsValidJsonIsStrict) {
  EXPECT_TRUE(IsValidJson(" {\"a\":[1,2.5e3,null,true]} "));
  EXPECT_TRUE(IsValidJson("\"s\""));
  EXPECT_FALSE(IsValidJson("{\"a\":1,}"));
  EXPECT_FALSE(IsValidJson("{a:1}"));
  EXPECT_FALSE(IsValidJson("{} {}"));
  EXPECT_FALSE(IsValidJson(""));
  EXPECT_FALSE(IsValidJson("\"\xFF\""));  // invalid UTF-8
  std::string deep(1000, '[');
  deep += std::string(1000, ']');
  EXPECT_TRUE(IsValidJson(deep));  // events may nest up to 1000 levels
}

}  // namespace
}  // namespace bp::transform
