// ArchiveStore against a real RocksStore: validation, pattern filtering, exact counters across a
// reopen, time-ordered scans, retention sweeps and id isolation of deleted archives.
#include "archive/archive_store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <filesystem>

namespace bp::archive {
namespace {

namespace json = boost::json;

json::object J(std::string_view text) { return json::parse(text).as_object(); }

constexpr const char* kBusArn = "arn:aws:events:us-east-1:000000000000:event-bus/default";

class ArchiveStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("bp_archive_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    clock_.SetMicros(int64_t{1'700'000'000} * 1'000'000);
    Reopen();
  }
  void TearDown() override {
    archives_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  void Reopen() {
    archives_.reset();
    store_.reset();
    auto s = store::OpenRocksStore({.path = dir_.string()});
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
    ArchiveOptions o;
    o.bus_exists = [](std::string_view bus) { return bus == "default" || bus == "orders"; };
    auto a = ArchiveStore::Open(*store_, clock_, o);
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    archives_ = std::move(a).value();
  }
  // PutEvents' part: add copies, commit, count.
  int Put(std::string_view bus, std::string_view id, int64_t time_s, std::string_view event) {
    store::WriteBatch b;
    std::vector<ArchiveCopy> copies;
    int n = archives_->Add(bus, id, time_s, event, b, &copies);
    if (!b.empty()) {
      EXPECT_TRUE(store_->Write(std::move(b)).ok());
    }
    ArchiveStore::Count(copies);
    return n;
  }
  int64_t Counter(const std::string& name, const char* field) {
    auto d = archives_->DescribeArchive(J(R"({"ArchiveName":")" + name + R"("})"));
    EXPECT_TRUE(d.ok());
    return d.ok() ? (*d)[field].as_int64() : -1;
  }
  std::string Event(std::string_view id, std::string_view source) {
    return R"({"version":"0","id":")" + std::string(id) + R"(","source":")" + std::string(source) +
           R"(","detail":{}})";
  }

  std::filesystem::path dir_;
  ManualClock clock_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<ArchiveStore> archives_;
};

TEST_F(ArchiveStoreTest, CreateValidatesLikeAws) {
  auto code = [&](std::string_view req) {
    auto r = archives_->CreateArchive(J(req));
    return r.ok() ? StatusCode::kOk : r.status().code();
  };
  EXPECT_EQ(code(R"({"EventSourceArn":"x"})"), StatusCode::kValidation);
  EXPECT_EQ(code(R"({"ArchiveName":"a","EventSourceArn":"not-an-arn"})"), StatusCode::kValidation);
  EXPECT_EQ(code(R"({"ArchiveName":")" + std::string(49, 'a') + R"(","EventSourceArn":")" +
                 kBusArn + R"("})"),
            StatusCode::kValidation);
  EXPECT_EQ(code(R"({"ArchiveName":"a","EventSourceArn":")" + std::string(kBusArn) +
                 R"(","RetentionDays":-1})"),
            StatusCode::kValidation);
  EXPECT_EQ(
      code(
          R"({"ArchiveName":"a","EventSourceArn":"arn:aws:events:us-east-1:000000000000:event-bus/nope"})"),
      StatusCode::kNotFound);
  EXPECT_EQ(
      code(
          R"({"ArchiveName":"a","EventSourceArn":"arn:aws:events:eu-west-1:000000000000:event-bus/default"})"),
      StatusCode::kNotFound);
  EXPECT_EQ(code(R"({"ArchiveName":"a","EventSourceArn":")" + std::string(kBusArn) +
                 R"(","EventPattern":"{\"source\":\"x\"}"})"),
            StatusCode::kInvalidEventPattern);
  EXPECT_EQ(code(R"({"ArchiveName":"a","EventSourceArn":")" + std::string(kBusArn) + R"("})"),
            StatusCode::kOk);
  EXPECT_EQ(code(R"({"ArchiveName":"a","EventSourceArn":")" + std::string(kBusArn) + R"("})"),
            StatusCode::kAlreadyExists);
  auto d = archives_->DescribeArchive(J(R"({"ArchiveName":"a"})"));
  ASSERT_TRUE(d.ok());
  EXPECT_EQ((*d)["State"], "ENABLED");
  EXPECT_EQ((*d)["RetentionDays"], 0);
  EXPECT_EQ((*d)["ArchiveArn"], "arn:aws:events:us-east-1:000000000000:archive/a");
  EXPECT_FALSE(d->contains("Id"));
}

TEST_F(ArchiveStoreTest, PatternsFilterAndCountersStayExactAcrossReopen) {
  ASSERT_TRUE(archives_
                  ->CreateArchive(J(R"({"ArchiveName":"all","EventSourceArn":")" +
                                    std::string(kBusArn) + R"("})"))
                  .ok());
  ASSERT_TRUE(
      archives_
          ->CreateArchive(J(R"({"ArchiveName":"only-a","EventSourceArn":")" + std::string(kBusArn) +
                            R"(","EventPattern":"{\"source\":[\"a\"]}"})"))
          .ok());
  std::string ea = Event("11111111-1111-1111-1111-111111111111", "a");
  std::string eb = Event("22222222-2222-2222-2222-222222222222", "b");
  EXPECT_EQ(Put("default", "11111111-1111-1111-1111-111111111111", 100, ea), 2);
  EXPECT_EQ(Put("default", "22222222-2222-2222-2222-222222222222", 101, eb), 1);
  EXPECT_EQ(Put("orders", "33333333-3333-3333-3333-333333333333", 101, eb), 0);
  EXPECT_EQ(Counter("all", "EventCount"), 2);
  EXPECT_EQ(Counter("all", "SizeBytes"), static_cast<int64_t>(ea.size() + eb.size()));
  EXPECT_EQ(Counter("only-a", "EventCount"), 1);
  Reopen();
  EXPECT_EQ(Counter("all", "EventCount"), 2);
  EXPECT_EQ(Counter("all", "SizeBytes"), static_cast<int64_t>(ea.size() + eb.size()));
  EXPECT_EQ(Counter("only-a", "SizeBytes"), static_cast<int64_t>(ea.size()));
  auto list = archives_->ListArchives(J(R"({"NamePrefix":"only"})"));
  ASSERT_TRUE(list.ok());
  ASSERT_EQ((*list)["Archives"].as_array().size(), 1u);
  EXPECT_EQ((*list)["Archives"].as_array()[0].as_object().at("EventCount"), 1);
}

TEST_F(ArchiveStoreTest, ScanIsOrderedByEventTimeAndBounded) {
  ASSERT_TRUE(archives_
                  ->CreateArchive(J(R"({"ArchiveName":"all","EventSourceArn":")" +
                                    std::string(kBusArn) + R"("})"))
                  .ok());
  auto ref = archives_->FindByArn("arn:aws:events:us-east-1:000000000000:archive/all");
  ASSERT_TRUE(ref);
  EXPECT_EQ(ref->bus, "default");
  for (int64_t t : {300, 100, 200, -50}) {
    std::string id = std::to_string(1000 + t);
    Put("default", id, t, Event(id, "s"));
  }
  std::vector<int64_t> times;
  std::string last;
  auto n = archives_->Scan(ref->id, -100'000, {}, 300'000, 10,
                           [&](std::string_view k, std::string_view, int64_t t) {
                             times.push_back(t);
                             last = std::string(k);
                           });
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(times, (std::vector<int64_t>{-50'000, 100'000, 200'000}));  // end is exclusive
  times.clear();
  ASSERT_TRUE(archives_
                  ->Scan(ref->id, 0, {}, 400'000, 1,
                         [&](std::string_view k, std::string_view, int64_t t) {
                           times.push_back(t);
                           last = std::string(k);
                         })
                  .ok());
  ASSERT_TRUE(archives_
                  ->Scan(ref->id, 0, last, 400'000, 10,
                         [&](std::string_view, std::string_view, int64_t t) { times.push_back(t); })
                  .ok());
  EXPECT_EQ(times, (std::vector<int64_t>{100'000, 200'000, 300'000}));
}

TEST_F(ArchiveStoreTest, RetentionSweepDeletesByEventTimeAndKeepsCountsExact) {
  ASSERT_TRUE(archives_
                  ->CreateArchive(J(R"({"ArchiveName":"week","EventSourceArn":")" +
                                    std::string(kBusArn) + R"(","RetentionDays":7})"))
                  .ok());
  ASSERT_TRUE(archives_
                  ->CreateArchive(J(R"({"ArchiveName":"forever","EventSourceArn":")" +
                                    std::string(kBusArn) + R"("})"))
                  .ok());
  int64_t now = clock_.NowSeconds();
  Put("default", "old", now - 8 * 86400, Event("old", "s"));
  Put("default", "new", now - 6 * 86400, Event("new", "s"));
  auto swept = archives_->SweepExpired();
  ASSERT_TRUE(swept.ok());
  EXPECT_EQ(*swept, 1);
  EXPECT_EQ(Counter("week", "EventCount"), 1);
  EXPECT_EQ(Counter("week", "SizeBytes"), static_cast<int64_t>(Event("new", "s").size()));
  EXPECT_EQ(Counter("forever", "EventCount"), 2);
  ASSERT_TRUE(archives_->UpdateArchive(J(R"({"ArchiveName":"week","RetentionDays":1})")).ok());
  EXPECT_EQ(*archives_->SweepExpired(), 1);
  EXPECT_EQ(Counter("week", "EventCount"), 0);
  Reopen();
  EXPECT_EQ(Counter("week", "EventCount"), 0);
  EXPECT_EQ(Counter("forever", "EventCount"), 2);
}

TEST_F(ArchiveStoreTest, DeletedArchivesTakeTheirEventsAlong) {
  std::string create = R"({"ArchiveName":"a","EventSourceArn":")" + std::string(kBusArn) + R"("})";
  ASSERT_TRUE(archives_->CreateArchive(J(create)).ok());
  Put("default", "e1", 10, Event("e1", "s"));
  ASSERT_TRUE(archives_->DeleteArchive(J(R"({"ArchiveName":"a"})")).ok());
  EXPECT_EQ(archives_->DeleteArchive(J(R"({"ArchiveName":"a"})")).status().code(),
            StatusCode::kNotFound);
  ASSERT_TRUE(archives_->CreateArchive(J(create)).ok());
  EXPECT_EQ(Counter("a", "EventCount"), 0);
  Reopen();
  EXPECT_EQ(Counter("a", "EventCount"), 0);
}

}  // namespace
}  // namespace bp::archive
