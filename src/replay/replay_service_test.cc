// ReplayService against a real RocksStore and ArchiveStore, with a recording fan-out: order,
// replay-name, FilterArns, states, the running limit, cancel, and resuming after a restart.
#include "replay/replay_service.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <set>
#include <thread>

namespace bp::replay {
namespace {

namespace json = boost::json;

json::object J(std::string_view text) { return json::parse(text).as_object(); }

constexpr const char* kBusArn = "arn:aws:events:us-east-1:000000000000:event-bus/default";
constexpr const char* kArchiveArn = "arn:aws:events:us-east-1:000000000000:archive/arch";
constexpr int64_t kT0 = 1'700'000'000;  // event times in seconds

class ReplayServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("bp_replay_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    clock_.SetMicros((kT0 + 3600) * 1'000'000);
    auto s = store::OpenRocksStore({.path = dir_.string()});
    ASSERT_TRUE(s.ok());
    store_ = std::move(s).value();
    archive::ArchiveOptions o;
    o.bus_exists = [](std::string_view bus) { return bus == "default"; };
    archives_ = std::move(archive::ArchiveStore::Open(*store_, clock_, o)).value();
    ASSERT_TRUE(archives_
                    ->CreateArchive(J(R"({"ArchiveName":"arch","EventSourceArn":")" +
                                      std::string(kBusArn) + R"("})"))
                    .ok());
    // 250 events over about four minutes, put out of order.
    for (int i = 249; i >= 0; --i) {
      std::string id = "00000000-0000-0000-0000-" +
                       std::string(12 - std::to_string(i).size(), '0') + std::to_string(i);
      std::string event = R"({"version":"0","id":")" + id + R"(","detail":{}})";
      store::WriteBatch b;
      std::vector<archive::ArchiveCopy> copies;
      archives_->Add("default", id, kT0 + i, event, b, &copies);
      ASSERT_TRUE(store_->Write(std::move(b)).ok());
    }
  }
  void TearDown() override {
    service_.reset();
    archives_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  void StartService(int64_t per_second) {
    service_.reset();
    ReplayDeps d;
    d.store = store_.get();
    d.clock = &clock_;
    d.archives = archives_.get();
    d.bus_exists = [](const std::string& bus) { return bus == "default"; };
    d.rule_exists = [](const std::string&, const std::string& arn) {
      return arn.find(":rule/") != std::string::npos;
    };
    d.fanout = [this](const std::string& bus, const std::string& id, const std::string& event,
                      const std::vector<std::string>& rules,
                      store::WriteBatch& b) -> StatusOr<std::function<void()>> {
      EXPECT_EQ(bus, "default");
      b.Put(store::Family::kTasks, "t" + id, event);
      return std::function<void()>([this, id, event, rules] {
        std::lock_guard<std::mutex> lock(mu_);
        delivered_.push_back(id);
        last_event_ = event;
        last_rules_ = rules;
      });
    };
    ReplayOptions o;
    o.events_per_second = per_second;
    service_ = std::make_unique<ReplayService>(std::move(d), o);
    ASSERT_TRUE(service_->Start().ok());
  }
  StatusOr<json::object> Start(std::string_view name, int64_t from_s, int64_t to_s,
                               std::string_view filters = "") {
    std::string req = R"({"ReplayName":")" + std::string(name) + R"(","EventSourceArn":")" +
                      kArchiveArn + R"(","EventStartTime":)" + std::to_string(from_s) +
                      R"(,"EventEndTime":)" + std::to_string(to_s) + R"(,"Destination":{"Arn":")" +
                      kBusArn + "\"" +
                      (filters.empty() ? "" : R"(,"FilterArns":)" + std::string(filters)) + "}}";
    return service_->StartReplay(J(req));
  }
  std::string State(std::string_view name) {
    auto d = service_->DescribeReplay(J(R"({"ReplayName":")" + std::string(name) + R"("})"));
    return d.ok() ? std::string((*d)["State"].as_string()) : d.status().ToString();
  }
  // Waits (bounded) for `name` to reach `state`; with `tick`, advances the manual clock meanwhile.
  bool WaitFor(std::string_view name, std::string_view state, bool tick = false) {
    for (int i = 0; i < 2000; ++i) {
      if (State(name) == state) return true;
      if (tick) clock_.AdvanceMicros(1'000'000);
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return false;
  }
  std::vector<std::string> Delivered() {
    std::lock_guard<std::mutex> lock(mu_);
    return delivered_;
  }

  std::filesystem::path dir_;
  ManualClock clock_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<archive::ArchiveStore> archives_;
  std::unique_ptr<ReplayService> service_;
  std::mutex mu_;
  std::vector<std::string> delivered_;
  std::string last_event_;
  std::vector<std::string> last_rules_;
};

TEST_F(ReplayServiceTest, ReplaysTheRangeInEventTimeOrderWithReplayName) {
  StartService(0);
  auto r = Start("r1", kT0 + 10, kT0 + 200, R"(["arn:aws:events:us-east-1:000000000000:rule/x"])");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)["State"], "STARTING");
  EXPECT_EQ((*r)["ReplayArn"], "arn:aws:events:us-east-1:000000000000:replay/r1");
  ASSERT_TRUE(WaitFor("r1", "COMPLETED"));
  auto got = Delivered();
  ASSERT_EQ(got.size(), 190u);  // [10, 200)
  EXPECT_TRUE(std::is_sorted(got.begin(), got.end()));
  EXPECT_EQ(got.front().substr(24), "000000000010");
  EXPECT_EQ(got.back().substr(24), "000000000199");
  auto event = J(last_event_);
  EXPECT_EQ(event["replay-name"], "r1");
  EXPECT_EQ(last_rules_, std::vector<std::string>{"arn:aws:events:us-east-1:000000000000:rule/x"});
  auto d = *service_->DescribeReplay(J(R"({"ReplayName":"r1"})"));
  EXPECT_EQ(d["EventLastReplayedTime"].to_number<double>(), static_cast<double>(kT0 + 199));
  EXPECT_TRUE(d.contains("ReplayEndTime"));
  EXPECT_EQ(d["Destination"].as_object().at("Arn"), kBusArn);
  EXPECT_EQ(Start("r1", kT0, kT0 + 1).status().code(), StatusCode::kAlreadyExists);
  auto list = *service_->ListReplays(J(R"({"State":"COMPLETED"})"));
  EXPECT_EQ(list["Replays"].as_array().size(), 1u);
}

TEST_F(ReplayServiceTest, ValidationAndLookups) {
  StartService(0);
  EXPECT_EQ(Start("bad", kT0 + 5, kT0 + 5).status().code(), StatusCode::kValidation);
  EXPECT_EQ(Start("bad name", kT0, kT0 + 5).status().code(), StatusCode::kValidation);
  EXPECT_EQ(Start("bad", kT0, kT0 + 5, R"(["arn:aws:events:us-east-1:000000000000:event-bus/x"])")
                .status()
                .code(),
            StatusCode::kNotFound);
  auto other = service_->StartReplay(J(
      R"({"ReplayName":"x","EventSourceArn":"arn:aws:events:us-east-1:000000000000:archive/none",
          "EventStartTime":1,"EventEndTime":2,"Destination":{"Arn":"a"}})"));
  EXPECT_EQ(other.status().code(), StatusCode::kNotFound);
  auto cross = service_->StartReplay(J(
      R"({"ReplayName":"x","EventSourceArn":")" + std::string(kArchiveArn) +
      R"(","EventStartTime":1,"EventEndTime":2,"Destination":{"Arn":"arn:aws:events:us-east-1:000000000000:event-bus/other"}})"));
  EXPECT_EQ(cross.status().code(), StatusCode::kValidation);
  EXPECT_EQ(service_->DescribeReplay(J(R"({"ReplayName":"none"})")).status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(service_->CancelReplay(J(R"({"ReplayName":"none"})")).status().code(),
            StatusCode::kNotFound);
}

TEST_F(ReplayServiceTest, AtMostTenRunningAndCancel) {
  StartService(1);  // one event per (manual) second: replays stay RUNNING until the clock moves
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(Start("p" + std::to_string(i), kT0, kT0 + 250).ok());
  }
  auto eleventh = Start("p10", kT0, kT0 + 250);
  EXPECT_EQ(eleventh.status().code(), StatusCode::kLimitExceeded);
  ASSERT_TRUE(WaitFor("p0", "RUNNING"));
  auto c = service_->CancelReplay(J(R"({"ReplayName":"p0"})"));
  ASSERT_TRUE(c.ok());
  EXPECT_EQ((*c)["State"], "CANCELLING");
  ASSERT_TRUE(WaitFor("p0", "CANCELLED"));
  EXPECT_EQ(service_->CancelReplay(J(R"({"ReplayName":"p0"})")).status().code(),
            StatusCode::kIllegalStatus);
  EXPECT_TRUE(Start("p10", kT0, kT0 + 250).ok());  // a slot is free again
}

TEST_F(ReplayServiceTest, ResumesAfterARestartWithoutRepeatsOrGaps) {
  StartService(100);  // batches of 100; the manual clock holds the second batch back
  ASSERT_TRUE(Start("long", kT0, kT0 + 250).ok());
  ASSERT_TRUE(WaitFor("long", "RUNNING"));
  for (int i = 0; i < 400 && Delivered().size() < 60; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  service_->Stop();  // "crash" between batches: the progress of each batch is in the store
  size_t before = Delivered().size();
  ASSERT_EQ(before, 60u);  // the first 1-minute slice
  StartService(100);
  EXPECT_EQ(State("long"), "RUNNING");
  ASSERT_TRUE(WaitFor("long", "COMPLETED", /*tick=*/true));
  auto got = Delivered();
  ASSERT_EQ(got.size(), 250u);
  EXPECT_EQ(std::set<std::string>(got.begin(), got.end()).size(), 250u);
  EXPECT_TRUE(std::is_sorted(got.begin(), got.end()));
}

TEST_F(ReplayServiceTest, ArchiveDeletedMeansFailed) {
  StartService(1);
  ASSERT_TRUE(Start("f", kT0, kT0 + 250).ok());
  ASSERT_TRUE(WaitFor("f", "RUNNING"));
  ASSERT_TRUE(archives_->DeleteArchive(J(R"({"ArchiveName":"arch"})")).ok());
  ASSERT_TRUE(WaitFor("f", "FAILED", /*tick=*/true));
  auto d = *service_->DescribeReplay(J(R"({"ReplayName":"f"})"));
  EXPECT_NE(std::string(d["StateReason"].as_string()).find("does not exist"), std::string::npos);
}

}  // namespace
}  // namespace bp::replay
