// The delivery engine end to end inside one process: a real RocksStore, Registry, QueueService and
// Ingest, with FakeHttpClient in place of the network. The clock is a ManualClock: retries and the
// rate limiter's window move only when a test advances it, so nothing here depends on timing.
#include "delivery/engine.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <future>
#include <map>
#include <set>
#include <thread>

#include "delivery/fake_http_client.h"
#include "delivery/target_spec.h"
#include "ingest/ingest.h"
#include "metrics/metrics.h"
#include "queue/queue_service.h"
#include "tasks/task_record.h"

namespace bp::delivery {
namespace {

namespace json = boost::json;
using std::chrono::milliseconds;
using tasks::DecodeTask;
using tasks::EncodeTask;
using tasks::TaskKey;
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

std::optional<std::string> HeaderOf(const HttpRequest& req, std::string_view name) {
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

std::map<std::string, std::pair<std::string, std::string>> AttrMap(
    const queue::ReceivedMessage& m) {
  std::map<std::string, std::pair<std::string, std::string>> out;
  for (const auto& a : m.message_attributes) out[a.name] = {a.data_type, a.string_value};
  return out;
}

// Ingest caches metric series per thread, keyed by the metrics registry's address
// (Ingest::CountersFor). A fresh registry allocated at a destroyed one's address would reuse
// dangling series, so each test gets a registry that lives until the process exits.
metrics::Registry& FreshMetrics() {
  static std::vector<std::unique_ptr<metrics::Registry>> all;
  all.push_back(std::make_unique<metrics::Registry>());
  return *all.back();
}

constexpr char kEndpoint[] = "http://127.0.0.1:9/hook";
constexpr int64_t kSecondUs = 1'000'000;

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

TEST_F(EngineTest, ServerErrorSchedulesADurableRetry) {
  TargetOptions opts;
  opts.max_retries = 3;
  SetUpDestination(300, opts);
  fake_->SetScript([](const HttpRequest& req, size_t i) {
    return i == 0 ? FakeHttpClient::Response(req, 500, {}, "boom")
                  : FakeHttpClient::Response(req, 200);
  });
  int64_t t0_ms = clock_.NowMillis();
  auto ids = PutEvents(1);
  ASSERT_TRUE(fake_->WaitForSends(1, milliseconds(10000)));
  std::vector<TaskRecord> tasks;
  ASSERT_TRUE(Eventually([&] {
    tasks = StoredTasks();
    return tasks.size() == 1 && tasks[0].retries == 1;
  }));
  // Retry 1 waits 50 ms * (0.5 + 0.5u) with backoff-base-ms=50.
  EXPECT_GE(tasks[0].due_ms, t0_ms + 25);
  EXPECT_LE(tasks[0].due_ms, t0_ms + 50);
  EXPECT_EQ(tasks[0].last_error_code, "ERROR_FROM_TARGET");
  EXPECT_EQ(tasks[0].last_error_message, "HTTP 500 from 127.0.0.1: boom");
  EXPECT_EQ(tasks[0].event_id, ids[0]);

  // Not due yet: nothing is sent while the clock stands still.
  EXPECT_TRUE(StaysAt(1));

  Advance(50'000);
  ASSERT_TRUE(fake_->WaitForSends(2, milliseconds(10000)));
  auto sent = fake_->Sent();
  EXPECT_EQ(sent[1].request.body, sent[0].request.body);
  ASSERT_TRUE(Eventually([&] { return StoredTasks().empty(); }));
  ASSERT_TRUE(Eventually([&] { return AttemptRecords().size() == 2; }));
  std::multiset<std::string> outcomes;
  for (auto& r : AttemptRecords()) outcomes.insert(std::string(r["outcome"].as_string()));
  EXPECT_EQ(outcomes, (std::multiset<std::string>{"retry", "success"}));
  EXPECT_EQ(Outcomes("success"), 1u);
  EXPECT_EQ(
      Counter("bridgeport_invocation_attempts_total", {{"destination", "d1"}, {"result", "5xx"}}),
      1u);
  EXPECT_TRUE(ReceiveDlq().empty());
}

TEST_F(EngineTest, NoRetriesAllowedSendsToTheDeadLetterQueue) {
  TargetOptions opts;
  opts.max_retries = 0;
  SetUpDestination(300, opts);
  fake_->RespondWith(503, {}, "unavailable");
  auto ids = PutEvents(1);
  auto msg = OneDlqMessage();
  auto body = json::parse(msg.body).as_object();
  EXPECT_EQ(body["id"].as_string(), ids[0]);
  EXPECT_EQ(msg.body, fake_->Sent()[0].request.body);  // the original event
  auto attrs = AttrMap(msg);
  using P = std::pair<std::string, std::string>;
  EXPECT_EQ(attrs["RULE_ARN"], P("String", rule_arn_));
  EXPECT_EQ(attrs["TARGET_ARN"], P("String", dest_arn_));
  EXPECT_EQ(attrs["ERROR_CODE"], P("String", "ERROR_FROM_TARGET"));
  EXPECT_EQ(attrs["ERROR_MESSAGE"], P("String", "HTTP 503 from 127.0.0.1: unavailable"));
  EXPECT_EQ(attrs["EXHAUSTED_RETRY_CONDITION"], P("String", "MaximumRetryAttempts"));
  EXPECT_EQ(attrs["RETRY_ATTEMPTS"], P("Number", "0"));
  EXPECT_EQ(attrs.size(), 6u);
  EXPECT_EQ(fake_->SendCount(), 1u);
  ASSERT_TRUE(Eventually([&] { return StoredTasks().empty(); }));
  EXPECT_EQ(Outcomes("dlq"), 1u);
  EXPECT_EQ(Counter("bridgeport_dlq_sends_total", {}), 1u);
}

TEST_F(EngineTest, RetriesUntilExhaustedThenDeadLetters) {
  TargetOptions opts;
  opts.max_retries = 2;
  SetUpDestination(300, opts);
  fake_->RespondWith(500);
  PutEvents(1);
  for (size_t n = 1; n <= 3; ++n) {
    ASSERT_TRUE(fake_->WaitForSends(n, milliseconds(10000))) << n;
    if (n < 3) {
      ASSERT_TRUE(Eventually([&] {
        auto t = StoredTasks();
        return t.size() == 1 && t[0].retries == static_cast<int>(n);
      }));
      Advance(kSecondUs);  // past any backoff of 50 ms * 2^(n-1)
    }
  }
  auto msg = OneDlqMessage();
  auto attrs = AttrMap(msg);
  EXPECT_EQ(attrs["RETRY_ATTEMPTS"].second, "2");
  EXPECT_EQ(attrs["EXHAUSTED_RETRY_CONDITION"].second, "MaximumRetryAttempts");
  EXPECT_EQ(attrs["ERROR_MESSAGE"].second, "HTTP 500 from 127.0.0.1: ");
  EXPECT_EQ(fake_->SendCount(), 3u);
  ASSERT_TRUE(Eventually([&] { return StoredTasks().empty(); }));
}

TEST_F(EngineTest, ClientErrorDeadLettersWithoutExhaustedCondition) {
  SetUpDestination(300, {});
  fake_->RespondWith(400, {}, "bad request");
  PutEvents(1);
  auto msg = OneDlqMessage();
  auto attrs = AttrMap(msg);
  EXPECT_EQ(attrs["ERROR_CODE"].second, "ERROR_FROM_TARGET");
  EXPECT_EQ(attrs["ERROR_MESSAGE"].second, "HTTP 400 from 127.0.0.1: bad request");
  EXPECT_EQ(attrs.count("EXHAUSTED_RETRY_CONDITION"), 0u);
  EXPECT_EQ(attrs["RETRY_ATTEMPTS"].second, "0");
  EXPECT_EQ(fake_->SendCount(), 1u);
  ASSERT_TRUE(Eventually([&] { return StoredTasks().empty(); }));
}

TEST_F(EngineTest, NoDeadLetterQueueDropsAndCounts) {
  TargetOptions opts;
  opts.dead_letter = false;
  SetUpDestination(300, opts);
  fake_->RespondWith(404);
  PutEvents(1);
  ASSERT_TRUE(Eventually([&] { return Outcomes("dropped") == 1; }));
  ASSERT_TRUE(Eventually([&] { return StoredTasks().empty(); }));
  EXPECT_EQ(Counter("bridgeport_dropped_total",
                    {{"reason", "no_dlq"}, {"error_code", "ERROR_FROM_TARGET"}}),
            1u);
  EXPECT_TRUE(ReceiveDlq().empty());
}

TEST_F(EngineTest, RetryAfterDelaysTheRetry) {
  TargetOptions opts;
  opts.max_retries = 3;
  SetUpDestination(300, opts);
  fake_->SetScript([](const HttpRequest& req, size_t i) {
    return i == 0 ? FakeHttpClient::Response(req, 429, {{"Retry-After", "7"}})
                  : FakeHttpClient::Response(req, 200);
  });
  int64_t t0_ms = clock_.NowMillis();
  PutEvents(1);
  std::vector<TaskRecord> tasks;
  ASSERT_TRUE(Eventually([&] {
    tasks = StoredTasks();
    return tasks.size() == 1 && tasks[0].retries == 1;
  }));
  // The later of Retry-After (7 s) and the backoff (25-50 ms).
  EXPECT_GE(tasks[0].due_ms, t0_ms + 6000);
  EXPECT_LE(tasks[0].due_ms, t0_ms + 8000);
  clock_.SetMicros(tasks[0].due_ms * 1000 - 1000);
  EXPECT_TRUE(StaysAt(1));
  Advance(1000);
  ASSERT_TRUE(fake_->WaitForSends(2, milliseconds(10000)));
  ASSERT_TRUE(Eventually([&] { return StoredTasks().empty(); }));
}

TEST_F(EngineTest, TimeoutIsRetryableAndNxdomainIsNot) {
  TargetOptions opts;
  opts.max_retries = 0;
  SetUpDestination(300, opts);
  fake_->SetScript([](const HttpRequest& req, size_t i) {
    HttpResult r;
    r.kind = i == 0 ? HttpResult::Kind::kTimeout : HttpResult::Kind::kDnsNotFound;
    r.host = FakeHttpClient::HostOf(req.url);
    r.error = i == 0 ? "timed out" : "could not resolve host";
    return r;
  });
  PutEvents(1);
  auto first = OneDlqMessage();
  auto a1 = AttrMap(first);
  EXPECT_EQ(a1["ERROR_CODE"].second, "TIMEOUT");
  EXPECT_EQ(a1["EXHAUSTED_RETRY_CONDITION"].second, "MaximumRetryAttempts");
  PutEvents(1);
  auto second = OneDlqMessage();
  auto a2 = AttrMap(second);
  EXPECT_EQ(a2["ERROR_CODE"].second, "CONNECTION_FAILURE");
  EXPECT_EQ(a2.count("EXHAUSTED_RETRY_CONDITION"), 0u);
  EXPECT_EQ(Counter("bridgeport_invocation_attempts_total",
                    {{"destination", "d1"}, {"result", "timeout"}}),
            1u);
  EXPECT_EQ(Counter("bridgeport_invocation_attempts_total",
                    {{"destination", "d1"}, {"result", "conn_error"}}),
            1u);
}

TEST_F(EngineTest, ParkedDestinationDeadLettersPastTheEventAge) {
  TargetOptions opts;
  opts.max_age_s = 60;
  SetUpDestination(300, opts);
  ASSERT_TRUE(registry_->DeauthorizeConnection(J(R"({"Name":"c1"})")).ok());
  PutEvents(1);
  // Parked: nothing is sent and the task waits durably.
  EXPECT_TRUE(StaysAt(0));
  Advance(30 * kSecondUs);
  EXPECT_TRUE(StaysAt(0));
  EXPECT_EQ(StoredTasks().size(), 1u);
  Advance(31 * kSecondUs);
  auto msg = OneDlqMessage();
  auto attrs = AttrMap(msg);
  EXPECT_EQ(attrs["ERROR_CODE"].second, "NO_PERMISSIONS");
  EXPECT_EQ(attrs["EXHAUSTED_RETRY_CONDITION"].second, "MaximumEventAgeInSeconds");
  EXPECT_EQ(attrs["RETRY_ATTEMPTS"].second, "0");
  EXPECT_EQ(fake_->SendCount(), 0u);
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

TEST_F(EngineTest, MaxInflightBoundsConcurrentAttempts) {
  MakeDestination(300);
  TagDestination("bridgeport:max-inflight", "2");
  MakeRuleAndTarget({});
  StartEngine();
  fake_->Hold(true);
  PutEvents(5);
  ASSERT_TRUE(fake_->WaitForSends(2, milliseconds(10000)));
  EXPECT_TRUE(StaysAt(2));
  fake_->ReleaseHeld();
  ASSERT_TRUE(fake_->WaitForSends(4, milliseconds(10000)));
  EXPECT_TRUE(StaysAt(4));
  fake_->Hold(false);
  fake_->ReleaseHeld();
  ASSERT_TRUE(Eventually([&] { return StoredTasks().empty(); }));
  EXPECT_EQ(fake_->SendCount(), 5u);
}

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

TEST_F(EngineTest, RateLimiterStartsAtMostRPerSecond) {
  constexpr size_t kRate = 5;
  SetUpDestination(kRate, {});
  PutEvents(10);
  PutEvents(10);
  for (size_t window = 1; window <= 4; ++window) {
    ASSERT_TRUE(fake_->WaitForSends(kRate * window, milliseconds(10000))) << window;
    // Let the engine see every completion of this window and try to dispatch again.
    ASSERT_TRUE(Eventually([&] { return Outcomes("success") == kRate * window; }));
    // With the clock standing still the window is used up: no further start, however often the
    // engine wakes.
    EXPECT_TRUE(StaysAt(kRate * window));
    Advance(kSecondUs);
  }
  ASSERT_TRUE(Eventually([&] { return StoredTasks().empty(); }));
  EXPECT_EQ(fake_->SendCount(), 20u);
  // Every R+1 consecutive starts span at least one second of the engine's clock.
  auto sent = fake_->Sent();
  for (size_t i = 0; i + kRate < sent.size(); ++i) {
    EXPECT_GE(sent[i + kRate].mono_us - sent[i].mono_us, kSecondUs) << i;
  }
  EXPECT_GE(Counter("bridgeport_throttled_waits_total", {{"destination", "d1"}}), 1u);
}

// Pipe calls take starts from the same exact limiter as rule deliveries, and come back classified.
TEST_F(EngineTest, PipeCallsShareTheDestinationLimiter) {
  constexpr size_t kRate = 2;
  SetUpDestination(kRate, {});
  fake_->RespondWith(200, {}, R"({"enriched":true})");
  std::mutex mu;
  std::vector<PipeCallResult> results;
  for (int i = 0; i < 3; ++i) {
    PipeCall call;
    call.pipe_name = "p1";
    call.role = "enrichment";
    call.destination = "d1";
    call.payload = R"({"i":1})";
    call.path_document = "{}";
    call.keep_response_body = true;
    engine_->SubmitPipeCall(std::move(call), [&](PipeCallResult r) {
      std::lock_guard<std::mutex> lock(mu);
      results.push_back(std::move(r));
    });
  }
  PutEvents(3);
  for (size_t window = 1; window <= 3; ++window) {
    ASSERT_TRUE(fake_->WaitForSends(kRate * window, milliseconds(10000))) << window;
    EXPECT_TRUE(StaysAt(kRate * window));
    Advance(kSecondUs);
  }
  ASSERT_TRUE(Eventually([&] {
    std::lock_guard<std::mutex> lock(mu);
    return results.size() == 3;
  }));
  for (const auto& r : results) {
    EXPECT_EQ(r.kind, PipeCallResult::Kind::kSuccess);
    EXPECT_EQ(r.body, R"({"enriched":true})");
  }
  EXPECT_EQ(HeaderOf(fake_->Sent()[0].request, "x-api-key"), "sekrit-1");
  size_t pipe_records = 0;
  for (const auto& rec : AttemptRecords()) pipe_records += rec.contains("pipe");
  EXPECT_EQ(pipe_records, 3u);

  fake_->RespondWith(503, {}, "down");
  std::promise<PipeCallResult> failed;
  PipeCall call;
  call.pipe_name = "p1";
  call.role = "target";
  call.destination = "d1";
  call.payload = "{}";
  engine_->SubmitPipeCall(std::move(call), [&](PipeCallResult r) { failed.set_value(r); });
  Advance(kSecondUs);
  auto f = failed.get_future();
  ASSERT_EQ(f.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  PipeCallResult r = f.get();
  EXPECT_EQ(r.kind, PipeCallResult::Kind::kRetryable);
  EXPECT_EQ(r.error_code, DeliveryErrorCode::kErrorFromTarget);
}

}  // namespace
}  // namespace bp::delivery
