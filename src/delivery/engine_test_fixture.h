// The fixture of the delivery engine tests (engine_*_test.cc): the engine end to end inside one
// process, with a real RocksStore, Registry, QueueService and Ingest, and FakeHttpClient in place
// of the network. The clock is a ManualClock: retries and the rate limiter's window move only
// when a test advances it, so nothing in these tests depends on timing.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <future>
#include <map>
#include <set>
#include <thread>

#include "delivery/engine.h"
#include "delivery/fake_http_client.h"
#include "delivery/target_spec.h"
#include "ingest/ingest.h"
#include "metrics/metrics.h"
#include "queue/queue_service.h"
#include "tasks/task_record.h"

namespace bp::delivery::engine_testing {

namespace json = boost::json;
using std::chrono::milliseconds;
using tasks::DecodeTask;
using tasks::EncodeTask;
using tasks::TaskKey;
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

// Polls `cond` until it holds or `timeout` passes.
template <typename F>
bool Eventually(F&& cond, milliseconds timeout = milliseconds(10000)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!cond()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(milliseconds(2));
  }
  return true;
}

inline std::optional<std::string> HeaderOf(const HttpRequest& req, std::string_view name) {
  for (const auto& [k, v] : req.headers) {
    if (k.size() == name.size() && std::equal(k.begin(), k.end(), name.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) ==
                 std::tolower(static_cast<unsigned char>(b));
        })) {
      return v;
    }
  }
  return std::nullopt;
}

inline std::map<std::string, std::pair<std::string, std::string>> AttrMap(
    const queue::ReceivedMessage& m) {
  std::map<std::string, std::pair<std::string, std::string>> out;
  for (const auto& a : m.message_attributes) out[a.name] = {a.data_type, a.string_value};
  return out;
}

// Ingest caches metric series per thread, keyed by the metrics registry's address
// (Ingest::CountersFor). A fresh registry allocated at a destroyed one's address would reuse
// dangling series, so each test gets a registry that lives until the process exits.
inline metrics::Registry& FreshMetrics() {
  static std::vector<std::unique_ptr<metrics::Registry>> all;
  all.push_back(std::make_unique<metrics::Registry>());
  return *all.back();
}

inline constexpr char kEndpoint[] = "http://127.0.0.1:9/hook";
inline constexpr int64_t kSecondUs = 1'000'000;

struct TargetOptions {
  std::string arn;  // empty: the API destination d1
  std::optional<int> max_retries;
  std::optional<int> max_age_s;
  bool dead_letter = true;
  json::object extra;  // merged into the target (InputTransformer, HttpParameters, ...)
};

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("bp_engine_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    auto store = store::OpenRocksStore({.path = dir_.string()});
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
    queue::QueueServiceOptions qopts;
    qopts.background_thread = false;
    auto queues = queue::QueueService::Open(*store_, clock_, qopts);
    ASSERT_TRUE(queues.ok()) << queues.status().ToString();
    queues_ = std::move(queues).value();
    ASSERT_TRUE(queues_->CreateQueue("dlq", {}, "http://localhost:4010").ok());
    dlq_arn_ = queues_->QueueArn("dlq");

    registry::RegistryOptions ropts;
    ropts.queue_exists = [this](std::string_view arn) { return queues_->QueueExists(arn); };
    ropts.validate_target_input = [](const json::object& t) { return ValidateTargetInputJson(t); };
    auto reg = registry::Registry::Open(*store_, clock_, ropts, PlainSealer());
    ASSERT_TRUE(reg.ok()) << reg.status().ToString();
    registry_ = std::move(reg).value();
    fake_ = std::make_unique<FakeHttpClient>(clock_);
  }

  void TearDown() override {
    StopEngine();
    fake_.reset();
    registry_.reset();
    queues_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  // --- registry setup through the control-plane operations ---

  // Connection c1 (API_KEY), destination d1 at kEndpoint with rate `rate`.
  void MakeDestination(int rate, const std::string& endpoint = kEndpoint) {
    auto c = registry_->CreateConnection(J(R"({"Name":"c1","AuthorizationType":"API_KEY",
        "AuthParameters":{"ApiKeyAuthParameters":{"ApiKeyName":"x-api-key","ApiKeyValue":"sekrit-1"}}})"));
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    json::object d;
    d["Name"] = "d1";
    d["ConnectionArn"] = (*c)["ConnectionArn"];
    d["InvocationEndpoint"] = endpoint;
    d["HttpMethod"] = "POST";
    d["InvocationRateLimitPerSecond"] = rate;
    auto r = registry_->CreateApiDestination(d);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    dest_arn_ = std::string((*r)["ApiDestinationArn"].as_string());
  }
  void TagDestination(const std::string& key, const std::string& value) {
    json::object in;
    in["ResourceARN"] = dest_arn_;
    json::object tag;
    tag["Key"] = key;
    tag["Value"] = value;
    in["Tags"] = json::array{tag};
    auto r = registry_->TagResource(in);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }
  void MakeRuleAndTarget(const TargetOptions& opts) {
    auto rule = registry_->PutRule(J(R"({"Name":"r1","EventPattern":"{\"source\":[\"shop\"]}"})"));
    ASSERT_TRUE(rule.ok()) << rule.status().ToString();
    rule_arn_ = std::string((*rule)["RuleArn"].as_string());
    json::object t = opts.extra;
    t["Id"] = "t1";
    t["Arn"] = opts.arn.empty() ? dest_arn_ : opts.arn;
    if (opts.max_retries || opts.max_age_s) {
      json::object rp;
      if (opts.max_retries) rp["MaximumRetryAttempts"] = *opts.max_retries;
      if (opts.max_age_s) rp["MaximumEventAgeInSeconds"] = *opts.max_age_s;
      t["RetryPolicy"] = rp;
    }
    if (opts.dead_letter) {
      json::object dl;
      dl["Arn"] = dlq_arn_;
      t["DeadLetterConfig"] = dl;
    }
    json::object in;
    in["Rule"] = "r1";
    in["Targets"] = json::array{t};
    auto r = registry_->PutTargets(in);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_EQ((*r)["FailedEntryCount"].as_int64(), 0) << json::serialize(*r);
  }
  // Destination with rate `rate`, small backoff, and rule r1 -> t1 with the given options.
  void SetUpDestination(int rate, const TargetOptions& opts) {
    MakeDestination(rate);
    TagDestination("bridgeport:backoff-base-ms", "50");
    MakeRuleAndTarget(opts);
    StartEngine();
  }

  // --- engine lifecycle ---

  // Starts an engine; unless `wait_window`, the clock is moved past the one-second start-up pause
  // during which a (re)started engine starts no attempt.
  void StartEngine(bool wait_window = false) {
    EngineDeps deps;
    deps.store = store_.get();
    deps.registry = registry_.get();
    deps.queues = queues_.get();
    deps.metrics = &metrics_;
    deps.http = fake_.get();
    deps.clock = &clock_;
    deps.bus_fanout = [this](const std::string& bus, const std::string& event, int64_t ingestion_ms,
                             int hops, store::WriteBatch& batch) {
      return ingest_->Fanout(bus, event, ingestion_ms, hops, batch);
    };
    auto engine = DeliveryEngine::Start(std::move(deps));
    ASSERT_TRUE(engine.ok()) << engine.status().ToString();
    engine_ = std::move(engine).value();
    ingest_ = std::make_unique<ingest::Ingest>(*store_, *registry_, *engine_, metrics_, clock_,
                                               ingest::IngestOptions{});
    if (!wait_window) Advance(kSecondUs);
  }

  // Stops the engine; held requests are failed as a shut-down client would, and every store
  // callback the engine queued has run before the engine is destroyed.
  void StopEngine() {
    if (!engine_) return;
    ingest_.reset();
    engine_->Stop();
    fake_->FailHeld();
    EXPECT_TRUE(fake_->WaitForAnswers(fake_->SendCount(), milliseconds(10000)));
    Flush();
    engine_.reset();
  }

  // Returns once every earlier store write and its callback has completed.
  void Flush() { ASSERT_TRUE(store_->Write(store::WriteBatch()).ok()); }

  // True if no further request is sent within a short bounded wait (with the clock standing still
  // nothing may be sent, so this is an upper-bound check that cannot fail spuriously).
  bool StaysAt(size_t sends) {
    Nudge();
    return !fake_->WaitForSends(sends + 1, milliseconds(200)) && fake_->SendCount() == sends;
  }

  // Wakes the engine thread so it looks at the (manual) clock again.
  void Nudge() {
    if (engine_) engine_->Enqueue({});
  }
  void Advance(int64_t micros) {
    clock_.AdvanceMicros(micros);
    Nudge();
  }

  // --- events and inspection ---

  std::vector<std::string> PutEvents(int n, const std::string& detail = R"({"n":1.50})") {
    json::array entries;
    for (int i = 0; i < n; ++i) {
      json::object e;
      e["Source"] = "shop";
      e["DetailType"] = "Order Placed";
      e["Detail"] = detail;
      entries.push_back(e);
    }
    json::object req;
    req["Entries"] = entries;
    std::promise<StatusOr<json::object>> p;
    auto f = p.get_future();
    ingest_->PutEvents(req, [&p](StatusOr<json::object> r) { p.set_value(std::move(r)); });
    EXPECT_EQ(f.wait_for(std::chrono::seconds(10)), std::future_status::ready);
    auto r = f.get();
    std::vector<std::string> ids;
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok()) return ids;
    EXPECT_EQ((*r)["FailedEntryCount"].as_int64(), 0) << json::serialize(*r);
    for (const auto& e : (*r)["Entries"].as_array()) {
      if (e.as_object().contains("EventId")) ids.emplace_back(e.at("EventId").as_string());
    }
    return ids;
  }

  std::vector<TaskRecord> StoredTasks() {
    std::vector<TaskRecord> out;
    Status s =
        store_->Scan(store::Family::kTasks, "", "", [&](std::string_view, std::string_view v) {
          auto task = DecodeTask(v);
          EXPECT_TRUE(task.has_value());
          if (task) out.push_back(std::move(*task));
          return true;
        });
    EXPECT_TRUE(s.ok()) << s.ToString();
    return out;
  }
  std::vector<json::object> AttemptRecords() {
    std::vector<json::object> out;
    Status s =
        store_->Scan(store::Family::kAttempts, "", "", [&](std::string_view, std::string_view v) {
          out.push_back(json::parse(v).as_object());
          return true;
        });
    EXPECT_TRUE(s.ok()) << s.ToString();
    return out;
  }

  std::vector<queue::ReceivedMessage> ReceiveDlq(const std::string& queue = "dlq") {
    queue::ReceiveRequest req;
    req.queue = queue;
    req.max_messages = 10;
    req.wait_seconds = 0;
    req.attribute_names = {"All"};
    req.message_attribute_names = {"All"};
    std::promise<StatusOr<std::vector<queue::ReceivedMessage>>> p;
    auto f = p.get_future();
    queues_->ReceiveMessage(req, [&p](auto r) { p.set_value(std::move(r)); });
    EXPECT_EQ(f.wait_for(std::chrono::seconds(10)), std::future_status::ready);
    auto r = f.get();
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : std::vector<queue::ReceivedMessage>{};
  }
  // Waits for exactly one dead-letter message.
  queue::ReceivedMessage OneDlqMessage() {
    std::vector<queue::ReceivedMessage> got;
    EXPECT_TRUE(Eventually([&] {
      auto m = ReceiveDlq();
      for (auto& x : m) got.push_back(std::move(x));
      return !got.empty();
    }));
    EXPECT_EQ(got.size(), 1u);
    return got.empty() ? queue::ReceivedMessage{} : got[0];
  }

  uint64_t Counter(const std::string& name, const metrics::Labels& labels) {
    return metrics_.GetCounter(name, "", labels).value();
  }
  uint64_t Outcomes(const std::string& outcome) {
    return Counter("bridgeport_invocations_total", {{"outcome", outcome}});
  }

  ManualClock clock_;
  std::filesystem::path dir_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<queue::QueueService> queues_;
  std::unique_ptr<registry::Registry> registry_;
  metrics::Registry& metrics_ = FreshMetrics();
  std::unique_ptr<FakeHttpClient> fake_;
  std::unique_ptr<DeliveryEngine> engine_;
  std::unique_ptr<ingest::Ingest> ingest_;
  std::string dlq_arn_, dest_arn_, rule_arn_;
};

}  // namespace bp::delivery::engine_testing
