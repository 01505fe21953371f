// Ingest tests (fixture: ingest_test_fixture.h). What PutEvents accepts: per-entry and
// whole-request errors, size and nesting limits, the envelope written.
#include "ingest/ingest_test_fixture.h"

namespace bp::ingest::ingest_testing {
namespace {

TEST_F(IngestTest, PerEntryErrorsAreIndexAligned) {
  Rule("r1", R"({"source":["shop"]})");
  Target("r1", "a", kQ1);

  json::array entries;
  entries.push_back(Entry());  // 0: ok
  json::object no_source = Entry();
  no_source.erase("Source");
  entries.push_back(no_source);  // 1
  json::object no_type = Entry();
  no_type.erase("DetailType");
  entries.push_back(no_type);  // 2
  json::object no_detail = Entry();
  no_detail.erase("Detail");
  entries.push_back(no_detail);                          // 3
  entries.push_back(Entry("shop", "[1,2]"));             // 4: not an object
  entries.push_back(Entry("shop", R"({"a":1,"a":2})"));  // 5: duplicate keys
  entries.push_back(Entry("shop", R"({"a":)"));          // 6: truncated
  json::object unknown_bus = Entry();
  unknown_bus["EventBusName"] = "nope";
  entries.push_back(unknown_bus);  // 7
  json::object empty_source = Entry();
  empty_source["Source"] = "";
  entries.push_back(empty_source);    // 8
  entries.push_back(Entry("other"));  // 9: ok, matches nothing
  auto reply = PutOk(entries);

  EXPECT_EQ(reply["FailedEntryCount"].as_int64(), 8);
  const auto& out = reply["Entries"].as_array();
  ASSERT_EQ(out.size(), 10u);
  auto code = [&](size_t i) -> std::string {
    const auto& o = out[i].as_object();
    return o.contains("ErrorCode") ? std::string(o.at("ErrorCode").as_string()) : "";
  };
  auto message = [&](size_t i) -> std::string {
    const auto& o = out[i].as_object();
    return o.contains("ErrorMessage") ? std::string(o.at("ErrorMessage").as_string()) : "";
  };
  for (size_t i : {0u, 9u}) {
    EXPECT_EQ(code(i), "") << i;
    ASSERT_TRUE(out[i].as_object().contains("EventId")) << i;
  }
  EXPECT_NE(out[0].at("EventId"), out[9].at("EventId"));
  EXPECT_EQ(code(1), "InvalidArgument");
  EXPECT_EQ(message(1), "Parameter Source is not valid. Reason: Source is a required argument.");
  EXPECT_EQ(code(2), "InvalidArgument");
  EXPECT_EQ(message(2),
            "Parameter DetailType is not valid. Reason: DetailType is a required argument.");
  EXPECT_EQ(code(3), "InvalidArgument");
  EXPECT_EQ(message(3), "Parameter Detail is not valid. Reason: Detail is a required argument.");
  for (size_t i : {4u, 5u, 6u}) {
    EXPECT_EQ(code(i), "MalformedDetail") << i;
    EXPECT_EQ(message(i), "Detail is malformed.") << i;
  }
  EXPECT_EQ(code(7), "ResourceNotFoundException");
  EXPECT_NE(message(7).find("nope"), std::string::npos);
  EXPECT_EQ(code(8), "InvalidArgument");
  for (size_t i = 1; i <= 8; ++i) EXPECT_FALSE(out[i].as_object().contains("EventId")) << i;

  // Only entry 0 produced a task.
  auto stored = StoredTasks();
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0].second.event_id, out[0].at("EventId").as_string());
  EXPECT_EQ(Counter("bridgeport_putevents_entries_failed_total", {{"code", "MalformedDetail"}}),
            3u);
}

TEST_F(IngestTest, DetailNestingLimit) {
  Rule("r1", R"({"source":["shop"]})");
  Target("r1", "a", kQ1);
  auto nested = [](int depth) {
    std::string d = "{\"a\":";
    for (int i = 1; i < depth; ++i) d += "[";
    d += "1";
    for (int i = 1; i < depth; ++i) d += "]";
    return d + "}";
  };
  auto reply = PutOk(json::array{Entry("shop", nested(1000)), Entry("shop", nested(1001))});
  const auto& out = reply["Entries"].as_array();
  EXPECT_TRUE(out[0].as_object().contains("EventId")) << json::serialize(out[0]);
  EXPECT_EQ(out[1].at("ErrorCode").as_string(), "MalformedDetail");
}

TEST_F(IngestTest, WholeRequestErrors) {
  auto missing = Put(J("{}"));
  EXPECT_EQ(missing.status().code(), StatusCode::kValidation);
  auto empty = Put(J(R"({"Entries":[]})"));
  EXPECT_EQ(empty.status().code(), StatusCode::kValidation);
  EXPECT_NE(empty.status().message().find("greater than or equal to 1"), std::string::npos);
  json::array eleven;
  for (int i = 0; i < 11; ++i) eleven.push_back(Entry());
  json::object req;
  req["Entries"] = eleven;
  auto too_many = Put(req);
  EXPECT_EQ(too_many.status().code(), StatusCode::kValidation);
  EXPECT_NE(too_many.status().message().find("less than or equal to 10"), std::string::npos);
  EXPECT_EQ(Put(J(R"({"Entries":{"a":1}})")).status().code(), StatusCode::kSerialization);
  EXPECT_EQ(Put(J(R"({"Entries":[1]})")).status().code(), StatusCode::kSerialization);
  EXPECT_EQ(store_->async_writes(), 0u);
}

TEST_F(IngestTest, TotalSizeLimitIsOneMiB) {
  Rule("r1", R"({"source":["s"]})");
  Target("r1", "a", kQ1);
  constexpr size_t kLimit = 1024 * 1024;
  // Source (1) + DetailType (1) + Detail + Resources (5) + 14 for Time, as AWS counts.
  auto entry = [](size_t total) {
    json::object e;
    e["Source"] = "s";
    e["DetailType"] = "t";
    e["Resources"] = json::array{"arn:r"};
    e["Time"] = "2024-01-02T03:04:05Z";
    size_t detail_len = total - 1 - 1 - 5 - 14;
    std::string detail = "{\"k\":\"" + std::string(detail_len - 8, 'x') + "\"}";
    EXPECT_EQ(detail.size(), detail_len);
    e["Detail"] = detail;
    return e;
  };
  json::object over;
  over["Entries"] = json::array{entry(kLimit + 1)};
  auto r = Put(over);
  EXPECT_EQ(r.status().code(), StatusCode::kValidation);
  EXPECT_EQ(r.status().message(), "Total size of the entries in the request is over the limit.");
  // The sum counts over all entries.
  json::object split;
  split["Entries"] = json::array{entry(kLimit / 2), entry(kLimit / 2 + 1)};
  EXPECT_EQ(Put(split).status().code(), StatusCode::kValidation);

  auto ok = PutOk(json::array{entry(kLimit)});
  EXPECT_EQ(ok["FailedEntryCount"].as_int64(), 0) << json::serialize(ok);
  EXPECT_EQ(StoredTasks().size(), 1u);
}

TEST_F(IngestTest, EnvelopeFieldOrderAndCompactDetail) {
  MakeIngest({.region = "eu-west-1", .account = "123456789012"});
  Rule("r1", R"({"source":["shop"]})");
  Target("r1", "a", kQ1);
  json::object e;
  e["Source"] = "shop";
  e["DetailType"] = "Order \"Placed\"";
  e["Detail"] = " {\n \"b\" : 1.50 ,\t\"a\" : [ 1e3 , -0 ], \"s\" : \"\\u00e9 x\" } ";
  e["Time"] = "2024-01-02T03:04:05Z";
  e["Resources"] = json::array{"arn:x", "arn:y"};
  json::object defaults = Entry("shop", "{}");
  auto reply = PutOk(json::array{e, defaults});
  ASSERT_EQ(reply["FailedEntryCount"].as_int64(), 0) << json::serialize(reply);
  std::string id0(reply["Entries"].as_array()[0].at("EventId").as_string());
  std::string id1(reply["Entries"].as_array()[1].at("EventId").as_string());
  EXPECT_TRUE(std::regex_match(
      id0, std::regex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")))
      << id0;

  std::map<std::string, std::string> by_id;
  for (auto& [seq, task] : StoredTasks()) by_id[task.event_id] = task.event_json;
  ASSERT_EQ(by_id.size(), 2u);
  EXPECT_EQ(by_id[id0], "{\"version\":\"0\",\"id\":\"" + id0 +
                            "\",\"detail-type\":\"Order \\\"Placed\\\"\",\"source\":\"shop\","
                            "\"account\":\"123456789012\",\"time\":\"2024-01-02T03:04:05Z\","
                            "\"region\":\"eu-west-1\",\"resources\":[\"arn:x\",\"arn:y\"],"
                            "\"detail\":{\"b\":1.50,\"a\":[1e3,-0],\"s\":\"\\u00e9 x\"}}");
  // Defaults: time is now (whole seconds, UTC), resources empty.
  EXPECT_EQ(by_id[id1], "{\"version\":\"0\",\"id\":\"" + id1 +
                            "\",\"detail-type\":\"Order Placed\",\"source\":\"shop\","
                            "\"account\":\"123456789012\",\"time\":\"" +
                            FormatIso8601(clock_.NowSeconds()) +
                            "\",\"region\":\"eu-west-1\",\"resources\":[],\"detail\":{}}");
  // The envelope is valid JSON.
  auto parsed = json::parse(by_id[id0]).as_object();
  EXPECT_EQ(parsed["detail-type"].as_string(), "Order \"Placed\"");
}

}  // namespace
}  // namespace bp::ingest::ingest_testing
