#include <gtest/gtest.h>

#include "console/assets.h"
#include "console/console_internal.h"
#include "console/redrive.h"

namespace bp::console {
namespace {

queue::PeekedMessage Message(uint64_t seq, int64_t sent_s, std::string code) {
  queue::PeekedMessage m;
  m.seq = seq;
  m.message_id = "m" + std::to_string(seq);
  m.sent_micros = sent_s * 1'000'000;
  m.attributes = {
      {"RULE_ARN", "String", "arn:aws:events:us-east-1:000000000000:rule/orders/to-hook", ""},
      {"TARGET_ARN", "String",
       "arn:aws:events:us-east-1:000000000000:api-destination/hook/0b9d2d3c", ""},
      {"ERROR_CODE", "String", std::move(code), ""}};
  return m;
}

TEST(DeadLetters, ParsesRuleArnsOfBothForms) {
  auto named = ParseRuleArn("arn:aws:events:us-east-1:000000000000:rule/orders/to-hook");
  ASSERT_TRUE(named);
  EXPECT_EQ(named->first, "orders");
  EXPECT_EQ(named->second, "to-hook");
  auto def = ParseRuleArn("arn:aws:events:us-east-1:000000000000:rule/r1");
  ASSERT_TRUE(def);
  EXPECT_EQ(def->first, "default");
  EXPECT_EQ(def->second, "r1");
  EXPECT_FALSE(ParseRuleArn("arn:aws:sqs:us-east-1:000000000000:q"));
}

TEST(DeadLetters, FilterSelectsByOriginTimeIdsAndSeqBound) {
  auto m = Message(5, 1000, "TIMEOUT");
  DeadLetterOrigin o = OriginOf(m);
  EXPECT_EQ(o.destination, "hook");
  EXPECT_EQ(o.bus, "orders");
  EXPECT_EQ(o.rule, "to-hook");
  auto f = DeadLetterFilter::FromQuery("destination=hook&error_code=TIMEOUT&since=999&until=1001");
  ASSERT_TRUE(f.ok());
  EXPECT_TRUE(f->Matches(m, o));
  auto other = Message(6, 1000, "ERROR_FROM_TARGET");
  EXPECT_FALSE(f->Matches(other, OriginOf(other)));
  auto late = DeadLetterFilter::FromQuery("until=1000");
  ASSERT_TRUE(late.ok());
  EXPECT_FALSE(late->Matches(m, o));  // until is exclusive
  auto ids = DeadLetterFilter::FromQuery("message_id=m6&message_id=m7");
  ASSERT_TRUE(ids.ok());
  EXPECT_FALSE(ids->Matches(m, o));
  EXPECT_TRUE(ids->Matches(other, OriginOf(other)));
  DeadLetterFilter bounded;
  bounded.max_seq = 4;
  EXPECT_FALSE(bounded.Matches(m, o));
  EXPECT_FALSE(DeadLetterFilter::FromQuery("since=yesterday").ok());
  EXPECT_FALSE(DeadLetterFilter::FromQuery("colour=red").ok());
}

TEST(DeadLetters, RedriveJobRoundTripsThroughItsStoredForm) {
  RedriveJob j;
  j.id = "r1";
  j.queue = "dlq";
  j.filter.destination = "hook";
  j.filter.max_seq = 42;
  j.rate = 5;
  j.state = "RUNNING";
  j.total = 10;
  j.redriven = 3;
  j.skipped = 1;
  j.cursor = 17;
  auto back = RedriveJob::FromJson(j.ToJson());
  ASSERT_TRUE(back);
  EXPECT_EQ(back->filter.destination, "hook");
  EXPECT_EQ(back->filter.max_seq, 42u);
  EXPECT_EQ(back->rate, 5);
  EXPECT_EQ(back->redriven, 3u);
  EXPECT_EQ(back->cursor, 17u);
  EXPECT_EQ(back->ToJson().at("remaining").as_uint64(), 6u);
}

TEST(ConsoleAssets, IndexAndModulesAreEmbedded) {
  const EmbeddedAsset* index = FindAsset("index.html");
  ASSERT_NE(index, nullptr);
  EXPECT_NE(index->bytes.find("<html"), std::string_view::npos);
  EXPECT_NE(FindAsset("app.js"), nullptr);
  EXPECT_EQ(FindAsset("missing.js"), nullptr);
}

}  // namespace
}  // namespace bp::console
