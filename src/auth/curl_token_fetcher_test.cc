// CurlTokenFetcher against tests/integration/fakes/oauth_server.py on 127.0.0.1.
#include "auth/curl_token_fetcher.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <mutex>

#include "auth/token_cache.h"

namespace bp::auth {
namespace {

using std::chrono::steady_clock;
constexpr auto kWait = std::chrono::seconds(15);

// The fake server as a child process; killed (and reaped) on destruction.
class OAuthServerProcess {
 public:
  bool Start(const std::string& cert = "", const std::string& key = "") {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return false;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive the test
      ::dup2(fds[1], STDOUT_FILENO);
      if (cert.empty()) {
        ::execl(BP_PYTHON3, BP_PYTHON3, BP_OAUTH_SERVER_PY, "--port", "0", nullptr);
      } else {
        ::execl(BP_PYTHON3, BP_PYTHON3, BP_OAUTH_SERVER_PY, "--port", "0", "--tls-cert",
                cert.c_str(), "--tls-key", key.c_str(), nullptr);
      }
      ::_exit(127);
    }
    ::close(fds[1]);
    if (pid_ < 0) {
      ::close(fds[0]);
      return false;
    }
    // Bounded wait for the "PORT=<n>\n" line.
    std::string line;
    auto deadline = steady_clock::now() + kWait;
    while (line.find('\n') == std::string::npos && steady_clock::now() < deadline) {
      pollfd p{fds[0], POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      char buf[64];
      ssize_t n = ::read(fds[0], buf, sizeof(buf));
      if (n <= 0) break;
      line.append(buf, static_cast<size_t>(n));
    }
    ::close(fds[0]);
    if (line.rfind("PORT=", 0) != 0) return false;
    port_ = std::stoi(line.substr(5));
    return port_ > 0;
  }

  ~OAuthServerProcess() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    auto deadline = steady_clock::now() + std::chrono::seconds(5);
    int status = 0;
    while (::waitpid(pid_, &status, WNOHANG) == 0) {
      if (steady_clock::now() > deadline) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
        break;
      }
      pollfd none{};
      ::poll(&none, 0, 10);  // brief pause between reap checks, bounded by the deadline
    }
  }

  std::string Url(const std::string& path, const char* scheme = "http") const {
    return std::string(scheme) + "://127.0.0.1:" + std::to_string(port_) + path;
  }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
};

FetchResponse FetchAndWait(TokenFetcher& fetcher, TokenRequest req) {
  auto promise = std::make_shared<std::promise<FetchResponse>>();
  auto future = promise->get_future();
  fetcher.Fetch(std::move(req), [promise](FetchResponse r) { promise->set_value(std::move(r)); });
  if (future.wait_for(kWait) != std::future_status::ready) {
    ADD_FAILURE() << "fetch did not complete in time";
    return {};
  }
  return future.get();
}

class CurlTokenFetcherTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new OAuthServerProcess();  // NOLINT: suite-lifetime fixture, deleted in TearDown
    ASSERT_TRUE(server_->Start()) << "could not start " << BP_OAUTH_SERVER_PY;
  }
  static void TearDownTestSuite() {
    delete server_;  // NOLINT
    server_ = nullptr;
  }

  void SetUp() override {
    ASSERT_NE(server_, nullptr);
    auto f = CurlTokenFetcher::Create({});
    ASSERT_TRUE(f.ok());
    fetcher_ = std::move(*f);
    Control("/_control/reset", "{}");
    Control("/_control/config",
            R"({"fail":"none","lifetime":3600,"token_type":"Bearer","client_id":"cid",)"
            R"("client_secret":"p@ss w+rd","grant_type":"client_credentials"})");
  }

  boost::json::value Control(const std::string& path, const std::string& json_body) {
    TokenRequest req;
    req.method = json_body.empty() ? "GET" : "POST";
    req.url = server_->Url(path);
    req.headers = {{"Content-Type", "application/json"}};
    req.body = json_body;
    FetchResponse r = FetchAndWait(*fetcher_, req);
    EXPECT_EQ(r.status, 200) << path << ": " << r.body << r.error;
    boost::system::error_code ec;
    return boost::json::parse(r.body, ec);
  }

  boost::json::object LastTokenRequest() {
    auto log = Control("/_control/log", "");
    auto& list = log.as_object()["token_requests"].as_array();
    EXPECT_FALSE(list.empty());
    return list.empty() ? boost::json::object() : list.back().as_object();
  }

  OAuthConfig Config() {
    OAuthConfig c;
    c.authorization_endpoint = server_->Url("/token");
    c.client_id = "cid";
    c.client_secret = "p@ss w+rd";
    return c;
  }

  static OAuthServerProcess* server_;
  std::unique_ptr<CurlTokenFetcher> fetcher_;
};

OAuthServerProcess* CurlTokenFetcherTest::server_ = nullptr;

TEST_F(CurlTokenFetcherTest, PostWithBasicAuthGetsAToken) {
  OAuthConfig c = Config();
  c.body_params = {{"scope", "events:write", false}};
  c.header_params = {{"X-Tenant", "t1", false}};
  FetchResponse r = FetchAndWait(*fetcher_, BuildTokenRequest(c));
  ASSERT_EQ(r.transport, FetchResponse::Transport::kOk) << r.error;
  TokenResult t = ClassifyFetchResponse(r, 0);
  ASSERT_EQ(t.kind, TokenResult::Kind::kOk) << t.reason;
  EXPECT_EQ(t.token.token_type, "Bearer");
  EXPECT_EQ(t.token.lifetime_micros(), 3600LL * 1'000'000);

  boost::json::object logged = LastTokenRequest();
  EXPECT_EQ(logged["method"], "POST");
  EXPECT_EQ(logged["auth_method"], "basic");
  EXPECT_EQ(logged["client_id"], "cid");
  EXPECT_EQ(logged["status"], 200);
  EXPECT_EQ(logged["form"].as_object()["grant_type"], "client_credentials");
  EXPECT_EQ(logged["form"].as_object()["scope"], "events:write");
  EXPECT_EQ(logged["issued"], boost::json::value(t.token.access_token));
  auto& headers = logged["headers"].as_object();
  EXPECT_EQ(headers["Content-Type"], "application/x-www-form-urlencoded");
  EXPECT_EQ(headers["Accept"], "application/json");
  EXPECT_EQ(headers["X-Tenant"], "t1");
}

TEST_F(CurlTokenFetcherTest, GetAndPutWithBodyClientAuth) {
  for (const char* method : {"GET", "PUT"}) {
    OAuthConfig c = Config();
    c.http_method = method;
    c.client_auth = OAuthConfig::ClientAuth::kBody;
    c.query_params = {{"tenant", "a b", false}};
    FetchResponse r = FetchAndWait(*fetcher_, BuildTokenRequest(c));
    ASSERT_EQ(ClassifyFetchResponse(r, 0).kind, TokenResult::Kind::kOk) << method << r.body;
    boost::json::object logged = LastTokenRequest();
    EXPECT_EQ(logged["method"], method);
    EXPECT_EQ(logged["auth_method"], "body");
    EXPECT_EQ(logged["form"].as_object()["client_secret"], "p@ss w+rd");
    EXPECT_EQ(logged["query"].as_object()["tenant"].as_array()[0], "a b");
    EXPECT_EQ(logged["form"].as_object()["grant_type"], "client_credentials");
    if (std::string(method) == "GET") {
      EXPECT_EQ(logged["body"], "");
      EXPECT_EQ(logged["query"].as_object()["client_id"].as_array()[0], "cid");
    } else {
      EXPECT_NE(logged["body"].as_string().find("grant_type=client_credentials"),
                std::string::npos);
    }
  }
}

TEST_F(CurlTokenFetcherTest, WrongSecretIsPermanentWithStatusAndBody) {
  OAuthConfig c = Config();
  c.client_secret = "wrong";
  TokenResult t = ClassifyFetchResponse(FetchAndWait(*fetcher_, BuildTokenRequest(c)), 0);
  EXPECT_EQ(t.kind, TokenResult::Kind::kPermanent);
  EXPECT_EQ(t.reason, R"(HTTP 401: {"error": "invalid_client"})");
}

TEST_F(CurlTokenFetcherTest, FailModesClassify) {
  const std::pair<const char*, TokenResult::Kind> cases[] = {
      {"500", TokenResult::Kind::kTransient},      {"429", TokenResult::Kind::kTransient},
      {"400", TokenResult::Kind::kPermanent},      {"401", TokenResult::Kind::kPermanent},
      {"no_token", TokenResult::Kind::kPermanent},
  };
  for (const auto& [mode, kind] : cases) {
    Control("/_control/config", std::string(R"({"fail":")") + mode + R"(","fail_count":1})");
    TokenResult t = ClassifyFetchResponse(FetchAndWait(*fetcher_, BuildTokenRequest(Config())), 0);
    EXPECT_EQ(t.kind, kind) << mode << ": " << t.reason;
    // fail_count 1: the next request succeeds again.
    t = ClassifyFetchResponse(FetchAndWait(*fetcher_, BuildTokenRequest(Config())), 0);
    EXPECT_EQ(t.kind, TokenResult::Kind::kOk) << mode << ": " << t.reason;
  }
}

TEST_F(CurlTokenFetcherTest, SlowEndpointTimesOut) {
  CurlTokenFetcher::Options options;
  options.timeout_ms = 300;
  auto f = CurlTokenFetcher::Create(options);
  ASSERT_TRUE(f.ok());
  Control("/_control/config", R"({"fail":"timeout","fail_count":1,"timeout_seconds":3})");
  FetchResponse r = FetchAndWait(**f, BuildTokenRequest(Config()));
  EXPECT_EQ(r.transport, FetchResponse::Transport::kTimeout) << r.error;
  EXPECT_EQ(ClassifyFetchResponse(r, 0).kind, TokenResult::Kind::kTransient);
}

TEST_F(CurlTokenFetcherTest, ConnectionRefusedIsANetworkError) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  ::close(fd);  // bound but never listening: connects are refused
  OAuthConfig c = Config();
  c.authorization_endpoint = "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/token";
  FetchResponse r = FetchAndWait(*fetcher_, BuildTokenRequest(c));
  EXPECT_EQ(r.transport, FetchResponse::Transport::kNetworkError);
  EXPECT_FALSE(r.error.empty());
}

// The fake token server runs on 127.0.0.1: with private ranges closed the fetch never reaches
// it, and the refusal is permanent (the connection is deauthorized with the reason).
TEST_F(CurlTokenFetcherTest, EgressPolicyRefusesTheEndpoint) {
  CurlTokenFetcher::Options options;
  auto policy = egress::Policy::Create({.allow_private = false, .allow = {}});
  ASSERT_TRUE(policy.ok());
  options.egress = *policy;
  auto f = CurlTokenFetcher::Create(options);
  ASSERT_TRUE(f.ok());
  FetchResponse r = FetchAndWait(**f, BuildTokenRequest(Config()));
  EXPECT_EQ(r.transport, FetchResponse::Transport::kEgressDenied) << r.error;
  TokenResult t = ClassifyFetchResponse(r, 0);
  EXPECT_EQ(t.kind, TokenResult::Kind::kPermanent);
  EXPECT_NE(t.reason.find("egress denied: connection to 127.0.0.1:"), std::string::npos)
      << t.reason;
}

TEST_F(CurlTokenFetcherTest, NonHttpSchemesAreRefused) {
  OAuthConfig c = Config();
  c.authorization_endpoint = "file:///etc/passwd";
  FetchResponse r = FetchAndWait(*fetcher_, BuildTokenRequest(c));
  EXPECT_EQ(r.transport, FetchResponse::Transport::kNetworkError);
}

TEST_F(CurlTokenFetcherTest, ShutdownCompletesTransfersInFlight) {
  auto f = CurlTokenFetcher::Create({});
  ASSERT_TRUE(f.ok());
  Control("/_control/config", R"({"fail":"timeout","fail_count":1,"timeout_seconds":3})");
  auto promise = std::make_shared<std::promise<FetchResponse>>();
  auto future = promise->get_future();
  (*f)->Fetch(BuildTokenRequest(Config()),
              [promise](FetchResponse r) { promise->set_value(std::move(r)); });
  f->reset();  // joins the worker; the stalled transfer must still complete
  ASSERT_EQ(future.wait_for(std::chrono::seconds(0)), std::future_status::ready);
  FetchResponse r = future.get();
  EXPECT_EQ(r.transport, FetchResponse::Transport::kNetworkError);
}

TEST(CurlTokenFetcherCreateTest, RejectsUnusableCaFile) {
  CurlTokenFetcher::Options options;
  options.ca_file = "/nonexistent/ca.pem";
  EXPECT_EQ(CurlTokenFetcher::Create(options).status().code(), StatusCode::kIoError);
  options.ca_file = BP_OAUTH_SERVER_PY;  // readable, but not PEM
  EXPECT_EQ(CurlTokenFetcher::Create(options).status().code(), StatusCode::kValidation);
}

// TLS verification is on: a self-signed endpoint fails unless its CA is configured.
TEST(CurlTokenFetcherTlsTest, VerifiesCertificatesAndAcceptsAnExtraCa) {
  char tmpl[] = "/tmp/bp_oauth_tls_XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  const std::string cmd =
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "
      "-nodes -days 1 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 "
      "-keyout " +
      dir + "/key.pem -out " + dir + "/cert.pem >/dev/null 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << "openssl CLI needed to make a test certificate";
  {
    OAuthServerProcess server;
    ASSERT_TRUE(server.Start(dir + "/cert.pem", dir + "/key.pem"));
    OAuthConfig c;
    c.authorization_endpoint = server.Url("/token", "https");
    c.client_id = "any";
    c.client_secret = "any";

    auto plain = CurlTokenFetcher::Create({});
    ASSERT_TRUE(plain.ok());
    FetchResponse r = FetchAndWait(**plain, BuildTokenRequest(c));
    EXPECT_EQ(r.transport, FetchResponse::Transport::kNetworkError) << r.status;

    CurlTokenFetcher::Options options;
    options.ca_file = dir + "/cert.pem";
    auto trusting = CurlTokenFetcher::Create(options);
    ASSERT_TRUE(trusting.ok()) << trusting.status().ToString();
    r = FetchAndWait(**trusting, BuildTokenRequest(c));
    ASSERT_EQ(r.transport, FetchResponse::Transport::kOk) << r.error;
    EXPECT_EQ(ClassifyFetchResponse(r, 0).kind, TokenResult::Kind::kOk) << r.body;
  }
  std::filesystem::remove_all(dir);
}

// The cache with the real fetcher: token, protected call, 401 -> Invalidate -> new token.
TEST_F(CurlTokenFetcherTest, TokenCacheEndToEnd) {
  struct Listener : AuthListener {
    std::mutex mu;
    std::condition_variable cv;
    int available = 0;
    void OnTokenAvailable() override {
      std::lock_guard lock(mu);
      ++available;
      cv.notify_all();
    }
    // Waits (bounded) until `n` tokens have arrived, ticking the cache meanwhile.
    bool WaitFor(int n, OAuthTokenCache& cache) {
      auto deadline = steady_clock::now() + kWait;
      std::unique_lock lock(mu);
      while (available < n && steady_clock::now() < deadline) {
        lock.unlock();
        cache.Tick();
        lock.lock();
        cv.wait_for(lock, std::chrono::milliseconds(50), [&] { return available >= n; });
      }
      return available >= n;
    }
  } listener;
  OAuthTokenCache cache(RealClock::Get(), *fetcher_, Config(), listener, "e2e");
  // The first Get starts the fetch; on a fast loopback it may already have finished when Get
  // evaluates its answer, so ready is as good as pending here.
  Lookup::Kind first = cache.Get().kind;
  EXPECT_TRUE(first == Lookup::Kind::kPending || first == Lookup::Kind::kReady);
  ASSERT_TRUE(listener.WaitFor(1, cache));
  Lookup l = cache.Get();
  ASSERT_EQ(l.kind, Lookup::Kind::kReady);

  auto call_protected = [&](const Token& token) {
    TokenRequest req;
    req.method = "POST";
    req.url = server_->Url("/protected/orders");
    req.headers = {{"Authorization", AuthorizationHeaderValue(token)},
                   {"Content-Type", "application/json"}};
    req.body = R"({"id":1})";
    return FetchAndWait(*fetcher_, req).status;
  };
  EXPECT_EQ(call_protected(l.token), 200);

  Control("/_control/revoke", "{}");
  EXPECT_EQ(call_protected(l.token), 401);
  cache.Invalidate(l.token.access_token);
  ASSERT_TRUE(listener.WaitFor(2, cache));
  Lookup fresh = cache.Get();
  ASSERT_EQ(fresh.kind, Lookup::Kind::kReady);
  EXPECT_NE(fresh.token.access_token, l.token.access_token);
  EXPECT_EQ(call_protected(fresh.token), 200);
  EXPECT_EQ(LastTokenRequest()["status"], 200);
  EXPECT_EQ(cache.stats().fetches_ok, 2u);
}

}  // namespace
}  // namespace bp::auth
