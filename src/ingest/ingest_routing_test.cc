// Ingest tests (fixture: ingest_test_fixture.h). Where accepted events go: tasks per rule and
// target, buses by name or ARN, other accounts, commits.
#include "ingest/ingest_test_fixture.h"

namespace bp::ingest::ingest_testing {
namespace {

TEST_F(IngestTest, RepliesOnlyAfterTasksAreCommitted) {
  Rule("r1", R"({"source":["shop"]})");
  Target("r1", "a", kQ1);
  Target("r1", "b", kQ2);

  json::object req;
  req["Entries"] = json::array{Entry()};
  std::promise<void> replied;
  size_t committed_at_reply = 0;
  size_t stored_at_reply = 0;
  StatusOr<json::object> reply = Status::Internal("unset");
  ingest_->PutEvents(req, [&](StatusOr<json::object> r) {
    committed_at_reply = store_->committed_task_puts();
    // Read-only scan from the commit callback: the tasks must already be readable.
    (void)store_->Scan(store::Family::kTasks, "", "", [&](std::string_view, std::string_view) {
      ++stored_at_reply;
      return true;
    });
    reply = std::move(r);
    replied.set_value();
  });
  ASSERT_EQ(replied.get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready);
  ASSERT_TRUE(reply.ok()) << reply.status().ToString();
  EXPECT_EQ(committed_at_reply, 2u);
  EXPECT_EQ(stored_at_reply, 2u);
  EXPECT_EQ((*reply)["FailedEntryCount"].as_int64(), 0);
  std::string event_id((*reply)["Entries"].as_array()[0].as_object()["EventId"].as_string());

  // The engine got the tasks only once they were durable, and the keys it got are the stored ones.
  auto committed_at_enqueue = engine_->committed_at_enqueue();
  ASSERT_EQ(committed_at_enqueue.size(), 1u);
  EXPECT_EQ(committed_at_enqueue[0], 2u);
  auto enqueued = engine_->tasks();
  auto stored = StoredTasks();
  ASSERT_EQ(enqueued.size(), 2u);
  ASSERT_EQ(stored.size(), 2u);
  std::set<uint64_t> enqueued_seqs, stored_seqs;
  for (const auto& t : enqueued) {
    enqueued_seqs.insert(t.seq);
    EXPECT_EQ(t.ingestion_ms, clock_.NowMillis());
    EXPECT_EQ(t.due_ms, 0);
  }
  for (const auto& [seq, task] : stored) {
    stored_seqs.insert(seq);
    EXPECT_EQ(task.seq, seq);
    EXPECT_EQ(task.bus, "default");
    EXPECT_EQ(task.rule, "r1");
    EXPECT_EQ(task.event_id, event_id);
    EXPECT_EQ(task.ingestion_ms, clock_.NowMillis());
    EXPECT_EQ(task.retries, 0);
    EXPECT_EQ(task.hops, 0);
    EXPECT_EQ(task.due_ms, 0);
  }
  EXPECT_EQ(enqueued_seqs, stored_seqs);
  EXPECT_EQ(Counter("bridgeport_events_ingested_total", {{"bus", "default"}}), 1u);
  EXPECT_EQ(Counter("bridgeport_events_matched_total", {{"bus", "default"}}), 1u);
}

TEST_F(IngestTest, DisabledRulesDoNotFanOut) {
  Rule("on", R"({"source":["shop"]})");
  Target("on", "a", kQ1);
  Rule("off", R"({"source":["shop"]})");
  Target("off", "b", kQ2);
  ASSERT_TRUE(registry_->DisableRule(J(R"({"Name":"off"})")).ok());

  PutOk(json::array{Entry()});
  auto stored = StoredTasks();
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0].second.rule, "on");
  EXPECT_EQ(stored[0].second.target_id, "a");
  EXPECT_EQ(Counter("bridgeport_events_matched_total", {{"bus", "default"}}), 1u);

  ASSERT_TRUE(registry_->EnableRule(J(R"({"Name":"off"})")).ok());
  PutOk(json::array{Entry()});
  EXPECT_EQ(StoredTasks().size(), 3u);
}

TEST_F(IngestTest, OneTaskPerRuleAndTarget) {
  Rule("r1", R"({"source":["shop"]})");
  Target("r1", "a", kQ1, "default", J(R"({"RetryPolicy":{"MaximumEventAgeInSeconds":3600}})"));
  Target("r1", "b", kQ2);
  Target("r1", "c", kQ3);
  Rule("r2", R"({"detail-type":["Order Placed"]})");
  Target("r2", "a", kQ1);
  Rule("r3", R"({"source":["elsewhere"]})");
  Target("r3", "z", kQ1);

  auto reply = PutOk(json::array{Entry(), Entry()});
  ASSERT_EQ(reply["FailedEntryCount"].as_int64(), 0);
  auto stored = StoredTasks();
  ASSERT_EQ(stored.size(), 8u);
  std::set<std::tuple<std::string, std::string, std::string>> keys;
  for (const auto& [seq, t] : stored) keys.emplace(t.event_id, t.rule, t.target_id);
  EXPECT_EQ(keys.size(), 8u);  // no duplicates
  for (const auto& [event, rule, target] : keys) {
    EXPECT_TRUE((rule == "r1" && (target == "a" || target == "b" || target == "c")) ||
                (rule == "r2" && target == "a"))
        << rule << "/" << target;
  }
  // One batch for the whole request; the engine got all 8 with their lanes and age limits.
  EXPECT_EQ(store_->async_writes(), 1u);
  auto enqueued = engine_->tasks();
  ASSERT_EQ(enqueued.size(), 8u);
  std::set<uint64_t> seqs;
  int short_age = 0;
  for (const auto& t : enqueued) {
    seqs.insert(t.seq);
    EXPECT_TRUE(t.lane == std::string("sqs/") + kQ1 || t.lane == std::string("sqs/") + kQ2 ||
                t.lane == std::string("sqs/") + kQ3)
        << t.lane;
    if (t.max_age_s == 3600) ++short_age;
  }
  EXPECT_EQ(seqs.size(), 8u);
  EXPECT_EQ(short_age, 2);  // r1/a for each of the two events
  EXPECT_EQ(Counter("bridgeport_events_matched_total", {{"bus", "default"}}), 4u);
}

TEST_F(IngestTest, NamedBusByNameOrArn) {
  ASSERT_TRUE(registry_->CreateEventBus(J(R"({"Name":"orders"})")).ok());
  Rule("r1", R"({"source":["shop"]})", "orders");
  Target("r1", "a", kQ1, "orders");
  json::object by_name = Entry();
  by_name["EventBusName"] = "orders";
  json::object by_arn = Entry();
  by_arn["EventBusName"] = "arn:aws:events:us-east-1:000000000000:event-bus/orders";
  json::object on_default = Entry();
  auto reply = PutOk(json::array{by_name, by_arn, on_default});
  EXPECT_EQ(reply["FailedEntryCount"].as_int64(), 0) << json::serialize(reply);
  auto stored = StoredTasks();
  ASSERT_EQ(stored.size(), 2u);
  for (const auto& [seq, t] : stored) EXPECT_EQ(t.bus, "orders");
}

TEST_F(IngestTest, UnmatchedEventsAreAcceptedWithoutAWrite) {
  Rule("r1", R"({"source":["shop"]})");
  Target("r1", "a", kQ1);
  auto reply = PutOk(json::array{Entry("nobody-listens")});
  EXPECT_EQ(reply["FailedEntryCount"].as_int64(), 0);
  EXPECT_TRUE(reply["Entries"].as_array()[0].as_object().contains("EventId"));
  EXPECT_EQ(store_->async_writes(), 0u);
  EXPECT_TRUE(engine_->tasks().empty());
}

TEST_F(IngestTest, FailedCommitFailsOnlyTheEntriesThatNeededIt) {
  Rule("r1", R"({"source":["shop"]})");
  Target("r1", "a", kQ1);
  store_->FailNextAsyncWrite();
  json::object bad = Entry();
  bad.erase("Detail");
  auto reply = PutOk(json::array{Entry(), Entry("nobody-listens"), bad});
  EXPECT_EQ(reply["FailedEntryCount"].as_int64(), 2);
  const auto& out = reply["Entries"].as_array();
  EXPECT_EQ(out[0].at("ErrorCode").as_string(), "InternalFailure");
  EXPECT_FALSE(out[0].as_object().contains("EventId"));
  EXPECT_TRUE(out[1].as_object().contains("EventId"));
  EXPECT_EQ(out[2].at("ErrorCode").as_string(), "InvalidArgument");
  EXPECT_TRUE(engine_->tasks().empty());
  EXPECT_TRUE(StoredTasks().empty());
}

TEST_F(IngestTest, BusArnsOfOtherAccountsAndMalformedNames) {
  Rule("r1", R"({"source":["shop"]})");
  Target("r1", "a", kQ1);
  json::object foreign = Entry();
  foreign["EventBusName"] = "arn:aws:events:us-east-1:999999999999:event-bus/default";
  auto reply = PutOk(json::array{foreign, Entry()});
  EXPECT_EQ(reply["FailedEntryCount"].as_int64(), 1);
  EXPECT_EQ(reply["Entries"].as_array()[0].at("ErrorCode").as_string(),
            "ResourceNotFoundException");
  EXPECT_EQ(StoredTasks().size(), 1u);
  json::object malformed = Entry();
  malformed["EventBusName"] = "arn:aws:events:us-east-1:123:event-bus/default";
  json::object req;
  req["Entries"] = json::array{Entry(), malformed};
  auto r = Put(req);
  EXPECT_EQ(r.status().code(), StatusCode::kValidation);
  EXPECT_NE(r.status().message().find("'entries.2.member.eventBusName'"), std::string::npos);
}

TEST_F(IngestTest, OtherAccountsNeedTheBusPolicy) {
  Rule("r1", R"({"source":["shop"]})");
  Target("r1", "a", kQ1);
  const Caller other{"111122223333", ""};
  json::object e = Entry();
  e["EventBusName"] = "arn:aws:events:us-east-1:000000000000:event-bus/default";
  json::object req;
  req["Entries"] = json::array{e, Entry()};
  auto denied = Put(req, other);
  ASSERT_TRUE(denied.ok());
  const auto& out = (*denied)["Entries"].as_array();
  EXPECT_EQ(out[0].at("ErrorCode").as_string(), "AccessDeniedException");
  EXPECT_EQ(out[1].at("ErrorCode").as_string(), "ResourceNotFoundException");  // by name
  ASSERT_TRUE(registry_
                  ->PutPermission(J(R"({"Action":"events:PutEvents","Principal":"111122223333",
                                      "StatementId":"s"})"))
                  .ok());
  req["Entries"] = json::array{e};
  auto allowed = Put(req, other);
  ASSERT_TRUE(allowed.ok());
  EXPECT_EQ((*allowed)["FailedEntryCount"].as_int64(), 0) << json::serialize(*allowed);
  auto stored = StoredTasks();
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_NE(stored.begin()->second.event_json.find("\"account\":\"111122223333\""),
            std::string::npos);
}

}  // namespace
}  // namespace bp::ingest::ingest_testing
