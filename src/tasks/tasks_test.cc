#include "tasks/tasks.h"

#include <gtest/gtest.h>

#include <set>
#include <thread>
#include <vector>

#include "tasks/task_record.h"

namespace bp::tasks {
namespace {

TaskRecord Sample() {
  TaskRecord t;
  t.seq = 0x0102030405060708ULL;
  t.bus = "orders";
  t.rule = "to-billing";
  t.target_id = "t1";
  t.event_id = "e-1";
  t.ingestion_ms = 1'700'000'000'123;
  t.retries = 3;
  t.due_ms = 1'700'000'005'000;
  t.hops = 2;
  t.oauth_resend = true;
  t.last_error_code = "SDK_CLIENT_ERROR";
  t.last_error_message = "connection refused";
  t.event_json = R"({"id":"e-1","detail":{"a":[1,2,3]}})";
  return t;
}

TEST(TaskRecordTest, RoundTripsEveryField) {
  TaskRecord t = Sample();
  auto back = DecodeTask(EncodeTask(t));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->seq, t.seq);
  EXPECT_EQ(back->bus, t.bus);
  EXPECT_EQ(back->rule, t.rule);
  EXPECT_EQ(back->target_id, t.target_id);
  EXPECT_EQ(back->event_id, t.event_id);
  EXPECT_EQ(back->ingestion_ms, t.ingestion_ms);
  EXPECT_EQ(back->retries, t.retries);
  EXPECT_EQ(back->due_ms, t.due_ms);
  EXPECT_EQ(back->hops, t.hops);
  EXPECT_TRUE(back->oauth_resend);
  EXPECT_EQ(back->last_error_code, t.last_error_code);
  EXPECT_EQ(back->last_error_message, t.last_error_message);
  EXPECT_EQ(back->event_json, t.event_json);
}

TEST(TaskRecordTest, SkipsTheEventWhenAskedTo) {
  auto back = DecodeTask(EncodeTask(Sample()), /*with_event=*/false);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->target_id, "t1");
  EXPECT_TRUE(back->event_json.empty());
}

TEST(TaskRecordTest, RejectsTruncatedAndForeignRecords) {
  std::string data = EncodeTask(Sample());
  for (size_t n = 0; n < data.size(); ++n) {
    EXPECT_FALSE(DecodeTask(std::string_view(data).substr(0, n)).has_value()) << n;
  }
  std::string other = data;
  other[0] = 9;  // an unknown version
  EXPECT_FALSE(DecodeTask(other).has_value());
}

TEST(TaskRecordTest, KeysSortBySequenceNumber) {
  EXPECT_LT(TaskKey(255), TaskKey(256));
  EXPECT_LT(TaskKey(1), TaskKey(uint64_t{1} << 40));
  EXPECT_EQ(SeqFromTaskKey(TaskKey(123456789)), 123456789u);
  EXPECT_FALSE(SeqFromTaskKey("t123").has_value());
  EXPECT_FALSE(SeqFromTaskKey("x1234567a").has_value());
}

TEST(LaneTest, OneLanePerDestinationQueueOrBus) {
  registry::TargetRoute t;
  t.kind = registry::TargetKind::kApiDestination;
  t.resource_name = "billing";
  EXPECT_EQ(LaneFor(t), "api/billing");
  EXPECT_EQ(LaneFor(registry::TargetKind::kQueue, "arn:aws:sqs:us-east-1:000000000000:q"),
            "sqs/arn:aws:sqs:us-east-1:000000000000:q");
  EXPECT_EQ(LaneFor(registry::TargetKind::kEventBus, "audit"), "bus/audit");
}

TEST(SeqAllocatorTest, ContinuesAfterTheStoreAndNeverBelowTheClock) {
  SeqAllocator after_store;
  after_store.Seed(/*max_stored=*/1'000'000'000, /*now_micros=*/10);
  EXPECT_EQ(after_store.Next(), 1'000'000'001u);
  EXPECT_EQ(after_store.Next(), 1'000'000'002u);

  SeqAllocator after_clock;
  after_clock.Seed(/*max_stored=*/5, /*now_micros=*/1'000);
  EXPECT_EQ(after_clock.Next(), 16'000u);
}

TEST(SeqAllocatorTest, ClusterSlotsNeverCollide) {
  constexpr uint64_t kStride = 64;
  std::set<uint64_t> all;
  for (uint64_t slot = 0; slot < 4; ++slot) {
    SeqAllocator a(kStride, slot);
    a.Seed(/*max_stored=*/777, /*now_micros=*/0);
    uint64_t prev = 777;
    for (int i = 0; i < 100; ++i) {
      uint64_t s = a.Next();
      EXPECT_EQ(s % kStride, slot);
      EXPECT_GT(s, prev);
      prev = s;
      EXPECT_TRUE(all.insert(s).second) << s;
    }
  }
}

TEST(SeqAllocatorTest, UniqueAcrossThreads) {
  SeqAllocator a;
  a.Seed(0, 1);
  constexpr int kThreads = 4, kEach = 10'000;
  std::vector<std::vector<uint64_t>> got(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) got[t].push_back(a.Next());
    });
  }
  for (auto& th : threads) th.join();
  std::set<uint64_t> all;
  for (const auto& v : got) all.insert(v.begin(), v.end());
  EXPECT_EQ(all.size(), size_t{kThreads} * kEach);
}

}  // namespace
}  // namespace bp::tasks
