// ScheduleExpression parsing and next-time computation, and the Scheduler's tick durability
// against a real RocksStore with a manual clock.
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <filesystem>

#include "schedule/schedule_expression.h"
#include "schedule/scheduler.h"

namespace bp::schedule {
namespace {

namespace chr = std::chrono;

int64_t Ms(int y, int mo, int d, int h = 0, int mi = 0, int s = 0) {
  chr::sys_days day = chr::year(y) / chr::month(mo) / chr::day(d);
  return (static_cast<int64_t>(day.time_since_epoch().count()) * 86400 + h * 3600 + mi * 60 + s) *
         1000;
}

ScheduleExpression P(std::string_view text) {
  auto e = ScheduleExpression::Parse(text);
  EXPECT_TRUE(e.ok()) << text;
  return e.ok() ? *e : *ScheduleExpression::Parse("rate(1 minute)");
}

TEST(ScheduleExpressionTest, RateUnitsFollowTheNumber) {
  EXPECT_EQ(P("rate(1 minute)").rate_ms(), 60'000);
  EXPECT_EQ(P("rate(5 minutes)").rate_ms(), 300'000);
  EXPECT_EQ(P("rate(1 hour)").rate_ms(), 3'600'000);
  EXPECT_EQ(P("rate(2 days)").rate_ms(), 172'800'000);
  for (const char* bad : {"rate(1 minutes)", "rate(2 minute)", "rate(0 minutes)", "rate(1 week)",
                          "rate(-1 minute)", "rate(1)", "rate 1 minute", "rate(1 minute", "",
                          "rate(1.5 hours)", "RATE(1 minute)", "rate(x minutes)"}) {
    auto e = ScheduleExpression::Parse(bad);
    ASSERT_FALSE(e.ok()) << bad;
    EXPECT_EQ(e.status().code(), StatusCode::kValidation);
    EXPECT_EQ(e.status().message(), "Parameter ScheduleExpression is not valid.");
  }
}

TEST(ScheduleExpressionTest, RateTicksCountFromTheAnchor) {
  auto e = P("rate(5 minutes)");
  int64_t anchor = Ms(2024, 1, 1, 10, 0);
  EXPECT_EQ(*e.Next(anchor, anchor), Ms(2024, 1, 1, 10, 5));
  EXPECT_EQ(*e.Next(anchor - 1, anchor), Ms(2024, 1, 1, 10, 5));
  EXPECT_EQ(*e.Next(Ms(2024, 1, 1, 10, 7), anchor), Ms(2024, 1, 1, 10, 10));
  EXPECT_FALSE(e.LatestDue(anchor, Ms(2024, 1, 1, 10, 4, 59), anchor));
  EXPECT_EQ(*e.LatestDue(anchor, Ms(2024, 1, 1, 10, 23), anchor), Ms(2024, 1, 1, 10, 20));
  EXPECT_FALSE(e.LatestDue(Ms(2024, 1, 1, 10, 20), Ms(2024, 1, 1, 10, 23), anchor));
}

TEST(ScheduleExpressionTest, CronFieldsListsRangesStepsAndNames) {
  // 2024-01-01 is a Monday.
  EXPECT_EQ(*P("cron(0 12 * * ? *)").Next(Ms(2024, 1, 1), 0), Ms(2024, 1, 1, 12, 0));
  EXPECT_EQ(*P("cron(0 12 * * ? *)").Next(Ms(2024, 1, 1, 12), 0), Ms(2024, 1, 2, 12, 0));
  EXPECT_EQ(*P("cron(15 10 * * ? *)").Next(Ms(2024, 1, 1, 10, 15, 30), 0), Ms(2024, 1, 2, 10, 15));
  auto weekdays = P("cron(0/15 10-16 ? * MON-FRI *)");
  EXPECT_EQ(*weekdays.Next(Ms(2024, 1, 6), 0), Ms(2024, 1, 8, 10, 0));  // Saturday -> Monday
  EXPECT_EQ(*weekdays.Next(Ms(2024, 1, 8, 10, 0), 0), Ms(2024, 1, 8, 10, 15));
  EXPECT_EQ(*weekdays.Next(Ms(2024, 1, 8, 16, 45), 0), Ms(2024, 1, 9, 10, 0));
  EXPECT_EQ(*P("cron(0 0 ? jan,mar sun *)").Next(Ms(2024, 1, 31), 0), Ms(2024, 3, 3));
  EXPECT_EQ(*P("cron(0 8 1 * ? *)").Next(Ms(2024, 1, 1, 9), 0), Ms(2024, 2, 1, 8));
  EXPECT_EQ(*P("cron(5,10 * * * ? *)").Next(Ms(2024, 1, 1, 3, 5), 0), Ms(2024, 1, 1, 3, 10));
  EXPECT_EQ(*P("cron(1-31/30 1-1 ? * 1,7 *)").Next(Ms(2024, 1, 1), 0), Ms(2024, 1, 6, 1, 1));
  EXPECT_EQ(*P("cron(0 0 29 2 ? *)").Next(Ms(2024, 3, 1), 0), Ms(2028, 2, 29));
}

TEST(ScheduleExpressionTest, CronLastWeekdayAndNth) {
  EXPECT_EQ(*P("cron(0 8 L * ? *)").Next(Ms(2024, 2, 1), 0), Ms(2024, 2, 29, 8));
  EXPECT_EQ(*P("cron(0 0 LW * ? *)").Next(Ms(2024, 3, 1), 0), Ms(2024, 3, 29));   // 31st: Sunday
  EXPECT_EQ(*P("cron(0 0 1W * ? *)").Next(Ms(2024, 5, 31), 0), Ms(2024, 6, 3));   // 1st: Saturday
  EXPECT_EQ(*P("cron(0 0 15W * ? *)").Next(Ms(2024, 9, 1), 0), Ms(2024, 9, 16));  // Sunday
  EXPECT_EQ(*P("cron(0 0 31W * ? *)").Next(Ms(2024, 3, 1), 0), Ms(2024, 3, 29));
  EXPECT_EQ(*P("cron(0 10 ? * 6L *)").Next(Ms(2024, 1, 1), 0), Ms(2024, 1, 26, 10));
  EXPECT_EQ(*P("cron(0 10 ? * FRIL *)").Next(Ms(2024, 1, 1), 0), Ms(2024, 1, 26, 10));
  EXPECT_EQ(*P("cron(0 10 ? * 3#2 *)").Next(Ms(2024, 1, 1), 0), Ms(2024, 1, 9, 10));
  EXPECT_EQ(*P("cron(0 10 ? * L *)").Next(Ms(2024, 1, 1), 0), Ms(2024, 1, 6, 10));
  // The fifth Monday exists only in some months.
  EXPECT_EQ(*P("cron(0 0 ? * MON#5 *)").Next(Ms(2024, 2, 1), 0), Ms(2024, 4, 29));
}

TEST(ScheduleExpressionTest, CronYearsEnd) {
  auto once = P("cron(0 0 1 1 ? 2030)");
  EXPECT_EQ(*once.Next(Ms(2024, 1, 1), 0), Ms(2030, 1, 1));
  EXPECT_FALSE(once.Next(Ms(2030, 1, 1), 0));
  EXPECT_FALSE(P("cron(0 0 * * ? 2199)").Next(Ms(2199, 12, 31, 23, 59), 0));
}

TEST(ScheduleExpressionTest, CronRejectsWhatAwsRejects) {
  for (const char* bad : {"cron(0 12 * * * *)",
                          "cron(0 12 ? * ? *)",
                          "cron(60 * * * ? *)",
                          "cron(0 24 * * ? *)",
                          "cron(0 12 * * ?)",
                          "cron(0 12 * 13 ? *)",
                          "cron(0 12 * JANX ? *)",
                          "cron(0 0 * * ? 1969)",
                          "cron(0 0 * * ? 2200)",
                          "cron(0 0 32 * ? *)",
                          "cron(0 0 0 * ? *)",
                          "cron(0 0 ? * 8 *)",
                          "cron(0 0 ? * 0 *)",
                          "cron(0 0 ? * 2#6 *)",
                          "cron(0 0 ? * 2#1,3 *)",
                          "cron(5-1 * * * ? *)",
                          "cron(*/0 * * * ? *)",
                          "cron(0 0 L,5 * ? *)",
                          "cron(0 0 W * ? *)",
                          "cron(0 0 * * ? * *)",
                          "cron(0,,1 * * * ? *)",
                          "cron(0 0 ? * 9L *)",
                          "cron()",
                          "cron(0/5, 9-18, ?, *, MON-FRI, *)"}) {
    EXPECT_FALSE(ScheduleExpression::Parse(bad).ok()) << bad;
  }
}

TEST(ScheduleExpressionTest, LatestDueCollapsesMissedTicks) {
  auto every_minute = P("cron(* * * * ? *)");
  EXPECT_EQ(*every_minute.LatestDue(Ms(2024, 1, 1), Ms(2024, 3, 1, 5, 30, 10), 0),
            Ms(2024, 3, 1, 5, 30));
  auto yearly = P("cron(0 0 1 1 ? *)");
  EXPECT_EQ(*yearly.LatestDue(Ms(2020, 6, 1), Ms(2024, 6, 1), 0), Ms(2024, 1, 1));
  EXPECT_FALSE(yearly.LatestDue(Ms(2024, 1, 1), Ms(2024, 6, 1), 0));
}

// ---- Scheduler ----

class SchedulerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("bp_sched_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    OpenStore();
    clock_.SetMicros(Ms(2024, 1, 1, 10, 0, 30) * 1000);
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  void OpenStore() {
    store_.reset();
    auto s = store::OpenRocksStore({.path = dir_.string()});
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
  }
  // A scheduler as after a (re)start: markers loaded from the store.
  std::unique_ptr<Scheduler> NewScheduler() {
    SchedulerDeps d;
    d.store = store_.get();
    d.clock = &clock_;
    d.account = "111122223333";
    d.region = "eu-west-1";
    d.rules = [this] { return rules_; };
    d.fanout = [this](const ScheduledRule& r, const std::string& event,
                      store::WriteBatch& b) -> StatusOr<std::function<void()>> {
      if (fail_fanout_) return Status::Internal("injected");
      b.Put(store::Family::kTasks, "t/" + std::to_string(next_task_++), event);
      return std::function<void()>([this, r, event] { delivered_.push_back({r.name, event}); });
    };
    auto s = std::make_unique<Scheduler>(std::move(d));
    EXPECT_TRUE(s->LoadMarkers().ok());
    return s;
  }
  std::string TickTime(size_t i) {
    auto o = boost::json::parse(delivered_.at(i).second).as_object();
    return std::string(o["time"].as_string());
  }
  size_t StoredTasks() {
    size_t n = 0;
    EXPECT_TRUE(store_->Scan(store::Family::kTasks, "", "", [&](auto, auto) { return ++n; }).ok());
    return n;
  }

  std::filesystem::path dir_;
  std::unique_ptr<store::Store> store_;
  ManualClock clock_;
  std::vector<ScheduledRule> rules_{
      {"default", "every", "arn:aws:events:eu-west-1:111122223333:rule/every", "rate(1 minute)"}};
  std::vector<std::pair<std::string, std::string>> delivered_;
  bool fail_fanout_ = false;
  int next_task_ = 0;
};

TEST_F(SchedulerTest, TickPutsTheScheduledEventAtTheScheduledTime) {
  auto s = NewScheduler();
  EXPECT_EQ(s->RunOnce(), 0);  // first sight: the schedule starts now
  clock_.SetMicros(Ms(2024, 1, 1, 10, 1, 2) * 1000);
  EXPECT_EQ(s->RunOnce(), 1);
  EXPECT_EQ(s->RunOnce(), 0);
  ASSERT_EQ(delivered_.size(), 1u);
  auto o = boost::json::parse(delivered_[0].second).as_object();
  EXPECT_EQ(o["version"], "0");
  EXPECT_EQ(o["detail-type"], "Scheduled Event");
  EXPECT_EQ(o["source"], "aws.events");
  EXPECT_EQ(o["account"], "111122223333");
  EXPECT_EQ(o["region"], "eu-west-1");
  EXPECT_EQ(o["time"], "2024-01-01T10:01:00Z");
  EXPECT_EQ(o["resources"].as_array().size(), 1u);
  EXPECT_EQ(o["resources"].as_array()[0], "arn:aws:events:eu-west-1:111122223333:rule/every");
  EXPECT_TRUE(o["detail"].as_object().empty());
  EXPECT_EQ(o["id"].as_string().size(), 36u);
}

TEST_F(SchedulerTest, RestartNeitherRepeatsNorLosesATick) {
  {
    auto s = NewScheduler();
    s->RunOnce();
    clock_.SetMicros(Ms(2024, 1, 1, 10, 1, 1) * 1000);
    EXPECT_EQ(s->RunOnce(), 1);
  }
  OpenStore();  // restart
  {
    auto s = NewScheduler();
    EXPECT_EQ(s->RunOnce(), 0);  // the committed 10:01 tick is not repeated
  }
  // Down from 10:01:01 to 10:06:30: one catch-up tick for 10:06, not five.
  OpenStore();
  clock_.SetMicros(Ms(2024, 1, 1, 10, 6, 30) * 1000);
  auto s = NewScheduler();
  EXPECT_EQ(s->RunOnce(), 1);
  EXPECT_EQ(s->RunOnce(), 0);
  ASSERT_EQ(delivered_.size(), 2u);
  EXPECT_EQ(TickTime(0), "2024-01-01T10:01:00Z");
  EXPECT_EQ(TickTime(1), "2024-01-01T10:06:00Z");
  EXPECT_EQ(StoredTasks(), 2u);
  clock_.SetMicros(Ms(2024, 1, 1, 10, 7, 0) * 1000);
  EXPECT_EQ(s->RunOnce(), 1);
  EXPECT_EQ(TickTime(2), "2024-01-01T10:07:00Z");
}

TEST_F(SchedulerTest, AFailedTickStaysDue) {
  auto s = NewScheduler();
  s->RunOnce();
  clock_.SetMicros(Ms(2024, 1, 1, 10, 1, 1) * 1000);
  fail_fanout_ = true;
  EXPECT_EQ(s->RunOnce(), 0);
  fail_fanout_ = false;
  EXPECT_EQ(s->RunOnce(), 1);
  EXPECT_EQ(TickTime(0), "2024-01-01T10:01:00Z");
}

TEST_F(SchedulerTest, DisabledRulesDoNotTickAndReEnablingStartsAfresh) {
  auto s = NewScheduler();
  s->RunOnce();
  rules_[0].enabled = false;
  clock_.SetMicros(Ms(2024, 1, 1, 10, 5, 30) * 1000);
  EXPECT_EQ(s->RunOnce(), 0);
  rules_[0].enabled = true;
  EXPECT_EQ(s->RunOnce(), 0);  // no catch-up for ticks missed while disabled
  clock_.SetMicros(Ms(2024, 1, 1, 10, 6, 0) * 1000);
  EXPECT_EQ(s->RunOnce(), 1);
  EXPECT_EQ(TickTime(0), "2024-01-01T10:06:00Z");
}

TEST_F(SchedulerTest, ChangedOrRemovedSchedulesResetTheirMarker) {
  auto s = NewScheduler();
  s->RunOnce();
  rules_[0].expression = "cron(30 10 * * ? *)";
  clock_.SetMicros(Ms(2024, 1, 1, 10, 20) * 1000);
  EXPECT_EQ(s->RunOnce(), 0);  // the new expression counts from now
  clock_.SetMicros(Ms(2024, 1, 1, 10, 30, 5) * 1000);
  EXPECT_EQ(s->RunOnce(), 1);
  EXPECT_EQ(TickTime(0), "2024-01-01T10:30:00Z");
  rules_.clear();
  EXPECT_EQ(s->RunOnce(), 0);
  auto marker = store_->Get(store::Family::kMeta, "sched/default/every");
  ASSERT_TRUE(marker.ok());
  EXPECT_FALSE(marker->has_value());
}

}  // namespace
}  // namespace bp::schedule
