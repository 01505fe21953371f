#include "ingest/envelope.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <deque>

namespace bp::ingest {
namespace {

namespace json = boost::json;

// Entries are parsed into objects kept until the process exits: an Entry's views point into
// its request object, which must outlive them.
const json::object& J(std::string_view text) {
  static std::deque<json::object> kept;
  kept.push_back(json::parse(text).as_object());
  return kept.back();
}

TEST(EnvelopeTest, BuildsTheEnvelopeInAwsMemberOrder) {
  json::object in = J(R"({"Source":"app.orders","DetailType":"Order \"placed\"",
      "Detail":"{ \"id\" : 1.50 }","Resources":["arn:aws:s3:::b"],"Time":1700000000})");
  Entry e;
  ASSERT_FALSE(DecodeEntry(in, 5, e).has_value());
  EXPECT_EQ(e.time_s, 1700000000);
  EXPECT_EQ(BuildEnvelope(e, "id-1", "111122223333", "eu-west-1"),
            R"({"version":"0","id":"id-1","detail-type":"Order \"placed\"","source":"app.orders",)"
            R"("account":"111122223333","time":"2023-11-14T22:13:20Z","region":"eu-west-1",)"
            R"("resources":["arn:aws:s3:::b"],"detail":{"id":1.50}})");
}

TEST(EnvelopeTest, TimeDefaultsToNowAndAcceptsIso8601) {
  Entry e;
  ASSERT_FALSE(DecodeEntry(J(R"({"Source":"s","DetailType":"t","Detail":"{}"})"), 42, e));
  EXPECT_EQ(e.time_s, 42);
  EXPECT_TRUE(e.resources.empty());
  EXPECT_TRUE(e.bus.empty());
  ASSERT_FALSE(DecodeEntry(J(R"({"Source":"s","DetailType":"t","Detail":"{}",
      "Time":"2026-12-03T10:00:00Z","EventBusName":"orders"})"),
                           42, e));
  EXPECT_EQ(e.time_s, 1796292000);
  EXPECT_EQ(e.bus, "orders");
}

TEST(EnvelopeTest, ReusedEntryDropsThePreviousResources) {
  Entry e;
  ASSERT_FALSE(DecodeEntry(J(R"({"Source":"s","DetailType":"t","Detail":"{}",
      "Resources":["a","b"]})"),
                           0, e));
  EXPECT_EQ(e.resources.size(), 2u);
  ASSERT_FALSE(DecodeEntry(J(R"({"Source":"s","DetailType":"t","Detail":"{}"})"), 0, e));
  EXPECT_TRUE(e.resources.empty());
}

TEST(EnvelopeTest, EachInvalidEntryGetsItsError) {
  struct Case {
    const char* entry;
    const char* code;
    const char* message_part;
  } cases[] = {
      {R"({"DetailType":"t","Detail":"{}"})", "InvalidArgument", "Source is a required"},
      {R"({"Source":"","DetailType":"t","Detail":"{}"})", "InvalidArgument", "Source is a"},
      {R"({"Source":"s","Detail":"{}"})", "InvalidArgument", "DetailType is a required"},
      {R"({"Source":"s","DetailType":"t"})", "InvalidArgument", "Detail is a required"},
      {R"({"Source":1,"DetailType":"t","Detail":"{}"})", "InvalidArgument", "are strings"},
      {R"({"Source":"s","DetailType":"t","Detail":"{}","EventBusName":3})", "InvalidArgument",
       "are strings"},
      {R"({"Source":"s","DetailType":"t","Detail":"[1]"})", "MalformedDetail", "malformed"},
      {R"({"Source":"s","DetailType":"t","Detail":"{\"a\":1,\"a\":2}"})", "MalformedDetail",
       "malformed"},
      {R"({"Source":"s","DetailType":"t","Detail":"{}","Time":"yesterday"})", "InvalidArgument",
       "Time is not valid"},
      {R"({"Source":"s","DetailType":"t","Detail":"{}","Time":1e30})", "InvalidArgument",
       "Time is not valid"},
      {R"({"Source":"s","DetailType":"t","Detail":"{}","Time":18446744073709551615})",
       "InvalidArgument", "Time is not valid"},
      {R"({"Source":"s","DetailType":"t","Detail":"{}","Time":253402300800})", "InvalidArgument",
       "Time is not valid"},
      {R"({"Source":"s","DetailType":"t","Detail":"{}","Resources":"r"})", "InvalidArgument",
       "Resources is not valid"},
      {R"({"Source":"s","DetailType":"t","Detail":"{}","Resources":["a",2]})", "InvalidArgument",
       "Resources is not valid"},
  };
  for (const auto& c : cases) {
    Entry e;
    auto error = DecodeEntry(J(c.entry), 0, e);
    ASSERT_TRUE(error.has_value()) << c.entry;
    EXPECT_EQ(error->code, c.code) << c.entry;
    EXPECT_NE(error->message.find(c.message_part), std::string::npos) << error->message;
  }
  Entry e;
  std::string trace(501, 'x');
  auto error = DecodeEntry(
      J(R"({"Source":"s","DetailType":"t","Detail":"{}","TraceHeader":")" + trace + "\"}"), 0, e);
  ASSERT_TRUE(error.has_value());
  EXPECT_NE(error->message.find("TraceHeader is longer than 500"), std::string::npos);
}

TEST(EnvelopeTest, EscapesWhatJsonNeedsEscaped) {
  Entry e;
  ASSERT_FALSE(
      DecodeEntry(J(R"({"Source":"a\\b\"c\n","DetailType":"\u0001","Detail":"{}"})"), 0, e));
  std::string env = BuildEnvelope(e, "i", "000000000000", "us-east-1");
  json::object o = json::parse(env).as_object();
  EXPECT_EQ(o["source"].as_string(), "a\\b\"c\n");
  EXPECT_EQ(o["detail-type"].as_string(), "\x01");
}

}  // namespace
}  // namespace bp::ingest
