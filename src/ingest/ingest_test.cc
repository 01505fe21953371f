// Ingest::PutEvents against a real RocksStore and Registry, with a recording delivery engine (no
// deliveries happen, so every task written by ingest stays in the store for inspection).
#include "ingest/ingest.h"

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
#include "tasks/tasks.h"

namespace bp::ingest {
namespace {

namespace json = boost::json;
using tasks::NewTask;
using tasks::TaskRecord;

json::object J(std::string_view text) { return json::parse(text).as_object(); }

registry::SecretSealer PlainSealer() {
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
metrics::Registry& FreshMetrics() {
  static std::vector<std::unique_ptr<metrics::Registry>> all;
  all.push_back(std::make_unique<metrics::Registry>());
  return *all.back();
}

constexpr char kQ1[] = "arn:aws:sqs:us-east-1:000000000000:q1";
constexpr char kQ2[] = "arn:aws:sqs:us-east-1:000000000000:q2";
constexpr char kQ3[] = "arn:aws:sqs:us-east-1:000000000000:q3";

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
}  // namespace bp::ingest
