#include "auth/token_cache.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <optional>

#include "common/log.h"

namespace bp::auth {

// Everything a fetch callback touches. The cache owns one reference and every callback of a fetch
// in flight another, so a callback arriving after the cache is gone finds `closed` and returns
// without touching the (possibly destroyed) clock or listener.
struct OAuthTokenCache::Core {
  Core(Clock& c, TokenFetcher& f, OAuthConfig cfg, AuthListener& l, std::string name)
      : clock(c), fetcher(f), listener(l), connection(std::move(name)), config(std::move(cfg)) {}

  struct Start {
    TokenRequest request;
    uint64_t generation;
  };

  Clock& clock;
  TokenFetcher& fetcher;
  AuthListener& listener;
  const std::string connection;

  mutable std::mutex mu;
  std::condition_variable idle_cv;              // signalled when `notifying` drops to 0
  OAuthConfig config;                           // guarded by mu
  uint64_t generation = 0;                      // guarded by mu; bumped by Reconfigure
  std::optional<Token> token;                   // guarded by mu
  bool in_flight = false;                       // guarded by mu
  bool closed = false;                          // guarded by mu; set by ~OAuthTokenCache
  int notifying = 0;                            // guarded by mu; listener calls in progress
  std::optional<int64_t> last_start;            // guarded by mu
  int failure_streak = 0;                       // guarded by mu; consecutive transient failures
  int64_t retry_at = 0;                         // guarded by mu; meaningful when failure_streak > 0
  std::string transient_reason;                 // guarded by mu
  std::optional<std::string> permanent_reason;  // guarded by mu
  TokenCacheStats stats;                        // guarded by mu

  // The helpers below require mu held.
  bool Usable(int64_t now) const { return token.has_value() && now < token->expires_at_micros; }

  bool NeedsFetch(int64_t now) const {
    if (permanent_reason) return false;
    if (!Usable(now)) return true;
    return now >= token->expires_at_micros - RefreshMarginMicros(token->lifetime_micros());
  }

  std::optional<Start> MaybeStart(int64_t now) {
    if (closed || in_flight || !NeedsFetch(now)) return std::nullopt;
    if (last_start && now < *last_start + kMinFetchIntervalMicros) return std::nullopt;
    if (failure_streak > 0 && now < retry_at) return std::nullopt;
    in_flight = true;
    last_start = now;
    return Start{BuildTokenRequest(config), generation};
  }

  Lookup Evaluate(int64_t now) const {
    Lookup out;
    if (permanent_reason) {
      out.kind = Lookup::Kind::kPermanentFailure;
      out.reason = *permanent_reason;
    } else if (Usable(now)) {
      out.kind = Lookup::Kind::kReady;
      out.token = *token;
    } else if (!in_flight && failure_streak > 0) {
      out.kind = Lookup::Kind::kTransientFailure;
      out.reason = transient_reason;
    } else {
      out.kind = Lookup::Kind::kPending;
    }
    return out;
  }

  // Without mu held: the fetcher may run `done` before Fetch returns.
  static void Launch(const std::shared_ptr<Core>& self, std::optional<Start> start) {
    if (!start) return;
    uint64_t generation = start->generation;
    self->fetcher.Fetch(std::move(start->request), [self, generation](FetchResponse response) {
      self->OnFetched(generation, response);
    });
  }

  void OnFetched(uint64_t fetch_generation, const FetchResponse& response) {
    TokenResult result;
    {
      std::lock_guard lock(mu);
      in_flight = false;
      if (closed) return;
      int64_t now = clock.MonotonicMicros();
      result = ClassifyFetchResponse(response, now);
      switch (result.kind) {
        case TokenResult::Kind::kOk:
          ++stats.fetches_ok;
          break;
        case TokenResult::Kind::kTransient:
          ++stats.fetches_transient;
          break;
        case TokenResult::Kind::kPermanent:
          ++stats.fetches_permanent;
          break;
      }
      if (fetch_generation != generation) return;  // config changed meanwhile: stale answer
      switch (result.kind) {
        case TokenResult::Kind::kOk:
          token = result.token;
          failure_streak = 0;
          transient_reason.clear();
          break;
        case TokenResult::Kind::kTransient: {
          ++failure_streak;
          int shift = std::min(failure_streak - 1, 6);  // 2^6 s already exceeds the 60 s cap
          retry_at = now + std::min(kMaxBackoffMicros, kInitialBackoffMicros << shift);
          transient_reason = result.reason;
          break;
        }
        case TokenResult::Kind::kPermanent:
          token.reset();
          permanent_reason = result.reason;
          break;
      }
      ++notifying;
    }
    // Only the status and a bounded body excerpt are logged: never the request or the token.
    switch (result.kind) {
      case TokenResult::Kind::kOk:
        log::Debug("auth", "oauth token obtained",
                   {{"connection", connection},
                    {"expires_in_s", result.token.lifetime_micros() / 1'000'000}});
        listener.OnTokenAvailable();
        break;
      case TokenResult::Kind::kTransient:
        log::Warn("auth", "oauth token fetch failed (transient)",
                  {{"connection", connection}, {"reason", result.reason}});
        listener.OnTransientFailure(result.reason);
        break;
      case TokenResult::Kind::kPermanent:
        log::Error("auth", "oauth token fetch failed (permanent)",
                   {{"connection", connection}, {"reason", result.reason}});
        listener.OnPermanentFailure(result.reason);
        break;
    }
    std::lock_guard lock(mu);
    if (--notifying == 0) idle_cv.notify_all();
  }
};

int64_t OAuthTokenCache::RefreshMarginMicros(int64_t lifetime_micros) {
  return std::min(kMaxRefreshMarginMicros, std::max<int64_t>(0, lifetime_micros / 2));
}

OAuthTokenCache::OAuthTokenCache(Clock& clock, TokenFetcher& fetcher, OAuthConfig config,
                                 AuthListener& listener, std::string connection)
    : core_(std::make_shared<Core>(clock, fetcher, std::move(config), listener,
                                   std::move(connection))) {}

OAuthTokenCache::~OAuthTokenCache() {
  std::unique_lock lock(core_->mu);
  core_->closed = true;
  core_->idle_cv.wait(lock, [this] { return core_->notifying == 0; });
}

Lookup OAuthTokenCache::Get() {
  std::optional<Core::Start> start;
  {
    std::lock_guard lock(core_->mu);
    int64_t now = core_->clock.MonotonicMicros();
    start = core_->MaybeStart(now);
    if (!start) return core_->Evaluate(now);
  }
  Core::Launch(core_, std::move(start));
  // Re-read: a synchronous fetcher may already have resolved the fetch.
  std::lock_guard lock(core_->mu);
  return core_->Evaluate(core_->clock.MonotonicMicros());
}

void OAuthTokenCache::Invalidate(const std::string& access_token) {
  std::optional<Core::Start> start;
  {
    std::lock_guard lock(core_->mu);
    if (!core_->token || core_->token->access_token != access_token) return;
    core_->token.reset();
    start = core_->MaybeStart(core_->clock.MonotonicMicros());
  }
  Core::Launch(core_, std::move(start));
}

void OAuthTokenCache::Tick() {
  std::optional<Core::Start> start;
  {
    std::lock_guard lock(core_->mu);
    start = core_->MaybeStart(core_->clock.MonotonicMicros());
  }
  Core::Launch(core_, std::move(start));
}

void OAuthTokenCache::Reconfigure(OAuthConfig config) {
  std::lock_guard lock(core_->mu);
  core_->config = std::move(config);
  ++core_->generation;
  // A fetch of the old generation may still be in flight; the new config waits for it (single
  // flight protects the endpoint) and its answer is discarded.
  core_->token.reset();
  core_->failure_streak = 0;
  core_->retry_at = 0;
  core_->transient_reason.clear();
  core_->permanent_reason.reset();
}

TokenCacheStats OAuthTokenCache::stats() const {
  std::lock_guard lock(core_->mu);
  return core_->stats;
}

}  // namespace bp::auth
