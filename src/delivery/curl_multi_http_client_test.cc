// CurlMultiHttpClient against the recording sink (tests/integration/fakes/sink.py) on 127.0.0.1.
#include "delivery/curl_multi_http_client.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <mutex>
#include <set>
#include <thread>

#include "delivery/sink_process.h"

namespace bp::delivery {
namespace {

namespace json = boost::json;
using testing::SinkProcess;

constexpr auto kDeadline = std::chrono::seconds(60);

class HttpClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto sink = SinkProcess::Start(BP_SINK_PY);
    ASSERT_TRUE(sink.ok()) << sink.status().ToString();
    sink_ = std::move(sink.value());
    client_ = MakeClient({});
    ASSERT_NE(client_, nullptr);
  }

  static std::unique_ptr<CurlMultiHttpClient> MakeClient(CurlHttpClientOptions options) {
    auto c = CurlMultiHttpClient::Create(options);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? std::move(c.value()) : nullptr;
  }

  HttpResult SendSync(HttpClient& client, HttpRequest req) {
    auto promise = std::make_shared<std::promise<HttpResult>>();
    std::future<HttpResult> f = promise->get_future();
    client.Send(std::move(req), [promise](HttpResult r) { promise->set_value(std::move(r)); });
    if (f.wait_for(kDeadline) != std::future_status::ready) {
      ADD_FAILURE() << "no result within deadline";
      return {};
    }
    return f.get();
  }

  HttpResult Send(std::string method, const std::string& path, std::string body = "",
                  HttpHeaders headers = {}) {
    HttpRequest req;
    req.method = std::move(method);
    req.url = sink_->Url(path);
    req.body = std::move(body);
    req.headers = std::move(headers);
    return SendSync(*client_, std::move(req));
  }

  void Control(const std::string& path, const std::string& body) {
    const HttpResult r = Send("POST", path, body);
    ASSERT_EQ(r.status, 200) << r.error;
  }

  json::array Requests() {
    HttpRequest req{"GET", sink_->Url("/_control/requests"), {}, "", 5000};
    const HttpResult r = SendSync(*client_, req);
    EXPECT_EQ(r.status, 200) << r.error;
    // body_prefix keeps only 1 KiB; fetch the full list through a client with a large prefix.
    CurlHttpClientOptions big;
    big.kept_body_bytes = big.max_response_bytes;
    auto reader = MakeClient(big);
    const HttpResult full = SendSync(*reader, req);
    return json::parse(full.body_prefix).as_array();
  }

  static std::string HeaderOf(const json::object& request, std::string_view name) {
    for (const auto& h : request.at("headers").as_array()) {
      if (h.as_array()[0].as_string() == name) return std::string(h.as_array()[1].as_string());
    }
    return "<absent>";
  }

  std::unique_ptr<SinkProcess> sink_;
  std::unique_ptr<CurlMultiHttpClient> client_;
};

TEST_F(HttpClientTest, StatusCodesRetryAfterAndKeepAlive) {
  Control("/_control/script",
          R"([{"status":500,"body":"boom"},{"status":429,"retry_after":"2"},{"status":404},)"
          R"({"status":204}])");
  const HttpResult a = Send("POST", "/a", "{}");
  EXPECT_EQ(a.kind, HttpResult::Kind::kResponse);
  EXPECT_EQ(a.status, 500);
  EXPECT_EQ(a.body_prefix, "boom");
  EXPECT_EQ(a.host, "127.0.0.1");
  const HttpResult b = Send("POST", "/b", "{}");
  EXPECT_EQ(b.status, 429);
  ASSERT_TRUE(b.Header("retry-after").has_value());
  EXPECT_EQ(*b.Header("Retry-After"), "2");
  EXPECT_EQ(Send("POST", "/c", "{}").status, 404);
  EXPECT_EQ(Send("POST", "/d", "{}").status, 204);
  const HttpResult e = Send("POST", "/e", "{}");
  EXPECT_EQ(e.status, 200);
  EXPECT_TRUE(e.reused_connection);
  // Sequential requests share one kept-alive connection.
  EXPECT_EQ(*a.Header("X-Sink-Connection-Id"), *e.Header("X-Sink-Connection-Id"));
  const json::array reqs = Requests();
  ASSERT_EQ(reqs.size(), 5u);  // control requests are not recorded
  std::set<int64_t> conns;
  for (const auto& r : reqs) conns.insert(r.as_object().at("connection_id").as_int64());
  EXPECT_EQ(conns.size(), 1u);
}

TEST_F(HttpClientTest, HeadersAndBodySentExactly) {
  std::string body = R"({"detail":{"k":"v","u":"é✓"},"pad":")";
  body += std::string(200 * 1024, 'p');  // large enough that curl would normally use Expect
  body += "\"}";
  const HttpHeaders headers = {{"Content-Type", "application/json; charset=utf-8"},
                               {"X-Custom", "v1, v2"},
                               {"x-lower-case", "MiXeD"},
                               {"X-Empty", ""}};
  const HttpResult r = Send("POST", "/path/x?q=1&r=%20", body, headers);
  ASSERT_EQ(r.status, 200) << r.error;
  const json::array reqs = Requests();
  ASSERT_EQ(reqs.size(), 1u);
  const json::object& got = reqs[0].as_object();
  EXPECT_EQ(got.at("method").as_string(), "POST");
  EXPECT_EQ(got.at("path").as_string(), "/path/x");
  EXPECT_EQ(got.at("query").as_string(), "q=1&r=%20");
  EXPECT_EQ(got.at("body").as_string(), body);
  // Exactly the given headers plus Host and Content-Length; nothing of curl's own.
  std::vector<std::string> names;
  for (const auto& h : got.at("headers").as_array()) {
    names.emplace_back(h.as_array()[0].as_string());
  }
  EXPECT_EQ(names, (std::vector<std::string>{"Host", "Content-Type", "X-Custom", "x-lower-case",
                                             "X-Empty", "Content-Length"}));
  EXPECT_EQ(HeaderOf(got, "Content-Type"), "application/json; charset=utf-8");
  EXPECT_EQ(HeaderOf(got, "X-Custom"), "v1, v2");
  EXPECT_EQ(HeaderOf(got, "x-lower-case"), "MiXeD");
  EXPECT_EQ(HeaderOf(got, "X-Empty"), "");
  EXPECT_EQ(HeaderOf(got, "Content-Length"), std::to_string(body.size()));
}

TEST_F(HttpClientTest, MethodsAndBodies) {
  EXPECT_EQ(Send("GET", "/g").status, 200);
  EXPECT_EQ(Send("HEAD", "/h").status, 200);
  EXPECT_EQ(Send("PUT", "/p", "put-body").status, 200);
  EXPECT_EQ(Send("PATCH", "/pa", "patch-body").status, 200);
  EXPECT_EQ(Send("DELETE", "/d").status, 200);
  EXPECT_EQ(Send("OPTIONS", "/o").status, 200);
  EXPECT_EQ(Send("POST", "/empty").status, 200);
  const json::array reqs = Requests();
  ASSERT_EQ(reqs.size(), 7u);
  const char* methods[] = {"GET", "HEAD", "PUT", "PATCH", "DELETE", "OPTIONS", "POST"};
  const char* bodies[] = {"", "", "put-body", "patch-body", "", "", ""};
  for (size_t i = 0; i < 7; ++i) {
    const json::object& r = reqs[i].as_object();
    EXPECT_EQ(r.at("method").as_string(), methods[i]);
    EXPECT_EQ(r.at("body").as_string(), bodies[i]);
  }
  EXPECT_EQ(HeaderOf(reqs[0].as_object(), "Content-Length"), "<absent>");
  EXPECT_EQ(HeaderOf(reqs[1].as_object(), "Content-Length"), "<absent>");
  EXPECT_EQ(HeaderOf(reqs[6].as_object(), "Content-Length"), "0");
}

TEST_F(HttpClientTest, Timeout) {
  Control("/_control/script", R"([{"delay_ms":3000}])");
  HttpRequest req{"POST", sink_->Url("/slow"), {}, "{}", 300};
  const HttpResult r = SendSync(*client_, req);
  EXPECT_EQ(r.kind, HttpResult::Kind::kTimeout) << r.error;
  EXPECT_EQ(r.status, 0);
  EXPECT_FALSE(r.error.empty());
}

TEST_F(HttpClientTest, ConnectionRefused) {
  // A bound socket that does not listen: connecting to it is refused.
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  HttpRequest req{
      "POST", "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/", {}, "{}", 5000};
  const HttpResult r = SendSync(*client_, req);
  close(fd);
  EXPECT_EQ(r.kind, HttpResult::Kind::kConnectionFailed) << r.error;
}

TEST_F(HttpClientTest, ResetWithoutResponseOnFreshConnection) {
  Control("/_control/script", R"([{"reset":true}])");
  auto fresh = MakeClient({});
  const HttpResult r = SendSync(*fresh, {"POST", sink_->Url("/r"), {}, "{}", 5000});
  EXPECT_EQ(r.kind, HttpResult::Kind::kConnectionFailed) << r.error;
  EXPECT_FALSE(r.reused_connection);
  // The client recovers on a new connection.
  EXPECT_EQ(SendSync(*fresh, {"POST", sink_->Url("/r2"), {}, "{}", 5000}).status, 200);
  EXPECT_EQ(Requests().size(), 2u);
}

// libcurl re-sends once, on a new connection, a request whose reused keep-alive connection died
// before any response byte (it cannot tell this from an idle close by the server). Documented in
// docs/semantics.md: the receiver may see the request twice.
TEST_F(HttpClientTest, ResetOnReusedConnectionIsResentOnceByLibcurl) {
  Control("/_control/script", R"([{"reset":true}])");  // warms client_'s connection
  const HttpResult r = Send("POST", "/r", "{}");
  EXPECT_EQ(r.kind, HttpResult::Kind::kResponse) << r.error;
  EXPECT_EQ(r.status, 200);
  const json::array reqs = Requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[0].as_object().at("path").as_string(), "/r");
  EXPECT_EQ(reqs[1].as_object().at("path").as_string(), "/r");
}

TEST_F(HttpClientTest, BodyPrefixAndReadLimit) {
  const std::string big(5000, 'z');
  const std::string step = R"({"status":503,"body":")" + big + R"("})";
  Control("/_control/script", "[" + step + "," + step + "]");
  const HttpResult r = Send("POST", "/big", "{}");
  EXPECT_EQ(r.kind, HttpResult::Kind::kResponse);
  EXPECT_EQ(r.body_prefix, std::string(1024, 'z'));

  CurlHttpClientOptions small;
  small.max_response_bytes = 4096;
  auto limited = MakeClient(small);
  const HttpResult cut = SendSync(*limited, {"POST", sink_->Url("/big2"), {}, "{}", 5000});
  EXPECT_EQ(cut.kind, HttpResult::Kind::kResponseTooLarge) << cut.error;
  EXPECT_EQ(cut.status, 503);
  EXPECT_EQ(cut.body_prefix, std::string(1024, 'z'));
}

TEST_F(HttpClientTest, InvalidRequestsFailWithoutSending) {
  EXPECT_EQ(Send("POST", "/x", "", {{"Bad\r\nName", "v"}}).kind, HttpResult::Kind::kInternal);
  EXPECT_EQ(Send("POST", "/x", "", {{"X-A", "v\r\nInjected: 1"}}).kind,
            HttpResult::Kind::kInternal);
  HttpRequest no_url{"POST", "not a url", {}, "", 5000};
  EXPECT_EQ(SendSync(*client_, no_url).kind, HttpResult::Kind::kInternal);
  EXPECT_EQ(Requests().size(), 0u);
}

TEST_F(HttpClientTest, ManyConcurrentRequestsShareBoundedConnections) {
  CurlHttpClientOptions opts;
  opts.max_total_connections = 8;
  auto client = MakeClient(opts);
  constexpr int kRequests = 400;
  std::mutex mu;
  std::condition_variable cv;
  int done = 0, ok = 0;
  std::set<std::string> conns;
  std::vector<std::thread> senders;
  for (int t = 0; t < 4; ++t) {
    senders.emplace_back([&, t] {
      for (int i = 0; i < kRequests / 4; ++i) {
        HttpRequest req{"POST",
                        sink_->Url("/m/" + std::to_string(t) + "/" + std::to_string(i)),
                        {{"Content-Type", "application/json"}},
                        "{}",
                        30000};
        client->Send(std::move(req), [&](HttpResult r) {
          std::lock_guard<std::mutex> lock(mu);
          ++done;
          if (r.status == 200) {
            ++ok;
            conns.insert(std::string(r.Header("X-Sink-Connection-Id").value_or("")));
          }
          cv.notify_all();
        });
      }
    });
  }
  for (auto& s : senders) s.join();
  std::unique_lock<std::mutex> lock(mu);
  ASSERT_TRUE(cv.wait_for(lock, kDeadline, [&] { return done == kRequests; }));
  EXPECT_EQ(ok, kRequests);
  EXPECT_LE(conns.size(), 8u);
  EXPECT_EQ(client->InFlight(), 0);
  lock.unlock();
  EXPECT_EQ(Requests().size(), static_cast<size_t>(kRequests));
}

TEST_F(HttpClientTest, ShutdownCompletesInFlightTransfers) {
  Control("/_control/default", R"({"delay_ms":20000})");
  auto client = MakeClient({});
  std::vector<std::future<HttpResult>> results;
  for (int i = 0; i < 3; ++i) {
    auto p = std::make_shared<std::promise<HttpResult>>();
    results.push_back(p->get_future());
    client->Send({"POST", sink_->Url("/s"), {}, "{}", 60000},
                 [p](HttpResult r) { p->set_value(std::move(r)); });
  }
  // Wait until the sink holds all three, so they are really in flight.
  const HttpResult w =
      SendSync(*client_, {"GET", sink_->Url("/_control/wait?n=3&timeout=30"), {}, "", 40000});
  EXPECT_NE(w.body_prefix.find("\"count\": 3"), std::string::npos) << w.body_prefix;
  client.reset();
  for (auto& f : results) {
    ASSERT_EQ(f.wait_for(std::chrono::seconds(0)), std::future_status::ready);
    const HttpResult r = f.get();
    EXPECT_EQ(r.kind, HttpResult::Kind::kInternal);
    EXPECT_EQ(r.error, "shutdown");
  }
}

TEST_F(HttpClientTest, AcceptEncodingIsSentAsGiven) {
  const HttpResult r =
      Send("POST", "/enc", "{}", {{"Accept-Encoding", "gzip,deflate"}, {"X-B", "1"}});
  ASSERT_EQ(r.status, 200) << r.error;
  const json::array reqs = Requests();
  ASSERT_EQ(reqs.size(), 1u);
  const json::object& got = reqs[0].as_object();
  EXPECT_EQ(HeaderOf(got, "Accept-Encoding"), "gzip,deflate");
  EXPECT_EQ(HeaderOf(got, "X-B"), "1");
  EXPECT_EQ(got.at("headers").as_array().size(), 4u);  // + Host, Content-Length
}

// Easy handles are pooled: nothing of one request (headers, method, body, Accept-Encoding) may
// carry over to the next request that reuses the handle.
TEST_F(HttpClientTest, ReusedHandlesStartClean) {
  ASSERT_EQ(Send("POST", "/one", "body-1", {{"X-A", "1"}, {"Accept-Encoding", "gzip"}}).status,
            200);
  ASSERT_EQ(Send("HEAD", "/two").status, 200);
  ASSERT_EQ(Send("GET", "/three").status, 200);
  ASSERT_EQ(Send("DELETE", "/four", "", {{"X-B", "2"}}).status, 200);
  const json::array reqs = Requests();
  ASSERT_EQ(reqs.size(), 4u);
  const char* methods[] = {"POST", "HEAD", "GET", "DELETE"};
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(reqs[i].as_object().at("method").as_string(), methods[i]);
  }
  for (size_t i = 1; i < 4; ++i) {
    const json::object& r = reqs[i].as_object();
    EXPECT_EQ(r.at("body").as_string(), "");
    EXPECT_EQ(HeaderOf(r, "X-A"), "<absent>");
    EXPECT_EQ(HeaderOf(r, "Accept-Encoding"), "<absent>");
    EXPECT_EQ(HeaderOf(r, "Content-Length"), "<absent>");
  }
  EXPECT_EQ(reqs[2].as_object().at("headers").as_array().size(), 1u);  // Host only
  EXPECT_EQ(HeaderOf(reqs[3].as_object(), "X-B"), "2");
}

// Requests beyond max_host_connections wait in the client, never on more connections.
TEST_F(HttpClientTest, PerHostBoundQueuesExtraRequests) {
  CurlHttpClientOptions opts;
  opts.max_host_connections = 2;
  auto client = MakeClient(opts);
  constexpr int kRequests = 60;
  std::mutex mu;
  std::condition_variable cv;
  int done = 0, ok = 0;
  std::set<std::string> conns;
  for (int i = 0; i < kRequests; ++i) {
    client->Send({"POST", sink_->Url("/h/" + std::to_string(i)), {}, "{}", 30000},
                 [&](HttpResult r) {
                   std::lock_guard<std::mutex> lock(mu);
                   ++done;
                   if (r.status == 200) {
                     ++ok;
                     conns.insert(std::string(r.Header("X-Sink-Connection-Id").value_or("")));
                   }
                   cv.notify_all();
                 });
  }
  std::unique_lock<std::mutex> lock(mu);
  ASSERT_TRUE(cv.wait_for(lock, kDeadline, [&] { return done == kRequests; }));
  EXPECT_EQ(ok, kRequests);
  EXPECT_LE(conns.size(), 2u);
  EXPECT_EQ(client->InFlight(), 0);
}

// The wait for a free connection counts against the timeout: a queued request behind a slow one
// fails with kTimeout without ever reaching the receiver.
TEST_F(HttpClientTest, QueuedRequestTimesOutWaitingForConnection) {
  Control("/_control/script", R"([{"delay_ms":3000}])");
  CurlHttpClientOptions opts;
  opts.max_host_connections = 1;
  auto client = MakeClient(opts);
  auto slow = std::make_shared<std::promise<HttpResult>>();
  std::future<HttpResult> slow_result = slow->get_future();
  client->Send({"POST", sink_->Url("/slow"), {}, "{}", 30000},
               [slow](HttpResult r) { slow->set_value(std::move(r)); });
  const HttpResult w =
      SendSync(*client_, {"GET", sink_->Url("/_control/wait?n=1&timeout=30"), {}, "", 40000});
  EXPECT_NE(w.body_prefix.find("\"count\": 1"), std::string::npos) << w.body_prefix;
  const HttpResult queued = SendSync(*client, {"POST", sink_->Url("/queued"), {}, "{}", 300});
  EXPECT_EQ(queued.kind, HttpResult::Kind::kTimeout) << queued.error;
  EXPECT_NE(queued.error.find("waiting for a free connection"), std::string::npos) << queued.error;
  EXPECT_EQ(queued.host, "127.0.0.1");
  ASSERT_EQ(slow_result.wait_for(kDeadline), std::future_status::ready);
  EXPECT_EQ(slow_result.get().status, 200);
  const json::array reqs = Requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].as_object().at("path").as_string(), "/slow");
}

// Requests still waiting for a connection at shutdown fail like in-flight ones.
TEST_F(HttpClientTest, ShutdownFailsQueuedRequests) {
  Control("/_control/default", R"({"delay_ms":20000})");
  CurlHttpClientOptions opts;
  opts.max_host_connections = 1;
  auto client = MakeClient(opts);
  std::vector<std::future<HttpResult>> results;
  for (int i = 0; i < 3; ++i) {
    auto p = std::make_shared<std::promise<HttpResult>>();
    results.push_back(p->get_future());
    client->Send({"POST", sink_->Url("/s"), {}, "{}", 60000},
                 [p](HttpResult r) { p->set_value(std::move(r)); });
  }
  const HttpResult w =
      SendSync(*client_, {"GET", sink_->Url("/_control/wait?n=1&timeout=30"), {}, "", 40000});
  EXPECT_NE(w.body_prefix.find("\"count\": 1"), std::string::npos) << w.body_prefix;
  EXPECT_EQ(client->InFlight(), 3);
  client.reset();
  for (auto& f : results) {
    ASSERT_EQ(f.wait_for(std::chrono::seconds(0)), std::future_status::ready);
    const HttpResult r = f.get();
    EXPECT_EQ(r.kind, HttpResult::Kind::kInternal);
    EXPECT_EQ(r.error, "shutdown");
  }
}

// Callbacks run on the client thread and may submit the next request from there.
TEST_F(HttpClientTest, CallbacksCanSubmitFollowUps) {
  constexpr int kChain = 25;
  auto all_done = std::make_shared<std::promise<int>>();
  std::future<int> result = all_done->get_future();
  struct Chain {
    HttpClient* client;
    std::string url;
    int ok = 0, left = kChain;
    std::shared_ptr<std::promise<int>> done;
    void Next() {
      client->Send({"POST", url, {}, "{}", 10000}, [this](HttpResult r) {
        ok += r.status == 200;
        if (--left == 0) {
          done->set_value(ok);
        } else {
          Next();
        }
      });
    }
  };
  Chain chain{client_.get(), sink_->Url("/chain"), 0, kChain, all_done};
  chain.Next();
  ASSERT_EQ(result.wait_for(kDeadline), std::future_status::ready);
  EXPECT_EQ(result.get(), kChain);
  EXPECT_EQ(Requests().size(), static_cast<size_t>(kChain));
}

// HTTPS against the sink with a throw-away self-signed certificate (needs the openssl CLI).
class HttpsClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir_template[] = "/tmp/bp-delivery-tls-XXXXXX";
    ASSERT_NE(mkdtemp(dir_template), nullptr);
    dir_ = dir_template;
    const std::string cmd =
        "openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=localhost "
        "-addext subjectAltName=IP:127.0.0.1 -days 2 -keyout " +
        dir_ + "/key.pem -out " + dir_ + "/cert.pem >/dev/null 2>&1";
    if (std::system(cmd.c_str()) != 0) GTEST_SKIP() << "openssl CLI not available";
    auto sink = SinkProcess::Start(
        BP_SINK_PY, {"--tls-cert", dir_ + "/cert.pem", "--tls-key", dir_ + "/key.pem"});
    ASSERT_TRUE(sink.ok()) << sink.status().ToString();
    sink_ = std::move(sink.value());
  }
  void TearDown() override {
    sink_.reset();
    if (!dir_.empty()) {
      std::remove((dir_ + "/key.pem").c_str());
      std::remove((dir_ + "/cert.pem").c_str());
      rmdir(dir_.c_str());
    }
  }

  static HttpResult SendSync(HttpClient& client, HttpRequest req) {
    auto promise = std::make_shared<std::promise<HttpResult>>();
    std::future<HttpResult> f = promise->get_future();
    client.Send(std::move(req), [promise](HttpResult r) { promise->set_value(std::move(r)); });
    if (f.wait_for(kDeadline) != std::future_status::ready) {
      ADD_FAILURE() << "no result within deadline";
      return {};
    }
    return f.get();
  }

  std::string dir_;
  std::unique_ptr<SinkProcess> sink_;
};

TEST_F(HttpsClientTest, UntrustedCertificateIsRejected) {
  auto client = CurlMultiHttpClient::Create({});
  ASSERT_TRUE(client.ok());
  const HttpResult r = SendSync(**client, {"POST", sink_->Url("/tls", "https"), {}, "{}", 10000});
  EXPECT_EQ(r.kind, HttpResult::Kind::kTlsCertificate) << r.error;
}

TEST_F(HttpsClientTest, ExtraCaFileIsTrusted) {
  CurlHttpClientOptions opts;
  opts.extra_ca_file = dir_ + "/cert.pem";
  auto client = CurlMultiHttpClient::Create(opts);
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  const HttpResult a = SendSync(**client, {"POST", sink_->Url("/tls", "https"), {}, "{}", 10000});
  EXPECT_EQ(a.kind, HttpResult::Kind::kResponse) << a.error;
  EXPECT_EQ(a.status, 200);
  const HttpResult b = SendSync(**client, {"POST", sink_->Url("/tls", "https"), {}, "{}", 10000});
  EXPECT_EQ(b.status, 200);
  EXPECT_TRUE(b.reused_connection);
}

TEST_F(HttpsClientTest, VerificationCanBeSwitchedOffGlobally) {
  CurlHttpClientOptions opts;
  opts.verify_tls = false;
  auto client = CurlMultiHttpClient::Create(opts);
  ASSERT_TRUE(client.ok());
  EXPECT_EQ(SendSync(**client, {"POST", sink_->Url("/tls", "https"), {}, "{}", 10000}).status, 200);
}

TEST(CurlMultiHttpClientCreateTest, RejectsUnreadableCaFile) {
  CurlHttpClientOptions opts;
  opts.extra_ca_file = "/nonexistent/ca.pem";
  EXPECT_FALSE(CurlMultiHttpClient::Create(opts).ok());
}

// The egress policy is applied to the address actually connected to: a literal and a name that
// resolves to loopback are both refused when private ranges are closed, and the sink never sees
// a request; an allow-list CIDR opens the address again.
TEST_F(HttpClientTest, EgressPolicyRefusesResolvedAddresses) {
  const size_t before = Requests().size();
  CurlHttpClientOptions strict;
  auto policy = egress::Policy::Create({.allow_private = false, .allow = {}});
  ASSERT_TRUE(policy.ok());
  strict.egress = *policy;
  auto client = MakeClient(strict);
  const std::string literal = sink_->Url("/denied");
  std::string by_name = literal;
  by_name.replace(by_name.find("127.0.0.1"), 9, "localhost");
  for (const std::string& url : {literal, by_name}) {
    HttpRequest req{"POST", url, {}, "{}", 5000};
    const HttpResult r = SendSync(*client, req);
    EXPECT_EQ(r.kind, HttpResult::Kind::kEgressDenied) << url << ": " << r.error;
    EXPECT_NE(r.error.find("denied by the egress policy"), std::string::npos) << r.error;
  }
  EXPECT_EQ(Requests().size(), before);  // nothing reached the sink

  CurlHttpClientOptions allowed;
  auto open = egress::Policy::Create({.allow_private = false, .allow = {"127.0.0.1/32"}});
  ASSERT_TRUE(open.ok());
  allowed.egress = *open;
  auto client2 = MakeClient(allowed);
  HttpRequest req{"POST", literal, {}, "{}", 5000};
  EXPECT_EQ(SendSync(*client2, req).status, 200);
}

}  // namespace
}  // namespace bp::delivery
