// Golden tests for Input, InputPath and InputTransformer payloads.
#include <gtest/gtest.h>

#include "transform/json_text.h"
#include "transform/test_event.h"
#include "transform/transform.h"

namespace bp::transform {
namespace {

using testing::kDetail;
using testing::kEvent;

constexpr std::string_view kRuleArn = "arn:aws:events:us-east-1:000000000000:rule/orders";

EventContext Context(std::string_view event = kEvent) {
  return EventContext{event, kRuleArn, "orders", 1704164645};  // 2024-01-02T03:04:05Z
}

std::string Transform(std::vector<std::pair<std::string, std::string>> paths, std::string tpl,
                      std::string_view event = kEvent) {
  TargetInputSpec spec;
  spec.input_transformer = InputTransformerSpec{std::move(paths), std::move(tpl)};
  StatusOr<PayloadBuilder> builder = PayloadBuilder::Create("t1", spec);
  EXPECT_TRUE(builder.ok()) << builder.status().message();
  if (!builder.ok()) return "<create failed>";
  StatusOr<std::string> out = builder->Build(Context(event));
  EXPECT_TRUE(out.ok()) << out.status().message();
  return out.ok() ? *out : "<build failed: " + out.status().message() + ">";
}

std::string WithInputPath(std::string path) {
  TargetInputSpec spec;
  spec.input_path = std::move(path);
  StatusOr<PayloadBuilder> builder = PayloadBuilder::Create("t1", spec);
  EXPECT_TRUE(builder.ok()) << builder.status().message();
  if (!builder.ok()) return "<create failed>";
  StatusOr<std::string> out = builder->Build(Context());
  EXPECT_TRUE(out.ok());
  return out.ok() ? *out : "<build failed>";
}

TEST(PayloadBuilderTest, WholeEventWhenNothingIsSet) {
  StatusOr<PayloadBuilder> builder = PayloadBuilder::Create("t1", TargetInputSpec{});
  ASSERT_TRUE(builder.ok());
  StatusOr<std::string> out = builder->Build(Context());
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(*out, kEvent);
}

TEST(PayloadBuilderTest, ConstantInputIsSentVerbatim) {
  TargetInputSpec spec;
  spec.input = R"({ "fixed" : 1.0 })";
  StatusOr<PayloadBuilder> builder = PayloadBuilder::Create("t1", spec);
  ASSERT_TRUE(builder.ok());
  EXPECT_EQ(*builder->Build(Context()), R"({ "fixed" : 1.0 })");
}

TEST(PayloadBuilderTest, InputPathForms) {
  EXPECT_EQ(WithInputPath("$"), kEvent);
  EXPECT_EQ(WithInputPath("$.detail"), kDetail);
  EXPECT_EQ(WithInputPath("$['detail-type']"), "\"Order Placed\"");
  EXPECT_EQ(WithInputPath("$.detail.order.total"), "12.50");
  EXPECT_EQ(WithInputPath("$.detail.items[1]"), "{\"sku\":\"b\"}");
  EXPECT_EQ(WithInputPath("$.detail['items'][0].sku"), "\"a\"");
  EXPECT_EQ(WithInputPath("$.detail.missing"), "null");
  EXPECT_EQ(WithInputPath("$.resources[5]"), "null");
}

TEST(PayloadBuilderTest, InputPathCompactsWhitespace) {
  TargetInputSpec spec;
  spec.input_path = "$.detail";
  StatusOr<PayloadBuilder> builder = PayloadBuilder::Create("t1", spec);
  ASSERT_TRUE(builder.ok());
  EXPECT_EQ(*builder->Build(Context(R"({"detail": { "a" : [ 1 , "x y" ] }})")),
            R"({"a":[1,"x y"]})");
}

// The project's seed scenario.
TEST(PayloadBuilderTest, SeedScenarioGolden) {
  const std::string out =
      Transform({{"detail", "$.detail"}, {"detail-type", "$.detail-type"}, {"id", "$.id"}},
                R"({"datas": <detail>, "type": <detail-type>, "id": <id>})");
  EXPECT_EQ(out, std::string(R"({"datas": )") + std::string(kDetail) +
                     R"(, "type": "Order Placed", "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718"})");
  EXPECT_TRUE(IsValidJson(out));
}

TEST(PayloadBuilderTest, JsonTemplateUnquotedValuesKeepTypeAndSpelling) {
  EXPECT_EQ(
      Transform(
          {{"total", "$.detail.order.total"},
           {"big", "$.detail.order.big"},
           {"qty", "$.detail.order.qty"},
           {"flag", "$.detail.order.flag"},
           {"nothing", "$.detail.order.nothing"},
           {"tags", "$.detail.order.tags"},
           {"id", "$.detail.order.id"}},
          R"({"t":<total>,"b":<big>,"q":<qty>,"f":<flag>,"n":<nothing>,"g":<tags>,"i":<id>})"),
      R"({"t":12.50,"b":1e3,"q":3,"f":true,"n":null,"g":["x","y"],"i":"o-1"})");
}

TEST(PayloadBuilderTest, JsonTemplateQuotedPlaceholdersAreEscaped) {
  const std::string out = Transform({{"note", "$.detail.order.note"}, {"id", "$.detail.order.id"}},
                                    R"({"msg": "order <id> says: <note>"})");
  EXPECT_EQ(out, R"({"msg": "order o-1 says: say \"hi\"\\ok\nline"})");
  EXPECT_TRUE(IsValidJson(out));
}

TEST(PayloadBuilderTest, JsonTemplateQuotedNonStringsBecomeEscapedJson) {
  EXPECT_EQ(Transform({{"total", "$.detail.order.total"},
                       {"tags", "$.detail.order.tags"},
                       {"item", "$.detail.items[0]"},
                       {"nothing", "$.detail.order.nothing"}},
                      R"({"a": "total=<total>", "b": "<tags>", "c": "<item>", "d": "<nothing>"})"),
            R"({"a": "total=12.50", "b": "[\"x\",\"y\"]", "c": "{\"sku\":\"a\"}", "d": "null"})");
}

TEST(PayloadBuilderTest, JsonTemplateUnicodeKeepsItsEscapes) {
  EXPECT_EQ(Transform({{"uni", "$.detail.order.uni"}}, R"({"u": <uni>, "v": "<uni>!"})"),
            R"({"u": "caf\u00e9 ☕", "v": "caf\u00e9 ☕!"})");
}

TEST(PayloadBuilderTest, JsonTemplateMissingPaths) {
  EXPECT_EQ(Transform({{"m", "$.detail.missing"}}, R"({"a": <m>, "b": "x<m>y", "c": [<m>]})"),
            R"({"a": null, "b": "xy", "c": [null]})");
}

TEST(PayloadBuilderTest, JsonArrayTemplate) {
  EXPECT_EQ(Transform({{"id", "$.id"}, {"skus", "$.detail.items"}}, R"(  [<id>, <skus>, "<id>"])"),
            R"(  ["6a7e8feb-b491-4cf7-a9f1-bf3703467718", [{"sku":"a"},{"sku":"b"}], )"
            R"("6a7e8feb-b491-4cf7-a9f1-bf3703467718"])");
}

TEST(PayloadBuilderTest, JsonTemplateEscapedQuoteDoesNotEndString) {
  // The placeholder after \" is still inside the string literal, so it is escaped, not quoted.
  EXPECT_EQ(Transform({{"s", "$.source"}}, R"({"a": "x \"<s>\" y", "b": <s>})"),
            R"({"a": "x \"shop\" y", "b": "shop"})");
}

TEST(PayloadBuilderTest, StringTemplateIsLiteralSubstitution) {
  EXPECT_EQ(Transform({{"id", "$.detail.order.id"},
                       {"total", "$.detail.order.total"},
                       {"tags", "$.detail.order.tags"},
                       {"note", "$.detail.order.note"},
                       {"uni", "$.detail.order.uni"},
                       {"m", "$.nope"}},
                      "Order <id> total <total> tags <tags> [<m>] <uni> <note>"),
            "Order o-1 total 12.50 tags [\"x\",\"y\"] [] café ☕ say \"hi\"\\ok\nline");
}

TEST(PayloadBuilderTest, StringTemplateWrappedInQuotes) {
  EXPECT_EQ(Transform({{"instance", "$.detail.order.id"}, {"status", "$.source"}},
                      R"("<instance> is in state \"<status>\"")"),
            R"("o-1 is in state \"shop\"")");
}

TEST(PayloadBuilderTest, LessThanThatIsNotAPlaceholderIsLiteral) {
  EXPECT_EQ(Transform({{"q", "$.detail.order.qty"}}, "a < b, <q> <= 4, < x>, <>"),
            "a < b, 3 <= 4, < x>, <>");
}

TEST(PayloadBuilderTest, ReservedVariables) {
  EXPECT_EQ(Transform({}, R"({"arn": <aws.events.rule-arn>, "name": "<aws.events.rule-name>", )"
                          R"("at": <aws.events.event.ingestion-time>})"),
            R"({"arn": "arn:aws:events:us-east-1:000000000000:rule/orders", "name": "orders", )"
            R"("at": "2024-01-02T03:04:05Z"})");
  EXPECT_EQ(
      Transform({}, R"({"e": <aws.events.event>})"),
      R"({"e": {"version":"0","id":"6a7e8feb-b491-4cf7-a9f1-bf3703467718",)"
      R"("detail-type":"Order Placed","source":"shop","account":"000000000000",)"
      R"("time":"2024-01-02T03:04:05Z","region":"us-east-1","resources":["arn:a","arn:b"]}})");
  EXPECT_EQ(Transform({}, R"({"e": <aws.events.event.json>})"),
            std::string(R"({"e": )") + std::string(kEvent) + "}");
  EXPECT_EQ(Transform({}, "rule <aws.events.rule-name> at <aws.events.event.ingestion-time>"),
            "rule orders at 2024-01-02T03:04:05Z");
}

TEST(PayloadBuilderTest, ReservedEventInsideQuotesIsEscapedJson) {
  const std::string out =
      Transform({}, R"({"e": "<aws.events.event.json>"})", R"({"id":"1","detail":{"q":"\""}})");
  EXPECT_EQ(out, R"({"e": "{\"id\":\"1\",\"detail\":{\"q\":\"\\\"\"}}"})");
  EXPECT_TRUE(IsValidJson(out));
}

TEST(PayloadBuilderTest, InvalidJsonOutputIsADeliveryError) {
  // Only an event that is not valid JSON can break a validated template: a malformed number
  // passes through unchanged and the output fails to parse.
  TargetInputSpec spec;
  spec.input_transformer = InputTransformerSpec{{{"v", "$.detail.v"}}, R"({"v": <v>})"};
  StatusOr<PayloadBuilder> builder = PayloadBuilder::Create("t1", spec);
  ASSERT_TRUE(builder.ok());
  StatusOr<std::string> out = builder->Build(Context(R"({"detail":{"v":1-2}})"));
  ASSERT_FALSE(out.ok());
  std::optional<DeliveryError> error = ParseDeliveryError(out.status());
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->code, DeliveryErrorCode::kInvalidJson);
  EXPECT_EQ(DeliveryErrorCodeName(error->code), "INVALID_JSON");
  EXPECT_TRUE(error->message.starts_with("InputTemplate output for target t1 is not valid JSON"))
      << error->message;
}

TEST(PayloadBuilderTest, CopiesShareTheCompiledForm) {
  TargetInputSpec spec;
  spec.input_path = "$.source";
  StatusOr<PayloadBuilder> builder = PayloadBuilder::Create("t1", spec);
  ASSERT_TRUE(builder.ok());
  const PayloadBuilder copy = *builder;
  EXPECT_EQ(*copy.Build(Context()), "\"shop\"");
}

TEST(PayloadBuilderTest, CreateRejectsInvalidSpecs) {
  TargetInputSpec spec;
  spec.input_transformer = InputTransformerSpec{{}, "<nope>"};
  StatusOr<PayloadBuilder> builder = PayloadBuilder::Create("t9", spec);
  ASSERT_FALSE(builder.ok());
  EXPECT_EQ(builder.status().message(),
            "InputTemplate for target t9 contains invalid placeholder nope.");
}

TEST(DeliveryErrorTest, OnlyPrefixedValidationStatusesParse) {
  EXPECT_FALSE(ParseDeliveryError(Status::Validation("plain")).has_value());
  EXPECT_FALSE(ParseDeliveryError(Status::Internal("INVALID_JSON: x")).has_value());
  std::optional<DeliveryError> e =
      ParseDeliveryError(MakeDeliveryError(DeliveryErrorCode::kInvalidParameter, "bad header"));
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->code, DeliveryErrorCode::kInvalidParameter);
  EXPECT_EQ(e->message, "bad header");
}

// ---- Payload cap --------------------------------------------------------------------------

StatusOr<std::string> BuildCapped(std::string tpl, size_t max_bytes, std::string_view event) {
  TargetInputSpec spec;
  spec.input_transformer = InputTransformerSpec{{{"big", "$.detail.big"}}, std::move(tpl)};
  StatusOr<PayloadBuilder> builder = PayloadBuilder::Create("amp", spec);
  EXPECT_TRUE(builder.ok()) << builder.status().message();
  return builder->Build(Context(event), max_bytes);
}

std::string EventWithBigString(size_t n) {
  return R"({"version":"0","id":"i","detail-type":"d","source":"s","account":"0","time":"t",)"
         R"("region":"r","resources":[],"detail":{"big":")" +
         std::string(n, 'a') + "\"}}";
}

TEST(PayloadCapTest, AmplifyingTemplateFailsInvalidParameterAtTheCap) {
  const std::string event = EventWithBigString(10000);
  std::string tpl = "{\"a\":[";
  for (int i = 0; i < 200; ++i) tpl += (i ? ",<big>" : "<big>");  // 200 x 10 KB = 2 MB
  tpl += "]}";
  StatusOr<std::string> out = BuildCapped(tpl, 64 * 1024, event);
  ASSERT_FALSE(out.ok());
  std::optional<DeliveryError> error = ParseDeliveryError(out.status());
  ASSERT_TRUE(error.has_value()) << out.status().message();
  EXPECT_EQ(error->code, DeliveryErrorCode::kInvalidParameter);
  EXPECT_NE(error->message.find("exceeds 65536 bytes"), std::string::npos) << error->message;
  EXPECT_NE(error->message.find("amp"), std::string::npos);
}

TEST(PayloadCapTest, OutputUpToTheCapIsBuilt) {
  const std::string event = EventWithBigString(1000);
  StatusOr<std::string> out = BuildCapped("<big>,<big>", 2001, event);  // literal: 2001 bytes
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(out->size(), 2001u);
  EXPECT_FALSE(BuildCapped("<big>,<big>", 2000, event).ok());
  // The template text itself counts too.
  EXPECT_FALSE(BuildCapped(std::string(3000, 'x'), 2000, event).ok());
}

TEST(PayloadCapTest, WholeEventAndInputPathAreNotCapped) {
  const std::string event = EventWithBigString(5000);
  TargetInputSpec whole;
  StatusOr<PayloadBuilder> b = PayloadBuilder::Create("t", whole);
  ASSERT_TRUE(b.ok());
  EXPECT_TRUE(b->Build(Context(event), 1024).ok());  // bounded by ingest, not amplified
}

}  // namespace
}  // namespace bp::transform
