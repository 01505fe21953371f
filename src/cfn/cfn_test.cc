#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "cfn/cfn_query.h"
#include "cfn/intrinsics.h"
#include "cfn/template_parser.h"

namespace bp::cfn {
namespace {

namespace json = boost::json;

TEST(TemplateParser, YamlShortFormsBecomeLongForms) {
  auto t = ParseTemplateBody(R"(
Resources:
  Bus:
    Type: AWS::Events::EventBus
    Properties:
      Name: !Sub "${AWS::StackName}-bus"
      Arn: !GetAtt Other.Arn
      Ref: !Ref Param
      List: !Split [",", "a,b"]
      Cond: !If [IsProd, !Ref AWS::NoValue, "x"]
      Num: 5
      Quoted: "5"
      Flag: true
)");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  const json::object& p = t->at("Resources").at("Bus").at("Properties").as_object();
  EXPECT_EQ(p.at("Name"), json::parse(R"({"Fn::Sub":"${AWS::StackName}-bus"})"));
  EXPECT_EQ(p.at("Arn"), json::parse(R"({"Fn::GetAtt":["Other","Arn"]})"));
  EXPECT_EQ(p.at("Ref"), json::parse(R"({"Ref":"Param"})"));
  EXPECT_EQ(p.at("List"), json::parse(R"({"Fn::Split":[",","a,b"]})"));
  EXPECT_EQ(p.at("Cond"), json::parse(R"({"Fn::If":["IsProd",{"Ref":"AWS::NoValue"},"x"]})"));
  EXPECT_EQ(p.at("Num"), json::value(5));
  EXPECT_EQ(p.at("Quoted"), json::value("5"));
  EXPECT_EQ(p.at("Flag"), json::value(true));
  EXPECT_TRUE(CheckTemplateShape(*t).ok());
}

TEST(TemplateParser, ShapeErrorsAreTemplateFormatErrors) {
  auto t = ParseTemplateBody(R"({"Resources": {}})");
  ASSERT_TRUE(t.ok());
  Status s = CheckTemplateShape(*t);
  EXPECT_EQ(s.code(), StatusCode::kValidation);
  EXPECT_NE(s.message().find("Template format error"), std::string::npos);
  EXPECT_FALSE(ParseTemplateBody("{not json").ok());
}

EvalContext TestContext() {
  EvalContext ctx;
  ctx.region = "us-east-1";
  ctx.parameters["Env"] = json::string("prod");
  ctx.pseudo["AWS::Region"] = json::string("us-east-1");
  ctx.conditions["IsProd"] = true;
  ctx.mappings = json::parse(R"({"M":{"prod":{"Rate":"5"}}})").as_object();
  ctx.resource_ref = [](const std::string& l) -> StatusOr<json::value> {
    return json::value(json::string("phys-" + l));
  };
  ctx.get_att = [](const std::string& l, const std::string& a) -> StatusOr<json::value> {
    return json::value(json::string(l + "." + a));
  };
  return ctx;
}

json::value EvalText(std::string_view text) {
  EvalContext ctx = TestContext();
  auto v = Evaluator(ctx).Eval(json::parse(text));
  EXPECT_TRUE(v.ok()) << v.status().ToString();
  return v.ok() && *v ? **v : json::value();
}

TEST(Intrinsics, EvaluatesTheFunctionsCdkEmits) {
  EXPECT_EQ(EvalText(R"({"Fn::Join":["",["a",{"Ref":"Env"},"-",{"Fn::GetAtt":["Q","Arn"]}]]})"),
            json::value("aprod-Q.Arn"));
  EXPECT_EQ(EvalText(R"({"Fn::Sub":"${AWS::Region}/${Env}/${Q.Arn}/${!Literal}"})"),
            json::value("us-east-1/prod/Q.Arn/${Literal}"));
  EXPECT_EQ(EvalText(R"({"Fn::Select":[1,{"Fn::Split":[",","a,b,c"]}]})"), json::value("b"));
  EXPECT_EQ(EvalText(R"({"Fn::FindInMap":["M",{"Ref":"Env"},"Rate"]})"), json::value("5"));
  EXPECT_EQ(EvalText(R"({"Fn::Base64":"hi"})"), json::value("aGk="));
  EXPECT_EQ(EvalText(R"({"Fn::If":["IsProd","yes","no"]})"), json::value("yes"));
  EXPECT_EQ(EvalText(R"({"a":{"Ref":"AWS::NoValue"},"b":1})"), json::parse(R"({"b":1})"));
  EXPECT_EQ(EvalText(R"({"Fn::GetAZs":""})"),
            json::parse(R"(["us-east-1a","us-east-1b","us-east-1c"])"));
  EXPECT_EQ(EvalText(R"({"Ref":"Res"})"), json::value("phys-Res"));
}

TEST(Intrinsics, ConditionsAndCdkBootstrapRule) {
  EvalContext ctx = TestContext();
  ctx.parameters["BootstrapVersion"] = json::string("21");
  Evaluator ev(ctx);
  auto rule = ev.Condition(json::parse(
      R"({"Fn::Not":[{"Fn::Contains":[["1","2","3","4","5"],{"Ref":"BootstrapVersion"}]}]})"));
  ASSERT_TRUE(rule.ok());
  EXPECT_TRUE(*rule);
  auto conds = EvaluateConditions(
      json::parse(
          R"({"A":{"Fn::Equals":[{"Ref":"Env"},"prod"]},"B":{"Fn::And":[{"Condition":"A"},{"Fn::Not":[{"Condition":"A"}]}]}})")
          .as_object(),
      ctx);
  ASSERT_TRUE(conds.ok()) << conds.status().ToString();
  EXPECT_TRUE(conds->at("A"));
  EXPECT_FALSE(conds->at("B"));
}

TEST(Intrinsics, DynamicReferencesAndReferenceCollection) {
  json::value v = json::parse(
      R"({"k":"pre-{{resolve:secretsmanager:arn:aws:secretsmanager:us-east-1:0:secret:x-AbCdEf:SecretString:key::}}-post"})");
  std::string seen;
  Status s = ResolveDynamicReferences(v, [&](std::string_view svc, std::string_view ref) {
    seen = std::string(svc) + "|" + std::string(ref);
    return StatusOr<std::string>(std::string("VALUE"));
  });
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(v.at("k"), json::value("pre-VALUE-post"));
  EXPECT_EQ(seen,
            "secretsmanager|arn:aws:secretsmanager:us-east-1:0:secret:x-AbCdEf:SecretString:key::");
  std::set<std::string> refs;
  CollectReferences(
      json::parse(
          R"({"a":{"Ref":"X"},"b":{"Fn::GetAtt":["Y","Arn"]},"c":{"Fn::Sub":"${Z.Arn}${!No}"}})"),
      refs);
  EXPECT_EQ(refs, (std::set<std::string>{"X", "Y", "Z"}));
}

TEST(Query, MemberListsAndXml) {
  auto in = QueryParamsToInput({{"Action", "CreateStack"},
                                {"StackName", "s"},
                                {"Parameters.member.2.ParameterKey", "B"},
                                {"Parameters.member.1.ParameterKey", "A"},
                                {"Parameters.member.1.ParameterValue", "1"},
                                {"Capabilities.member.1", "CAPABILITY_IAM"}});
  EXPECT_EQ(in.at("StackName"), json::value("s"));
  EXPECT_EQ(in.at("Parameters").as_array().size(), 2u);
  EXPECT_EQ(in.at("Parameters").as_array()[0].at("ParameterKey"), json::value("A"));
  EXPECT_EQ(in.at("Capabilities"), json::parse(R"(["CAPABILITY_IAM"])"));
  std::string xml = OutputToXml(
      "DescribeStacks", json::parse(R"({"Stacks":[{"StackName":"a<b","Outputs":[]}]})").as_object(),
      "rid");
  EXPECT_NE(xml.find("<DescribeStacksResult><Stacks><member><StackName>a&lt;b</StackName>"
                     "<Outputs></Outputs></member></Stacks></DescribeStacksResult>"),
            std::string::npos);
}

TEST(Query, AcceptsOnlyCloudFormationRequests) {
  http::Request cfn;
  cfn.method = "POST";
  cfn.target = "/";
  cfn.headers = {{"content-type", "application/x-www-form-urlencoded"}};
  cfn.body = "Action=DescribeStacks&Version=2010-05-15";
  EXPECT_TRUE(CfnQueryApi::Accepts(cfn));
  http::Request sqs = cfn;
  sqs.body = "Action=ListQueues&Version=2012-11-05";
  EXPECT_FALSE(CfnQueryApi::Accepts(sqs));
  http::Request signed_sqs = cfn;
  signed_sqs.headers.push_back(
      {"authorization",
       "AWS4-HMAC-SHA256 Credential=AK/20260101/us-east-1/sqs/aws4_request, SignedHeaders=host, "
       "Signature=00"});
  EXPECT_FALSE(CfnQueryApi::Accepts(signed_sqs));
}

}  // namespace
}  // namespace bp::cfn
