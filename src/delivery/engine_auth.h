// OAuth token state per connection, owned by the engine thread.
#pragma once

#include <memory>
#include <string>

#include "auth/token_cache.h"
#include "delivery/engine_internal.h"

namespace bp::delivery {

class EngineImpl;

// Bridges an OAuthTokenCache to the engine: fetch results arrive on the fetcher's thread and are
// posted to the engine thread, which updates the connection state in the registry.
class ConnectionAuth final : public auth::AuthListener {
 public:
  ConnectionAuth(EngineImpl& engine, const registry::ConnectionView& conn,
                 auth::OAuthConfig config);
  ~ConnectionAuth() override;

  auth::OAuthTokenCache& cache() { return *cache_; }
  uint64_t generation() const { return generation_; }
  bool client_auth_body() const { return client_auth_body_; }
  const std::string& name() const { return name_; }

  void OnTokenAvailable() override;
  void OnTransientFailure(std::string reason) override;
  void OnPermanentFailure(std::string reason) override;

 private:
  EngineImpl& engine_;
  const std::string name_;
  const uint64_t generation_;
  const bool client_auth_body_;
  std::unique_ptr<auth::OAuthTokenCache> cache_;
};

auth::OAuthConfig OAuthConfigFor(const registry::ConnectionView& conn, bool client_auth_body);

}  // namespace bp::delivery
