#include <gtest/gtest.h>

#include "model/arn.h"
#include "model/arn_patterns.h"
#include "model/validation.h"

namespace bp::model {
namespace {

TEST(ValidatorTest, AwsMessageFormat) {
  Validator v;
  v.Name("name", "bad name", 64);
  Status s = v.Finish();
  EXPECT_EQ(s.code(), StatusCode::kValidation);
  EXPECT_EQ(s.message(),
            "1 validation error detected: Value 'bad name' at 'name' failed to satisfy constraint: "
            "Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+");
  Validator two;
  two.Name("name", std::string(65, 'a'), 64);
  two.Range("limit", 0, 1, 100);
  EXPECT_EQ(two.Finish().message().substr(0, 29), "2 validation errors detected:");
}

TEST(ArnTest, FormatsAndParses) {
  Partition p{"us-east-1", "000000000000"};
  EXPECT_EQ(RuleArn(p, "default", "r"), "arn:aws:events:us-east-1:000000000000:rule/r");
  EXPECT_EQ(RuleArn(p, "b", "r"), "arn:aws:events:us-east-1:000000000000:rule/b/r");
  auto parsed = ParseArn("arn:aws:events:us-east-1:000000000000:event-bus/orders");
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->type, "event-bus");
  EXPECT_EQ(parsed->rest, "orders");
  EXPECT_EQ(*BusNameFromNameOrArn("orders"), "orders");
  EXPECT_EQ(*BusNameFromNameOrArn("arn:aws:events:us-east-1:000000000000:event-bus/orders"),
            "orders");
  EXPECT_FALSE(BusNameFromNameOrArn("arn:aws:sqs:us-east-1:000000000000:q"));
  auto q = ParseArn("arn:aws:sqs:us-east-1:000000000000:q1");
  ASSERT_TRUE(q);
  EXPECT_EQ(q->service, "sqs");
  EXPECT_EQ(q->type, "q1");
}

TEST(ArnPatternTest, EventBusNameOrArn) {
  for (const char* ok :
       {"default", "a/b", "orders.v1", "arn:aws:events:us-east-1:000000000000:event-bus/x",
        "arn:aws-cn:events:cn-north-1:123456789012:event-bus/a/b",
        "arn:aws:events:us-gov-west-1:123456789012:event-bus/x"}) {
    EXPECT_TRUE(IsEventBusNameOrArn(ok)) << ok;
  }
  for (const char* bad : {"", "a b", "arn:aws:events:us-east-1:123:event-bus/x",
                          "arn:aws:events:useast1:000000000000:event-bus/x",
                          "arn:aws:sqs:us-east-1:000000000000:event-bus/x",
                          "arn:aws:events:us-east-1:000000000000:rule/x",
                          "arn:aws:events:us-east-1:000000000000:event-bus/"}) {
    EXPECT_FALSE(IsEventBusNameOrArn(bad)) << bad;
  }
}

TEST(ArnPatternTest, ConnectionArn) {
  EXPECT_TRUE(IsConnectionArn("arn:aws:events:us-east-1:000000000000:connection/c/0a-b"));
  EXPECT_TRUE(IsConnectionArn("arn:aws:events::000000000000:connection/c.1/x"));
  EXPECT_TRUE(IsConnectionArn("arn:aws:events:us-east-1::connection/c/x"));
  EXPECT_FALSE(IsConnectionArn("arn:aws:events:us-east-1:1:connection/c/x"));
  EXPECT_FALSE(IsConnectionArn("arn:aws:events:us-east-1:000000000000:connection/c"));
  EXPECT_FALSE(IsConnectionArn("arn:aws:events:us-east-1:000000000000:connection/c/x_y"));
  EXPECT_FALSE(IsConnectionArn("connection/c/x"));
}

}  // namespace
}  // namespace bp::model
