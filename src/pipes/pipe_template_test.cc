#include "pipes/pipe_template.h"

#include <gtest/gtest.h>

#include <map>

#include "pipes/sqs_record.h"
#include "transform/transform.h"

namespace bp::pipes {
namespace {

PlaceholderResolver MapResolver(std::map<std::string, std::string> values) {
  return [values](const std::string& name) -> std::optional<std::string> {
    auto it = values.find(name);
    if (it == values.end()) return std::nullopt;
    return it->second;
  };
}

TEST(PipeTemplate, JsonTemplateQuotesAndValues) {
  auto r = RenderInputTemplate(
      R"({"id": "<$.body.id>", "n": <$.body.n>, "o": <$.body.o>})",
      MapResolver({{"$.body.id", R"("a\"b")"}, {"$.body.n", "5"}, {"$.body.o", R"({"x":1})"}}));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, R"({"id": "a\"b", "n": 5, "o": {"x":1}})");
}

TEST(PipeTemplate, MissingValues) {
  auto r = RenderInputTemplate(R"({"a": <$.x>, "b": "<$.y>"})", MapResolver({}));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, R"({"a": null, "b": ""})");
}

TEST(PipeTemplate, TextTemplateAndLiteralAngles) {
  auto r = RenderInputTemplate(
      "Hello <$.name> <b>bold</b> from <aws.pipes.pipe-name>",
      MapResolver({{"$.name", R"("Ann")"}, {"aws.pipes.pipe-name", R"("p1")"}}));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, "Hello Ann <b>bold</b> from p1");
}

TEST(PipeTemplate, InvalidJsonOutputIsADeliveryError) {
  auto r = RenderInputTemplate(R"({"a": <$.x>)", MapResolver({{"$.x", "1"}}));
  ASSERT_FALSE(r.ok());
  auto de = transform::ParseDeliveryError(r.status());
  ASSERT_TRUE(de.has_value()) << r.status().ToString();
  EXPECT_EQ(de->code, DeliveryErrorCode::kInvalidJson);
}

TEST(PipeTemplate, Validation) {
  EXPECT_TRUE(ValidateInputTemplate(R"({"a": <aws.pipes.event.json>})", "f").ok());
  EXPECT_FALSE(ValidateInputTemplate("<aws.pipes.nope>", "f").ok());
  EXPECT_FALSE(ValidateInputTemplate("<$.a[>", "f").ok());
  EXPECT_TRUE(ValidateInputTemplate("a < b > c", "f").ok());
}

TEST(SqsRecord, JsonBodyIsDecodedInTheViewOnly) {
  queue::ReceivedMessage m;
  m.message_id = "m1";
  m.receipt_handle = "h1";
  m.body = R"({"k":"v"})";
  m.md5_of_body = "x";
  SqsRecord r = MakeSqsRecord(m, "arn:aws:sqs:us-east-1:000000000000:q", "us-east-1");
  EXPECT_NE(r.event_json.find(R"("body":"{\"k\":\"v\"}")"), std::string::npos) << r.event_json;
  EXPECT_NE(r.view_json.find(R"("body":{"k":"v"})"), std::string::npos) << r.view_json;
  EXPECT_NE(r.event_json.find(R"("eventSource":"aws:sqs")"), std::string::npos);
}

}  // namespace
}  // namespace bp::pipes
