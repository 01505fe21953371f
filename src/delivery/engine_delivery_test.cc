// Delivery engine tests (fixture: engine_test_fixture.h). Delivery: the request an API destination
// gets, and queue and event-bus targets.
#include "delivery/engine_test_fixture.h"

namespace bp::delivery::engine_testing {
namespace {

TEST_F(EngineTest, DeliversTheEventAsConfiguredAndDeletesTheTaskOn2xx) {
  MakeDestination(300);
  TagDestination("bridgeport:delivery-headers", "true");
  MakeRuleAndTarget({});
  StartEngine();
  auto ids = PutEvents(1);
  ASSERT_EQ(ids.size(), 1u);
  ASSERT_TRUE(fake_->WaitForSends(1, milliseconds(10000)));
  auto sent = fake_->Sent();
  const HttpRequest& req = sent[0].request;
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.url, kEndpoint);
  EXPECT_EQ(req.timeout_ms, 5000);
  EXPECT_EQ(HeaderOf(req, "x-api-key"), "sekrit-1");
  EXPECT_EQ(HeaderOf(req, "User-Agent"), "Amazon/EventBridge/ApiDestinations");
  EXPECT_EQ(HeaderOf(req, "Content-Type"), "application/json; charset=utf-8");
  EXPECT_EQ(HeaderOf(req, "Range"), "bytes=0-1048575");
  EXPECT_EQ(HeaderOf(req, "Accept-Encoding"), "gzip,deflate");
  EXPECT_EQ(HeaderOf(req, "X-Bridgeport-Event-Id"), ids[0]);
  EXPECT_EQ(HeaderOf(req, "X-Bridgeport-Attempt"), "1");
  // No Input*: the body is the event envelope, detail number spelling kept.
  auto body = json::parse(req.body).as_object();
  EXPECT_EQ(body["id"].as_string(), ids[0]);
  EXPECT_EQ(body["source"].as_string(), "shop");
  EXPECT_NE(req.body.find("\"detail\":{\"n\":1.50}"), std::string::npos) << req.body;

  ASSERT_TRUE(Eventually([&] { return StoredTasks().empty(); }));
  ASSERT_TRUE(Eventually([&] { return AttemptRecords().size() == 1; }));
  auto rec = AttemptRecords()[0];
  EXPECT_EQ(rec["outcome"].as_string(), "success");
  EXPECT_EQ(rec["event_id"].as_string(), ids[0]);
  EXPECT_EQ(rec["status"].as_int64(), 200);
  EXPECT_EQ(rec["attempt"].as_int64(), 1);
  // The attempt record never holds the API key.
  EXPECT_EQ(json::serialize(rec).find("sekrit-1"), std::string::npos) << json::serialize(rec);
  EXPECT_EQ(Outcomes("success"), 1u);
  EXPECT_EQ(
      Counter("bridgeport_invocation_attempts_total", {{"destination", "d1"}, {"result", "2xx"}}),
      1u);
  EXPECT_EQ(fake_->SendCount(), 1u);
  EXPECT_TRUE(ReceiveDlq().empty());
}

TEST_F(EngineTest, InputTransformerAndHttpParametersShapeTheRequest) {
  MakeDestination(300, "http://127.0.0.1:9/hook/*");
  TargetOptions opts;
  opts.extra = J(R"({
    "InputTransformer":{"InputPathsMap":{"n":"$.detail.n"},"InputTemplate":"{\"value\": <n>}"},
    "HttpParameters":{"PathParameterValues":["p1"],"QueryStringParameters":{"q":"1"},
                      "HeaderParameters":{"X-Custom":"v"}}})");
  MakeRuleAndTarget(opts);
  StartEngine();
  PutEvents(1, R"({"n":7})");
  ASSERT_TRUE(fake_->WaitForSends(1, milliseconds(10000)));
  const HttpRequest req = fake_->Sent()[0].request;
  EXPECT_EQ(req.url, "http://127.0.0.1:9/hook/p1?q=1");
  EXPECT_EQ(HeaderOf(req, "X-Custom"), "v");
  auto body = json::parse(req.body);
  EXPECT_EQ(body.at("value").to_number<int64_t>(), 7) << req.body;
  ASSERT_TRUE(Eventually([&] { return StoredTasks().empty(); }));
}

TEST_F(EngineTest, QueueTargetGetsTheEventWithoutHttp) {
  ASSERT_TRUE(queues_->CreateQueue("out", {}, "http://localhost:4010").ok());
  TargetOptions opts;
  opts.arn = queues_->QueueArn("out");
  MakeDestination(300);
  MakeRuleAndTarget(opts);
  StartEngine();
  auto ids = PutEvents(1);
  std::vector<queue::ReceivedMessage> got;
  ASSERT_TRUE(Eventually([&] {
    for (auto& m : ReceiveDlq("out")) got.push_back(std::move(m));
    return !got.empty();
  }));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(json::parse(got[0].body).at("id").as_string(), ids[0]);
  ASSERT_TRUE(Eventually([&] { return StoredTasks().empty(); }));
  EXPECT_EQ(fake_->SendCount(), 0u);
  EXPECT_EQ(Outcomes("success"), 1u);
}

TEST_F(EngineTest, EventBusTargetReroutesTheEventKeepingItsId) {
  MakeDestination(300);
  ASSERT_TRUE(registry_->CreateEventBus(J(R"({"Name":"second"})")).ok());
  ASSERT_TRUE(registry_
                  ->PutRule(J(R"({"Name":"r2","EventBusName":"second",
                                  "EventPattern":"{\"source\":[\"shop\"]}"})"))
                  .ok());
  json::object to_dest;
  to_dest["Id"] = "t2";
  to_dest["Arn"] = dest_arn_;
  json::object put2;
  put2["Rule"] = "r2";
  put2["EventBusName"] = "second";
  put2["Targets"] = json::array{to_dest};
  ASSERT_TRUE(registry_->PutTargets(put2).ok());
  TargetOptions opts;
  opts.arn = "arn:aws:events:us-east-1:000000000000:event-bus/second";
  opts.dead_letter = false;
  MakeRuleAndTarget(opts);
  StartEngine();

  fake_->Hold(true);
  auto ids = PutEvents(1);
  ASSERT_TRUE(fake_->WaitForSends(1, milliseconds(10000)));
  // While the API attempt is in flight, the only task left is the one on the second bus.
  std::vector<TaskRecord> tasks;
  ASSERT_TRUE(Eventually([&] {
    tasks = StoredTasks();
    return tasks.size() == 1 && tasks[0].bus == "second";
  }));
  EXPECT_EQ(tasks[0].rule, "r2");
  EXPECT_EQ(tasks[0].target_id, "t2");
  EXPECT_EQ(tasks[0].hops, 1);
  EXPECT_EQ(tasks[0].event_id, ids[0]);
  EXPECT_EQ(json::parse(fake_->Sent()[0].request.body).at("id").as_string(), ids[0]);
  fake_->Hold(false);
  fake_->ReleaseHeld();
  ASSERT_TRUE(Eventually([&] { return StoredTasks().empty(); }));
  EXPECT_EQ(fake_->SendCount(), 1u);
}

}  // namespace
}  // namespace bp::delivery::engine_testing
