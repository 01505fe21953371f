// PutTargets-time validation messages.
#include <gtest/gtest.h>

#include "transform/transform.h"

namespace bp::transform {
namespace {

Status ValidateTransformer(std::vector<std::pair<std::string, std::string>> paths,
                           std::string tpl) {
  TargetInputSpec spec;
  spec.input_transformer = InputTransformerSpec{std::move(paths), std::move(tpl)};
  return ValidateTargetInput("t1", spec, 2);
}

// prefix + n copies of c + suffix (avoids GCC 12's -Wrestrict false positive on literal + string).
std::string Text(std::string_view prefix, size_t n, char c, std::string_view suffix = "") {
  std::string s(prefix);
  s.append(n, c);
  s.append(suffix);
  return s;
}

void ExpectValidation(const Status& status, std::string_view message) {
  EXPECT_EQ(status.code(), StatusCode::kValidation);
  EXPECT_EQ(status.message(), message);
}

void ExpectValidationPrefix(const Status& status, std::string_view prefix) {
  EXPECT_EQ(status.code(), StatusCode::kValidation);
  EXPECT_TRUE(status.message().starts_with(prefix)) << status.message();
}

TEST(ValidateTargetInputTest, AcceptsEachFormAlone) {
  EXPECT_TRUE(ValidateTargetInput("t", TargetInputSpec{}).ok());
  TargetInputSpec input;
  input.input = "{\"a\":1}";
  EXPECT_TRUE(ValidateTargetInput("t", input).ok());
  TargetInputSpec path;
  path.input_path = "$.detail";
  EXPECT_TRUE(ValidateTargetInput("t", path).ok());
  EXPECT_TRUE(ValidateTransformer({{"a-b_C9", "$.detail.x[0]"}}, "<a-b_C9>").ok());
}

TEST(ValidateTargetInputTest, MoreThanOneForm) {
  TargetInputSpec spec;
  spec.input = "{}";
  spec.input_path = "$";
  ExpectValidation(ValidateTargetInput("my-target", spec),
                   "Only one of Input, InputPath, or InputTransformer must be provided for "
                   "target my-target.");
  TargetInputSpec spec2;
  spec2.input_path = "$";
  spec2.input_transformer = InputTransformerSpec{{}, "x"};
  EXPECT_FALSE(ValidateTargetInput("t", spec2).ok());
}

TEST(ValidateTargetInputTest, Input) {
  TargetInputSpec spec;
  spec.input = "{not json}";
  ExpectValidationPrefix(ValidateTargetInput("t1", spec),
                         "Input for target t1 is not valid JSON text");
  spec.input = "";
  EXPECT_FALSE(ValidateTargetInput("t1", spec).ok());
  spec.input = Text("\"", 8190, 'a', "\"");  // exactly 8192
  EXPECT_TRUE(ValidateTargetInput("t1", spec).ok());
  spec.input = Text("\"", 8191, 'a', "\"");
  ExpectValidationPrefix(ValidateTargetInput("t1", spec, 3),
                         "1 validation error detected: Value '\"aaaa");
  EXPECT_NE(ValidateTargetInput("t1", spec, 3)
                .message()
                .find("' at 'targets.3.member.input' failed to satisfy constraint: Member must "
                      "have length less than or equal to 8192"),
            std::string::npos);
}

TEST(ValidateTargetInputTest, InputPath) {
  TargetInputSpec spec;
  spec.input_path = Text("$.", 254, 'a');  // 256
  EXPECT_TRUE(ValidateTargetInput("t1", spec).ok());
  spec.input_path = Text("$.", 255, 'a');
  ExpectValidationPrefix(ValidateTargetInput("t1", spec),
                         "1 validation error detected: Value '$.aaa");
  spec.input_path = "detail";
  ExpectValidationPrefix(ValidateTargetInput("t1", spec),
                         "Invalid InputPath for target t1 : detail is not a valid JSON path (");
  spec.input_path = "$.detail[*]";
  EXPECT_FALSE(ValidateTargetInput("t1", spec).ok());
}

TEST(ValidateTargetInputTest, InputPathsMap) {
  std::vector<std::pair<std::string, std::string>> many;
  for (int i = 0; i < 101; ++i)
    many.emplace_back(std::string("k").append(std::to_string(i)), "$.a");
  ExpectValidation(ValidateTransformer(many, "x"),
                   "1 validation error detected: Value '101 entries' at "
                   "'targets.2.member.inputTransformer.inputPathsMap' failed to satisfy "
                   "constraint: Member must have length less than or equal to 100");
  many.pop_back();
  EXPECT_TRUE(ValidateTransformer(many, "x").ok());

  for (const char* key : {"a.b", "aws.events.x", "", "sp ace", "é"}) {
    ExpectValidationPrefix(ValidateTransformer({{key, "$.a"}}, "x"),
                           "1 validation error detected: Value '" + std::string(key) +
                               "' at 'targets.2.member.inputTransformer.inputPathsMap' failed to "
                               "satisfy constraint: Map keys must satisfy constraint");
  }
  ExpectValidation(ValidateTransformer({{"a", "$.x"}, {"a", "$.y"}}, "<a>"),
                   "InputPathsMap for target t1 contains duplicate key a.");
  ExpectValidationPrefix(ValidateTransformer({{"a", "detail.x"}}, "<a>"),
                         "Invalid InputPathsMap for target t1 : value detail.x of key a is not a "
                         "valid JSON path (");
  ExpectValidationPrefix(ValidateTransformer({{"a", Text("$.", 300, 'x')}}, "<a>"),
                         "1 validation error detected: Value '$.xxx");
}

TEST(ValidateTargetInputTest, InputTemplate) {
  ExpectValidation(ValidateTransformer({{"a", "$.a"}}, "<a> and <b>"),
                   "InputTemplate for target t1 contains invalid placeholder b.");
  ExpectValidation(ValidateTransformer({}, "{\"x\": <aws.events.rule>}"),
                   "InputTemplate for target t1 contains invalid placeholder aws.events.rule.");
  EXPECT_TRUE(ValidateTransformer({},
                                  "<aws.events.rule-arn> <aws.events.rule-name> "
                                  "<aws.events.event.ingestion-time> <aws.events.event> "
                                  "<aws.events.event.json>")
                  .ok());
  ExpectValidationPrefix(ValidateTransformer({}, ""),
                         "1 validation error detected: Value '' at "
                         "'targets.2.member.inputTransformer.inputTemplate' failed to satisfy "
                         "constraint: Member must have length greater than or equal to 1");
  EXPECT_TRUE(ValidateTransformer({}, Text("\"", 8190, 'a', "\"")).ok());
  EXPECT_FALSE(ValidateTransformer({}, std::string(8193, 'a')).ok());
}

TEST(ValidateTargetInputTest, JsonTemplatesMustBeJsonAroundPlaceholders) {
  EXPECT_TRUE(ValidateTransformer({{"k", "$.a"}}, R"({"a": <k>, "b": "<k>", "<k>": [<k>]})").ok());
  // A placeholder as an (unquoted) object key.
  ExpectValidationPrefix(ValidateTransformer({{"k", "$.a"}}, R"({<k>: 1})"),
                         "Invalid InputTemplate for target t1 : ");
  EXPECT_FALSE(ValidateTransformer({{"k", "$.a"}}, R"({"a": <k>,})").ok());
  EXPECT_FALSE(ValidateTransformer({{"k", "$.a"}}, R"({"a": <k> <k>})").ok());
  EXPECT_FALSE(ValidateTransformer({}, R"([1, 2)").ok());
  // Not a JSON template (first byte is not { or [): anything goes.
  EXPECT_TRUE(ValidateTransformer({{"k", "$.a"}}, R"(x {<k>: 1})").ok());
}

TEST(ValidateHttpParametersTest, AcceptsTypicalParameters) {
  HttpParametersSpec spec;
  spec.path_parameter_values = {"orders", "$.detail.id"};
  spec.header_parameters = {{"X-Tenant", "acme"}, {"X-Id", "$.id"}, {"X-Tab", "a\tb"}};
  spec.query_string_parameters = {{"q", "a b&c"}, {"src", "$['detail-type']"}};
  EXPECT_TRUE(ValidateHttpParameters("t1", spec).ok());
}

TEST(ValidateHttpParametersTest, RejectsBadHeaders) {
  HttpParametersSpec spec;
  spec.header_parameters = {{"Bad Name", "v"}};
  ExpectValidationPrefix(ValidateHttpParameters("t1", spec, 4),
                         "1 validation error detected: Value 'Bad Name' at "
                         "'targets.4.member.httpParameters.headerParameters' failed to satisfy "
                         "constraint: Map keys must satisfy constraint");
  spec.header_parameters = {{"X-A", "line1\r\nX-Injected: 1"}};
  ExpectValidationPrefix(ValidateHttpParameters("t1", spec),
                         "1 validation error detected: Value 'line1\r\nX-Injected: 1' at "
                         "'targets.1.member.httpParameters.headerParameters' failed to satisfy "
                         "constraint: Map value must satisfy constraint");
  spec.header_parameters = {{"X-A", std::string(513, 'v')}};
  EXPECT_FALSE(ValidateHttpParameters("t1", spec).ok());
  spec.header_parameters = {{"X-A", std::string(512, 'v')}};
  EXPECT_TRUE(ValidateHttpParameters("t1", spec).ok());
  spec.header_parameters = {{"X-A", "$.detail[*]"}};
  ExpectValidationPrefix(ValidateHttpParameters("t1", spec),
                         "Invalid HttpParameters for target t1 : $.detail[*] is not a valid JSON "
                         "path (");
}

TEST(ValidateHttpParametersTest, RejectsBadPathAndQueryValues) {
  HttpParametersSpec spec;
  spec.path_parameter_values = {"  "};
  ExpectValidationPrefix(ValidateHttpParameters("t1", spec),
                         "1 validation error detected: Value '  ' at "
                         "'targets.1.member.httpParameters.pathParameterValues'");
  spec.path_parameter_values = {"$.a..b"};
  EXPECT_FALSE(ValidateHttpParameters("t1", spec).ok());
  spec.path_parameter_values = {};
  spec.query_string_parameters = {{std::string("k\x01", 2), "v"}};
  EXPECT_FALSE(ValidateHttpParameters("t1", spec).ok());
  spec.query_string_parameters = {{"k", std::string("v\x02", 2)}};
  EXPECT_FALSE(ValidateHttpParameters("t1", spec).ok());
  spec.query_string_parameters = {{"k", ""}};
  EXPECT_FALSE(ValidateHttpParameters("t1", spec).ok());
}

TEST(ValidateHttpParametersTest, EntryCounts) {
  HttpParametersSpec spec;
  for (int i = 0; i < 512; ++i)
    spec.query_string_parameters.emplace_back(std::string("k").append(std::to_string(i)), "v");
  EXPECT_TRUE(ValidateHttpParameters("t1", spec).ok());
  spec.query_string_parameters.emplace_back("one-more", "v");
  ExpectValidationPrefix(ValidateHttpParameters("t1", spec),
                         "1 validation error detected: Value '513 entries'");
}

}  // namespace
}  // namespace bp::transform
