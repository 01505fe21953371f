// Delivery engine tests (fixture: engine_test_fixture.h). Lifecycle: removed targets, and what a
// restart recovers from the store.
#include "delivery/engine_test_fixture.h"

namespace bp::delivery::engine_testing {
namespace {

TEST_F(EngineTest, RemovedTargetCancelsThePendingTask) {
  TargetOptions opts;
  opts.max_retries = 5;
  SetUpDestination(300, opts);
  fake_->RespondWith(500);
  PutEvents(1);
  ASSERT_TRUE(Eventually([&] {
    auto t = StoredTasks();
    return t.size() == 1 && t[0].retries == 1;
  }));
  ASSERT_TRUE(registry_->RemoveTargets(J(R"({"Rule":"r1","Ids":["t1"]})")).ok());
  Advance(kSecondUs);
  ASSERT_TRUE(Eventually([&] { return Outcomes("cancelled") == 1; }));
  ASSERT_TRUE(Eventually([&] { return StoredTasks().empty(); }));
  EXPECT_EQ(fake_->SendCount(), 1u);
  EXPECT_TRUE(ReceiveDlq().empty());
}

TEST_F(EngineTest, RestartRecoversInFlightTasksAndDeliversThem) {
  SetUpDestination(300, {});
  fake_->Hold(true);
  auto ids = PutEvents(3);
  ASSERT_TRUE(fake_->WaitForSends(3, milliseconds(10000)));
  // The engine stops with three attempts in flight; nothing was recorded as done.
  StopEngine();
  ASSERT_EQ(StoredTasks().size(), 3u);

  fake_->Hold(false);
  StartEngine(/*wait_window=*/true);
  // A restarted engine starts nothing for one second: the limiter's earlier window is unknown.
  EXPECT_TRUE(StaysAt(3));
  Advance(kSecondUs);
  ASSERT_TRUE(fake_->WaitForSends(6, milliseconds(10000)));
  ASSERT_TRUE(Eventually([&] { return StoredTasks().empty(); }));
  std::set<std::string> redelivered;
  auto sent = fake_->Sent();
  for (size_t i = 3; i < sent.size(); ++i) {
    redelivered.insert(std::string(json::parse(sent[i].request.body).at("id").as_string()));
  }
  EXPECT_EQ(redelivered, std::set<std::string>(ids.begin(), ids.end()));
  EXPECT_EQ(fake_->SendCount(), 6u);
  // Sequence numbers keep increasing after recovery.
  auto more = PutEvents(1);
  ASSERT_TRUE(fake_->WaitForSends(7, milliseconds(10000)));
  ASSERT_TRUE(Eventually([&] { return StoredTasks().empty(); }));
}

TEST_F(EngineTest, RestartKeepsRetryStateAndDueTime) {
  TargetOptions opts;
  opts.max_retries = 5;
  MakeDestination(300);
  TagDestination("bridgeport:backoff-base-ms", "10000");  // retry 1 after 5-10 s
  TagDestination("bridgeport:delivery-headers", "true");
  MakeRuleAndTarget(opts);
  StartEngine();
  fake_->SetScript([](const HttpRequest& req, size_t i) {
    return FakeHttpClient::Response(req, i == 0 ? 502 : 200);
  });
  int64_t t0_ms = clock_.NowMillis();
  PutEvents(1);
  std::vector<TaskRecord> tasks;
  ASSERT_TRUE(Eventually([&] {
    tasks = StoredTasks();
    return tasks.size() == 1 && tasks[0].retries == 1;
  }));
  EXPECT_GE(tasks[0].due_ms, t0_ms + 5000);
  StopEngine();
  StartEngine();  // moves the clock 1 s: still before the due time
  // Recovered as scheduled, not ready: nothing goes out before the due time.
  EXPECT_TRUE(StaysAt(1));
  clock_.SetMicros(tasks[0].due_ms * 1000 - 1000);
  EXPECT_TRUE(StaysAt(1));
  clock_.SetMicros(tasks[0].due_ms * 1000);
  Nudge();
  ASSERT_TRUE(fake_->WaitForSends(2, milliseconds(10000)));
  EXPECT_EQ(HeaderOf(fake_->Sent()[1].request, "X-Bridgeport-Attempt"), "2");
  ASSERT_TRUE(Eventually([&] { return StoredTasks().empty(); }));
}

TEST_F(EngineTest, TaskOfATargetRemovedWhileStoppedIsCancelledAtRecovery) {
  SetUpDestination(300, {});
  fake_->Hold(true);
  PutEvents(2);
  ASSERT_TRUE(fake_->WaitForSends(2, milliseconds(10000)));
  StopEngine();
  ASSERT_TRUE(registry_->RemoveTargets(J(R"({"Rule":"r1","Ids":["t1"]})")).ok());
  fake_->Hold(false);
  StartEngine();
  ASSERT_TRUE(Eventually([&] { return StoredTasks().empty(); }));
  EXPECT_EQ(Outcomes("cancelled"), 2u);
  EXPECT_EQ(fake_->SendCount(), 2u);
}

}  // namespace
}  // namespace bp::delivery::engine_testing
