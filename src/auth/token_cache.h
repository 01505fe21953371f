// OAuthTokenCache: the access token of one OAUTH_CLIENT_CREDENTIALS connection.
//
// Thread-safe; one instance per connection, used by the delivery loop (Get/Invalidate/Tick) and
// the control plane (Reconfigure). It never blocks on the network: fetches go through the
// TokenFetcher and their outcome is reported to the AuthListener.
//
// Rules (docs/semantics.md):
//  - single flight: at most one token fetch in flight;
//  - at most one fetch start per second (kMinFetchInterval), whatever triggers it;
//  - a token is used until it expires; once it is within RefreshMargin(lifetime) =
//    min(60 s, lifetime / 2) of expiry, Get/Tick start a background refresh while it stays usable;
//  - no usable token -> Get starts a fetch at once (subject to the two rules above) -> kPending;
//  - after a transient failure, fetches wait a backoff of 1 s, 2 s, 4 s ... capped at 60 s (from
//    the failure), reset by a success; meanwhile Get without a usable token -> kTransientFailure;
//  - a permanent failure drops the token and sticks (kPermanentFailure) until Reconfigure.
// Expiry arithmetic uses Clock::MonotonicMicros.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "auth/oauth.h"
#include "auth/token_fetcher.h"
#include "common/clock.h"

namespace bp::auth {

// Told when a fetch resolves. Called on the fetcher's thread (or inside the call that started the
// fetch, if the fetcher completes synchronously), never with the cache's lock held, so it may call
// back into the cache.
class AuthListener {
 public:
  virtual ~AuthListener() = default;
  virtual void OnTokenAvailable() {}
  // Connection state is kept; `reason` is for StateReason.
  virtual void OnTransientFailure(std::string /*reason*/) {}
  // The connection should become DEAUTHORIZED with StateReason = `reason`.
  virtual void OnPermanentFailure(std::string /*reason*/) {}
};

struct Lookup {
  enum class Kind {
    kReady,             // `token` is usable now
    kPending,           // a fetch is in flight, or will start on a later Tick (rate limit)
    kTransientFailure,  // no usable token; the last fetch failed transiently, retry is backing off
    kPermanentFailure,  // the endpoint refused the credentials; see `reason`
  };
  Kind kind = Kind::kPending;
  Token token;         // kReady only
  std::string reason;  // failures only
};

struct TokenCacheStats {
  uint64_t fetches_ok = 0;
  uint64_t fetches_transient = 0;
  uint64_t fetches_permanent = 0;
};

class OAuthTokenCache {
 public:
  static constexpr int64_t kMinFetchIntervalMicros = 1'000'000;
  static constexpr int64_t kInitialBackoffMicros = 1'000'000;
  static constexpr int64_t kMaxBackoffMicros = 60'000'000;
  static constexpr int64_t kMaxRefreshMarginMicros = 60'000'000;

  static int64_t RefreshMarginMicros(int64_t lifetime_micros);

  // Borrows clock, fetcher and listener: they must outlive the cache. `connection` names the
  // cache in logs.
  OAuthTokenCache(Clock& clock, TokenFetcher& fetcher, OAuthConfig config, AuthListener& listener,
                  std::string connection = "");
  // Does not wait for a fetch in flight (its result is discarded, the listener is not called);
  // waits only for a listener call already in progress to return.
  ~OAuthTokenCache();
  OAuthTokenCache(const OAuthTokenCache&) = delete;
  OAuthTokenCache& operator=(const OAuthTokenCache&) = delete;

  // Never blocks. May start a fetch (see the rules above).
  Lookup Get();

  // After a 401/407 sent with `access_token`: drops the cached token only if it is still that
  // token (so concurrent 401s for the same token cause one refresh) and starts a fetch if allowed.
  void Invalidate(const std::string& access_token);

  // Call periodically (e.g. every 100 ms) while the connection has pending work: starts a refresh
  // within the margin, a fetch deferred by the rate limit, or a retry whose backoff has elapsed.
  void Tick();

  // New credentials/parameters: forgets the token, any failure and backoff; results of a fetch
  // started under the old config are discarded. The next Get/Tick fetches (rate limit still holds).
  void Reconfigure(OAuthConfig config);

  TokenCacheStats stats() const;

 private:
  struct Core;  // state shared with in-flight fetch callbacks, which may outlive the cache
  std::shared_ptr<Core> core_;
};

}  // namespace bp::auth
