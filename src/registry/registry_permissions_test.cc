// Policy evaluation for PutEvents from other accounts (registry_permissions.cc).
#include <gtest/gtest.h>

#include "registry/routing.h"

namespace bp::registry {
namespace {

constexpr const char* kBus = "arn:aws:events:us-east-1:000000000000:event-bus/default";

std::string Policy(std::string_view statements) {
  return R"({"Version":"2012-10-17","Statement":[)" + std::string(statements) + "]}";
}

TEST(PolicyTest, AccountPrincipal) {
  std::string p = Policy(R"({"Sid":"a","Effect":"Allow","Principal":{"AWS":
      "arn:aws:iam::111122223333:root"},"Action":"events:PutEvents","Resource":")" +
                         std::string(kBus) + R"("})");
  EXPECT_TRUE(PolicyAllowsPutEvents(p, kBus, "111122223333", ""));
  EXPECT_FALSE(PolicyAllowsPutEvents(p, kBus, "444455556666", ""));
  EXPECT_FALSE(PolicyAllowsPutEvents(p, "arn:aws:events:us-east-1:000000000000:event-bus/other",
                                     "111122223333", ""));
  EXPECT_FALSE(PolicyAllowsPutEvents("", kBus, "111122223333", ""));
  EXPECT_FALSE(PolicyAllowsPutEvents("not json", kBus, "111122223333", ""));
}

TEST(PolicyTest, OrganizationConditionAndDeny) {
  std::string allow = R"({"Effect":"Allow","Principal":"*","Action":"events:PutEvents",
      "Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-1"}}})";
  EXPECT_TRUE(PolicyAllowsPutEvents(Policy(allow), kBus, "111122223333", "o-1"));
  EXPECT_FALSE(PolicyAllowsPutEvents(Policy(allow), kBus, "111122223333", "o-2"));
  EXPECT_FALSE(PolicyAllowsPutEvents(Policy(allow), kBus, "111122223333", ""));
  std::string deny = R"({"Effect":"Deny","Principal":{"AWS":["111122223333"]},
      "Action":["events:*"]})";
  EXPECT_FALSE(PolicyAllowsPutEvents(Policy(allow + "," + deny), kBus, "111122223333", "o-1"));
  std::string other_condition = R"({"Effect":"Allow","Principal":"*","Action":"*",
      "Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}})";
  EXPECT_FALSE(PolicyAllowsPutEvents(Policy(other_condition), kBus, "111122223333", "o-1"));
}

}  // namespace
}  // namespace bp::registry
