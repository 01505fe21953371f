// The fixture of the ingest tests (ingest_*_test.cc): Ingest::PutEvents against a real RocksStore
// and Registry, with a recording delivery engine (no deliveries happen, so every task written by
// ingest stays in the store for inspection).
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <future>
#include <map>
#include <mutex>
#include <regex>
#include <set>
#include <tuple>

#include "common/ids.h"
#include "ingest/ingest.h"
#include "tasks/tasks.h"

namespace bp::ingest::ingest_testing {

namespace json = boost::json;
using tasks::NewTask;
using tasks::TaskRecord;

inline json::object J(std::string_view text) { return json::parse(text).as_object(); }

inline registry::SecretSealer PlainSealer() {
  registry::SecretSealer s;
  s.seal = [](std::string_view p, std::string_view) { return std::string(p); };
  s.open = [](std::string_view p, std::string_view) -> StatusOr<std::string> {
    return std::string(p);
  };
  return s;
}

// Forwards to a real store; counts committed task puts so tests can tell what was durable when
// a callback ran, and can fail the next asynchronous write.
class RecordingStore final : public store::Store {
 public:
  explicit RecordingStore(store::Store& inner) : inner_(inner) {}

  Status Write(store::WriteBatch batch) override { return inner_.Write(std::move(batch)); }
  void WriteAsync(store::WriteBatch batch, std::function<void(Status)> done) override {
    async_writes_++;
    size_t task_puts = 0;
    for (const auto& op : batch.ops()) {
      if (op.kind == store::WriteBatch::Op::Kind::kPut && op.family == store::Family::kTasks) {
        task_puts++;
      }
    }
    if (fail_next_async_.exchange(false)) {
      done(Status::IoError("injected write failure"));
      return;
    }
    inner_.WriteAsync(std::move(batch), [this, task_puts, done = std::move(done)](Status s) {
      if (s.ok()) committed_task_puts_ += task_puts;
      done(s);
    });
  }
  StatusOr<std::optional<std::string>> Get(store::Family f, std::string_view key) override {
    return inner_.Get(f, key);
  }
  Status Scan(store::Family f, std::string_view begin, std::string_view end,
              const store::ScanFn& fn) override {
    return inner_.Scan(f, begin, end, fn);
  }
  void CompactRange(store::Family f, std::string_view begin, std::string_view end) override {
    inner_.CompactRange(f, begin, end);
  }
  uint64_t ApproximateSize(store::Family f) override { return inner_.ApproximateSize(f); }

  size_t committed_task_puts() const { return committed_task_puts_.load(); }
  size_t async_writes() const { return async_writes_.load(); }
  void FailNextAsyncWrite() { fail_next_async_ = true; }

 private:
  store::Store& inner_;
  std::atomic<size_t> committed_task_puts_{0};
  std::atomic<size_t> async_writes_{0};
  std::atomic<bool> fail_next_async_{false};
};

// Records what ingest hands over; delivers nothing.
class RecordingEngine final : public tasks::TaskSink {
 public:
  explicit RecordingEngine(const RecordingStore& store) : store_(store) {}
  uint64_t NextSeq() override { return next_seq_.fetch_add(1); }
  void Enqueue(std::vector<NewTask> tasks) override {
    std::lock_guard<std::mutex> lock(mu_);
    committed_at_enqueue_.push_back(store_.committed_task_puts());
    for (auto& t : tasks) tasks_.push_back(std::move(t));
  }

  std::vector<NewTask> tasks() const {
    std::lock_guard<std::mutex> lock(mu_);
    return tasks_;
  }
  std::vector<size_t> committed_at_enqueue() const {
    std::lock_guard<std::mutex> lock(mu_);
    return committed_at_enqueue_;
  }

 private:
  const RecordingStore& store_;
  std::atomic<uint64_t> next_seq_{1000};
  mutable std::mutex mu_;
  std::vector<NewTask> tasks_;
  std::vector<size_t> committed_at_enqueue_;
};

// Ingest caches metric series per thread, keyed by the metrics registry's address
// (Ingest::CountersFor). A fresh registry allocated at a destroyed one's address would reuse
// dangling series, so each test gets a registry that lives until the process exits.
inline metrics::Registry& FreshMetrics() {
  static std::vector<std::unique_ptr<metrics::Registry>> all;
  all.push_back(std::make_unique<metrics::Registry>());
  return *all.back();
}

inline constexpr char kQ1[] = "arn:aws:sqs:us-east-1:000000000000:q1";
inline constexpr char kQ2[] = "arn:aws:sqs:us-east-1:000000000000:q2";
inline constexpr char kQ3[] = "arn:aws:sqs:us-east-1:000000000000:q3";

class IngestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("bp_ingest_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    auto rocks = store::OpenRocksStore({.path = dir_.string()});
    ASSERT_TRUE(rocks.ok()) << rocks.status().ToString();
    rocks_ = std::move(rocks).value();
    store_ = std::make_unique<RecordingStore>(*rocks_);
    registry::RegistryOptions opts;
    opts.queue_exists = [](std::string_view) { return true; };
    auto reg = registry::Registry::Open(*store_, clock_, opts, PlainSealer());
    ASSERT_TRUE(reg.ok()) << reg.status().ToString();
    registry_ = std::move(reg).value();
    engine_ = std::make_unique<RecordingEngine>(*store_);
    MakeIngest({});
  }
  void TearDown() override {
    ingest_.reset();
    engine_.reset();
    registry_.reset();
    store_.reset();
    rocks_.reset();
    std::filesystem::remove_all(dir_);
  }
  void MakeIngest(IngestOptions options) {
    ingest_ = std::make_unique<Ingest>(*store_, *registry_, *engine_, metrics_, clock_, options);
  }

  void Rule(const std::string& name, const std::string& pattern,
            const std::string& bus = "default") {
    json::object in;
    in["Name"] = name;
    in["EventBusName"] = bus;
    in["EventPattern"] = pattern;
    auto r = registry_->PutRule(in);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }
  void Target(const std::string& rule, const std::string& id, const std::string& arn,
              const std::string& bus = "default", json::object extra = {}) {
    json::object t = std::move(extra);
    t["Id"] = id;
    t["Arn"] = arn;
    json::object in;
    in["Rule"] = rule;
    in["EventBusName"] = bus;
    in["Targets"] = json::array{t};
    auto r = registry_->PutTargets(in);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_EQ((*r)["FailedEntryCount"].as_int64(), 0) << json::serialize(*r);
  }

  StatusOr<json::object> Put(const json::object& request, const Caller& caller = {}) {
    std::promise<StatusOr<json::object>> p;
    auto f = p.get_future();
    ingest_->PutEvents(
        request, [&p](StatusOr<json::object> r) { p.set_value(std::move(r)); }, caller);
    if (f.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
      ADD_FAILURE() << "PutEvents did not reply";
      return Status::Internal("no reply");
    }
    return f.get();
  }
  json::object PutOk(const json::array& entries) {
    json::object req;
    req["Entries"] = entries;
    auto r = Put(req);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : json::object{};
  }

  static json::object Entry(std::string source = "shop", std::string detail = R"({"n":1})") {
    json::object e;
    e["Source"] = source;
    e["DetailType"] = "Order Placed";
    e["Detail"] = detail;
    return e;
  }

  std::vector<std::pair<uint64_t, TaskRecord>> StoredTasks() {
    std::vector<std::pair<uint64_t, TaskRecord>> out;
    Status s =
        store_->Scan(store::Family::kTasks, "", "", [&](std::string_view k, std::string_view v) {
          auto seq = tasks::SeqFromTaskKey(k);
          auto task = tasks::DecodeTask(v);
          EXPECT_TRUE(seq && task);
          if (seq && task) out.emplace_back(*seq, std::move(*task));
          return true;
        });
    EXPECT_TRUE(s.ok()) << s.ToString();
    return out;
  }

  uint64_t Counter(const std::string& name, const metrics::Labels& labels) {
    return metrics_.GetCounter(name, "", labels).value();
  }

  ManualClock clock_{1'700'000'123'456'789};
  std::filesystem::path dir_;
  std::unique_ptr<store::Store> rocks_;
  std::unique_ptr<RecordingStore> store_;
  std::unique_ptr<registry::Registry> registry_;
  std::unique_ptr<RecordingEngine> engine_;
  metrics::Registry& metrics_ = FreshMetrics();
  std::unique_ptr<Ingest> ingest_;
};

}  // namespace bp::ingest::ingest_testing
