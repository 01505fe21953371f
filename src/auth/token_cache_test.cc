#include "auth/token_cache.h"

#include <gtest/gtest.h>

#include <atomic>
#include <deque>
#include <thread>
#include <vector>

namespace bp::auth {
namespace {

constexpr int64_t kSec = 1'000'000;

// Records requests; completes them only when the test says so (or at once in synchronous mode).
class FakeFetcher : public TokenFetcher {
 public:
  void Fetch(TokenRequest request, std::function<void(FetchResponse)> done) override {
    std::optional<FetchResponse> now;
    {
      std::lock_guard lock(mu_);
      requests_.push_back(std::move(request));
      if (!scripted_.empty()) {
        now = scripted_.front();
        scripted_.pop_front();
      } else {
        pending_.push_back(std::move(done));
      }
    }
    if (now) done(*now);
  }

  // Makes the next Fetch call complete synchronously with `r`.
  void Script(FetchResponse r) {
    std::lock_guard lock(mu_);
    scripted_.push_back(std::move(r));
  }

  // Completes the oldest pending fetch; false if none is pending.
  bool Complete(FetchResponse r) {
    std::function<void(FetchResponse)> done;
    {
      std::lock_guard lock(mu_);
      if (pending_.empty()) return false;
      done = std::move(pending_.front());
      pending_.pop_front();
    }
    done(std::move(r));
    return true;
  }

  int calls() const {
    std::lock_guard lock(mu_);
    return static_cast<int>(requests_.size());
  }
  int pending() const {
    std::lock_guard lock(mu_);
    return static_cast<int>(pending_.size());
  }
  TokenRequest last_request() const {
    std::lock_guard lock(mu_);
    return requests_.back();
  }

 private:
  mutable std::mutex mu_;
  std::vector<TokenRequest> requests_;
  std::deque<std::function<void(FetchResponse)>> pending_;
  std::deque<FetchResponse> scripted_;
};

FetchResponse Http(int status, std::string body) {
  FetchResponse r;
  r.transport = FetchResponse::Transport::kOk;
  r.status = status;
  r.body = std::move(body);
  return r;
}

FetchResponse TokenResponse(const std::string& token, int expires_in = 3600) {
  return Http(200, R"({"access_token":")" + token + R"(","expires_in":)" +
                       std::to_string(expires_in) + "}");
}

FetchResponse NetworkError() {
  FetchResponse r;
  r.transport = FetchResponse::Transport::kNetworkError;
  r.error = "Connection refused";
  return r;
}

class RecordingListener : public AuthListener {
 public:
  void OnTokenAvailable() override { ++available; }
  void OnTransientFailure(std::string reason) override {
    ++transient;
    std::lock_guard lock(mu);
    last_reason = std::move(reason);
  }
  void OnPermanentFailure(std::string reason) override {
    ++permanent;
    std::lock_guard lock(mu);
    last_reason = std::move(reason);
  }
  std::atomic<int> available{0}, transient{0}, permanent{0};
  std::mutex mu;
  std::string last_reason;
};

OAuthConfig Config() {
  OAuthConfig c;
  c.authorization_endpoint = "https://auth.example.com/token";
  c.client_id = "id";
  c.client_secret = "secret";
  return c;
}

class TokenCacheTest : public ::testing::Test {
 protected:
  TokenCacheTest() : cache_(clock_, fetcher_, Config(), listener_, "conn-1") {}

  // Drives the cache to hold `token` (expires_in seconds from now).
  void Obtain(const std::string& token, int expires_in = 3600) {
    ASSERT_EQ(cache_.Get().kind, Lookup::Kind::kPending);
    ASSERT_TRUE(fetcher_.Complete(TokenResponse(token, expires_in)));
    Lookup l = cache_.Get();
    ASSERT_EQ(l.kind, Lookup::Kind::kReady);
    ASSERT_EQ(l.token.access_token, token);
  }

  ManualClock clock_;
  FakeFetcher fetcher_;
  RecordingListener listener_;
  OAuthTokenCache cache_;
};

TEST(RefreshMarginTest, IsMinOf60SecondsAndHalfTheLifetime) {
  EXPECT_EQ(OAuthTokenCache::RefreshMarginMicros(3600 * kSec), 60 * kSec);
  EXPECT_EQ(OAuthTokenCache::RefreshMarginMicros(120 * kSec), 60 * kSec);
  EXPECT_EQ(OAuthTokenCache::RefreshMarginMicros(100 * kSec), 50 * kSec);
  EXPECT_EQ(OAuthTokenCache::RefreshMarginMicros(10 * kSec), 5 * kSec);
  EXPECT_EQ(OAuthTokenCache::RefreshMarginMicros(0), 0);
}

TEST_F(TokenCacheTest, FirstGetFetchesThenCacheHits) {
  Lookup l = cache_.Get();
  EXPECT_EQ(l.kind, Lookup::Kind::kPending);
  EXPECT_EQ(fetcher_.calls(), 1);
  EXPECT_EQ(fetcher_.last_request().body, "grant_type=client_credentials");
  EXPECT_EQ(cache_.Get().kind, Lookup::Kind::kPending);
  EXPECT_EQ(fetcher_.calls(), 1);

  ASSERT_TRUE(fetcher_.Complete(TokenResponse("tok-1")));
  EXPECT_EQ(listener_.available, 1);
  for (int i = 0; i < 100; ++i) {
    clock_.AdvanceMillis(10);
    l = cache_.Get();
    ASSERT_EQ(l.kind, Lookup::Kind::kReady);
    EXPECT_EQ(l.token.access_token, "tok-1");
    EXPECT_EQ(AuthorizationHeaderValue(l.token), "Bearer tok-1");
  }
  cache_.Tick();
  EXPECT_EQ(fetcher_.calls(), 1);
  EXPECT_EQ(cache_.stats().fetches_ok, 1u);
}

TEST_F(TokenCacheTest, SynchronousFetcherMakesFirstGetReady) {
  fetcher_.Script(TokenResponse("sync"));
  Lookup l = cache_.Get();
  ASSERT_EQ(l.kind, Lookup::Kind::kReady);
  EXPECT_EQ(l.token.access_token, "sync");
}

TEST_F(TokenCacheTest, RefreshesAheadAtTheMarginWhileOldTokenStaysUsable) {
  Obtain("old", 3600);
  clock_.AdvanceMicros((3600 - 60) * kSec - 1);  // 1 us before the 60 s margin
  EXPECT_EQ(cache_.Get().kind, Lookup::Kind::kReady);
  cache_.Tick();
  EXPECT_EQ(fetcher_.calls(), 1);

  clock_.AdvanceMicros(1);  // exactly at the margin
  Lookup l = cache_.Get();
  ASSERT_EQ(l.kind, Lookup::Kind::kReady);
  EXPECT_EQ(l.token.access_token, "old");
  EXPECT_EQ(fetcher_.calls(), 2);
  cache_.Tick();
  EXPECT_EQ(cache_.Get().token.access_token, "old");
  EXPECT_EQ(fetcher_.calls(), 2);  // single flight

  ASSERT_TRUE(fetcher_.Complete(TokenResponse("new", 3600)));
  EXPECT_EQ(cache_.Get().token.access_token, "new");
}

TEST_F(TokenCacheTest, TickAloneRefreshesShortLivedTokenAtHalfLife) {
  Obtain("short", 10);  // margin = 5 s
  clock_.AdvanceMicros(5 * kSec - 1);
  cache_.Tick();
  EXPECT_EQ(fetcher_.calls(), 1);
  clock_.AdvanceMicros(1);
  cache_.Tick();
  EXPECT_EQ(fetcher_.calls(), 2);
}

TEST_F(TokenCacheTest, ExpiredTokenIsNeverReturnedAndTriggersFetch) {
  Obtain("t1", 100);
  clock_.AdvanceMicros(100 * kSec);  // expired without any refresh having run
  Lookup l = cache_.Get();
  EXPECT_EQ(l.kind, Lookup::Kind::kPending);
  EXPECT_EQ(fetcher_.calls(), 2);
  ASSERT_TRUE(fetcher_.Complete(TokenResponse("t2")));
  EXPECT_EQ(cache_.Get().token.access_token, "t2");
}

TEST_F(TokenCacheTest, SingleFlightUnderConcurrentGets) {
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  std::atomic<int> pending{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      while (!go.load()) std::this_thread::yield();
      for (int i = 0; i < 500; ++i) {
        if (cache_.Get().kind == Lookup::Kind::kPending) ++pending;
        cache_.Tick();
      }
    });
  }
  go = true;
  for (auto& th : threads) th.join();
  EXPECT_EQ(fetcher_.calls(), 1);
  EXPECT_EQ(pending.load(), 8 * 500);

  ASSERT_TRUE(fetcher_.Complete(TokenResponse("shared")));
  EXPECT_EQ(listener_.available, 1);
  threads.clear();
  std::atomic<int> ready{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 500; ++i) {
        if (cache_.Get().token.access_token == "shared") ++ready;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ready.load(), 8 * 500);
  EXPECT_EQ(fetcher_.calls(), 1);
}

TEST_F(TokenCacheTest, AtMostOneFetchStartPerSecond) {
  Obtain("a");
  cache_.Invalidate("a");  // 0 s after the last start: must wait
  EXPECT_EQ(fetcher_.calls(), 1);
  EXPECT_EQ(cache_.Get().kind, Lookup::Kind::kPending);
  clock_.AdvanceMicros(kSec - 1);
  cache_.Tick();
  EXPECT_EQ(cache_.Get().kind, Lookup::Kind::kPending);
  EXPECT_EQ(fetcher_.calls(), 1);
  clock_.AdvanceMicros(1);
  cache_.Tick();
  EXPECT_EQ(fetcher_.calls(), 2);
  ASSERT_TRUE(fetcher_.Complete(TokenResponse("b")));
  EXPECT_EQ(listener_.available, 2);
  EXPECT_EQ(cache_.Get().token.access_token, "b");
}

TEST_F(TokenCacheTest, InvalidateOnlyDropsTheCurrentToken) {
  Obtain("a");
  clock_.AdvanceMicros(2 * kSec);
  cache_.Invalidate("not-the-current-one");
  EXPECT_EQ(cache_.Get().token.access_token, "a");
  EXPECT_EQ(fetcher_.calls(), 1);

  // Two deliveries both got 401 with token "a": one refresh.
  cache_.Invalidate("a");
  EXPECT_EQ(fetcher_.calls(), 2);  // allowed: > 1 s since the last start
  cache_.Invalidate("a");
  EXPECT_EQ(cache_.Get().kind, Lookup::Kind::kPending);
  EXPECT_EQ(fetcher_.calls(), 2);
  ASSERT_TRUE(fetcher_.Complete(TokenResponse("b")));

  // A late 401 for the old token must not drop the new one.
  clock_.AdvanceMicros(2 * kSec);
  cache_.Invalidate("a");
  EXPECT_EQ(cache_.Get().token.access_token, "b");
  EXPECT_EQ(fetcher_.calls(), 2);
}

TEST_F(TokenCacheTest, TransientFailuresBackOffFrom1To60Seconds) {
  EXPECT_EQ(cache_.Get().kind, Lookup::Kind::kPending);
  ASSERT_TRUE(fetcher_.Complete(Http(503, "busy")));
  EXPECT_EQ(listener_.transient, 1);
  EXPECT_EQ(listener_.last_reason, "HTTP 503: busy");
  Lookup l = cache_.Get();
  EXPECT_EQ(l.kind, Lookup::Kind::kTransientFailure);
  EXPECT_EQ(l.reason, "HTTP 503: busy");

  const int64_t expected_backoff_s[] = {1, 2, 4, 8, 16, 32, 60, 60};
  int calls = 1;
  for (int64_t backoff : expected_backoff_s) {
    clock_.AdvanceMicros(backoff * kSec - 1);
    cache_.Tick();
    EXPECT_EQ(cache_.Get().kind, Lookup::Kind::kTransientFailure);
    ASSERT_EQ(fetcher_.calls(), calls) << "backoff " << backoff;
    clock_.AdvanceMicros(1);
    cache_.Tick();
    ASSERT_EQ(fetcher_.calls(), ++calls) << "backoff " << backoff;
    EXPECT_EQ(cache_.Get().kind, Lookup::Kind::kPending);
    ASSERT_TRUE(fetcher_.Complete(calls % 2 ? Http(429, "slow down") : NetworkError()));
  }
  EXPECT_EQ(listener_.transient, calls);
  EXPECT_EQ(listener_.permanent, 0);

  // Success resets the backoff.
  clock_.AdvanceMicros(60 * kSec);
  cache_.Tick();
  ASSERT_TRUE(fetcher_.Complete(TokenResponse("finally", 4)));
  EXPECT_EQ(cache_.Get().kind, Lookup::Kind::kReady);
  clock_.AdvanceMicros(4 * kSec);  // expired
  EXPECT_EQ(cache_.Get().kind, Lookup::Kind::kPending);
  ASSERT_TRUE(fetcher_.Complete(NetworkError()));
  EXPECT_EQ(listener_.last_reason, "network error: Connection refused");
  clock_.AdvanceMicros(kSec);  // back to 1 s
  cache_.Tick();
  EXPECT_EQ(fetcher_.pending(), 1);
  EXPECT_EQ(cache_.stats().fetches_transient, static_cast<uint64_t>(calls + 1));
}

TEST_F(TokenCacheTest, FailedRefreshKeepsUsingTheValidToken) {
  Obtain("still-good", 100);  // margin 50 s
  clock_.AdvanceMicros(50 * kSec);
  cache_.Tick();
  ASSERT_TRUE(fetcher_.Complete(Http(500, "oops")));
  EXPECT_EQ(listener_.transient, 1);
  EXPECT_EQ(cache_.Get().token.access_token, "still-good");
  clock_.AdvanceMicros(50 * kSec);  // now expired; backoff (1 s) has elapsed too
  EXPECT_EQ(cache_.Get().kind, Lookup::Kind::kPending);
  ASSERT_TRUE(fetcher_.Complete(Http(500, "oops")));
  EXPECT_EQ(cache_.Get().kind, Lookup::Kind::kTransientFailure);
}

TEST_F(TokenCacheTest, PermanentFailureSticksUntilReconfigure) {
  Obtain("a");
  clock_.AdvanceMicros(2 * kSec);
  cache_.Invalidate("a");
  ASSERT_TRUE(fetcher_.Complete(Http(401, R"({"error":"invalid_client"})")));
  EXPECT_EQ(listener_.permanent, 1);
  EXPECT_EQ(listener_.last_reason, R"(HTTP 401: {"error":"invalid_client"})");
  Lookup l = cache_.Get();
  EXPECT_EQ(l.kind, Lookup::Kind::kPermanentFailure);
  EXPECT_EQ(l.reason, R"(HTTP 401: {"error":"invalid_client"})");
  clock_.AdvanceMicros(3600 * kSec);
  cache_.Tick();
  EXPECT_EQ(cache_.Get().kind, Lookup::Kind::kPermanentFailure);
  EXPECT_EQ(fetcher_.calls(), 2);

  OAuthConfig fixed = Config();
  fixed.client_secret = "new-secret";
  cache_.Reconfigure(fixed);
  EXPECT_EQ(cache_.Get().kind, Lookup::Kind::kPending);
  EXPECT_EQ(fetcher_.calls(), 3);
  ASSERT_TRUE(fetcher_.Complete(TokenResponse("c")));
  EXPECT_EQ(cache_.Get().token.access_token, "c");
}

TEST_F(TokenCacheTest, SuccessWithoutAccessTokenIsPermanent) {
  EXPECT_EQ(cache_.Get().kind, Lookup::Kind::kPending);
  ASSERT_TRUE(fetcher_.Complete(Http(200, R"({"token_type":"Bearer"})")));
  EXPECT_EQ(listener_.permanent, 1);
  EXPECT_EQ(cache_.Get().kind, Lookup::Kind::kPermanentFailure);
  EXPECT_EQ(cache_.stats().fetches_permanent, 1u);
}

TEST_F(TokenCacheTest, ReconfigureDiscardsAFetchStartedUnderTheOldConfig) {
  EXPECT_EQ(cache_.Get().kind, Lookup::Kind::kPending);
  cache_.Reconfigure(Config());
  ASSERT_TRUE(fetcher_.Complete(TokenResponse("stale")));
  EXPECT_EQ(listener_.available, 0);
  clock_.AdvanceMicros(kSec);
  Lookup l = cache_.Get();
  EXPECT_EQ(l.kind, Lookup::Kind::kPending);
  EXPECT_EQ(fetcher_.calls(), 2);
}

TEST_F(TokenCacheTest, AnswerArrivingAfterTheCacheIsGoneIsIgnored) {
  RecordingListener listener;
  auto cache = std::make_unique<OAuthTokenCache>(clock_, fetcher_, Config(), listener);
  EXPECT_EQ(cache->Get().kind, Lookup::Kind::kPending);
  cache.reset();  // must not wait for the fetch in flight
  ASSERT_TRUE(fetcher_.Complete(TokenResponse("late")));
  EXPECT_EQ(listener.available, 0);
}

TEST_F(TokenCacheTest, ListenerMayCallBackIntoTheCache) {
  struct Reentrant : AuthListener {
    OAuthTokenCache* cache = nullptr;
    std::string seen;
    void OnTokenAvailable() override { seen = cache->Get().token.access_token; }
  } listener;
  OAuthTokenCache cache(clock_, fetcher_, Config(), listener);
  listener.cache = &cache;
  fetcher_.Script(TokenResponse("re"));
  EXPECT_EQ(cache.Get().kind, Lookup::Kind::kReady);
  EXPECT_EQ(listener.seen, "re");
}

}  // namespace
}  // namespace bp::auth
