#include "delivery/engine_auth.h"

#include "common/log.h"
#include "delivery/engine_impl.h"

namespace bp::delivery {

auth::OAuthConfig OAuthConfigFor(const registry::ConnectionView& conn, bool client_auth_body) {
  auth::OAuthConfig c;
  c.authorization_endpoint = conn.authorization_endpoint;
  c.http_method = conn.oauth_http_method.empty() ? "POST" : conn.oauth_http_method;
  c.client_id = conn.client_id;
  c.client_secret = conn.client_secret;
  c.client_auth = client_auth_body ? auth::OAuthConfig::ClientAuth::kBody
                                   : auth::OAuthConfig::ClientAuth::kBasic;
  auto copy = [](const std::vector<registry::ConnectionParam>& in, std::vector<auth::Param>& out) {
    for (const auto& p : in) out.push_back({p.key, p.value, p.is_secret});
  };
  copy(conn.oauth_headers, c.header_params);
  copy(conn.oauth_query, c.query_params);
  copy(conn.oauth_body, c.body_params);
  return c;
}

ConnectionAuth::ConnectionAuth(EngineImpl& engine, const registry::ConnectionView& conn,
                               auth::OAuthConfig config)
    : engine_(engine),
      name_(conn.name),
      generation_(conn.generation),
      client_auth_body_(config.client_auth == auth::OAuthConfig::ClientAuth::kBody) {
  cache_ = std::make_unique<auth::OAuthTokenCache>(const_cast<Clock&>(*engine.d_.clock),
                                                   *engine.d_.token_fetcher, std::move(config),
                                                   *this, conn.name);
}

ConnectionAuth::~ConnectionAuth() { cache_.reset(); }

void ConnectionAuth::OnTokenAvailable() {
  std::string name = name_;
  uint64_t gen = generation_;
  EngineImpl* e = &engine_;
  engine_.Post([e, name, gen] {
    e->Count("bridgeport_oauth_token_fetches_total", "OAuth token fetches",
             {{"connection", name}, {"result", "ok"}})
        .Inc();
    auto conn = e->d_.registry->FindConnection(name);
    // Also when already AUTHORIZED: a StateReason left by an earlier transient failure is cleared
    // (SetConnectionState writes nothing if state and reason are unchanged).
    if (conn && conn->generation == gen) {
      Status s =
          e->d_.registry->SetConnectionState(name, registry::ConnectionState::kAuthorized, "", gen);
      if (!s.ok())
        log::Error("delivery", "cannot record connection state", {{"error", s.ToString()}});
    }
    // Lanes waiting for a token are retried by the loop's dispatch pass.
    for (auto& [key, lane] : e->lanes_) {
      if (!lane->ready.empty()) e->active_.insert(lane.get());
    }
  });
}

void ConnectionAuth::OnTransientFailure(std::string reason) {
  std::string name = name_;
  uint64_t gen = generation_;
  EngineImpl* e = &engine_;
  engine_.Post([e, name, gen, reason = std::move(reason)] {
    e->Count("bridgeport_oauth_token_fetches_total", "OAuth token fetches",
             {{"connection", name}, {"result", "transient_error"}})
        .Inc();
    auto conn = e->d_.registry->FindConnection(name);
    if (!conn || conn->generation != gen) return;
    log::Warn("delivery", "OAuth token fetch failed (transient)",
              {{"connection", name}, {"reason", reason}});
    Status s = e->d_.registry->SetConnectionState(name, conn->state, reason, gen);
    if (!s.ok())
      log::Error("delivery", "cannot record connection state", {{"error", s.ToString()}});
  });
}

void ConnectionAuth::OnPermanentFailure(std::string reason) {
  std::string name = name_;
  uint64_t gen = generation_;
  EngineImpl* e = &engine_;
  engine_.Post([e, name, gen, reason = std::move(reason)] {
    const bool egress = reason.starts_with("egress denied");
    e->Count("bridgeport_oauth_token_fetches_total", "OAuth token fetches",
             {{"connection", name}, {"result", egress ? "egress_denied" : "rejected"}})
        .Inc();
    if (egress) {
      e->Count("bridgeport_egress_denied_total", "Connections refused by the egress policy",
               {{"client", "oauth"}, {"connection", name}})
          .Inc();
    }
    log::Error("delivery", "OAuth token endpoint rejected the credentials; connection deauthorized",
               {{"connection", name}, {"reason", reason}});
    Status s = e->d_.registry->SetConnectionState(name, registry::ConnectionState::kDeauthorized,
                                                  reason, gen);
    if (!s.ok())
      log::Error("delivery", "cannot record connection state", {{"error", s.ToString()}});
  });
}

ConnectionAuth* EngineImpl::AuthFor(const registry::ConnectionView& conn,
                                    const registry::DeliverySettings& s) {
  if (conn.auth_type != registry::AuthType::kOAuthClientCredentials) return nullptr;
  auto it = auth_.find(conn.name);
  // Rebuilt on new credentials or a changed bridgeport:oauth-client-auth setting.
  if (it != auth_.end() && it->second->generation() == conn.generation &&
      it->second->client_auth_body() == s.oauth_client_auth_body) {
    return it->second.get();
  }
  auto a =
      std::make_unique<ConnectionAuth>(*this, conn, OAuthConfigFor(conn, s.oauth_client_auth_body));
  ConnectionAuth* raw = a.get();
  auth_[conn.name] = std::move(a);
  raw->cache().Tick();
  return raw;
}

void EngineImpl::OnConnectionChanged(const std::string& name) {
  auto conn = d_.registry->FindConnection(name);
  auto it = auth_.find(name);
  if (it != auth_.end() && (!conn || conn->generation != it->second->generation())) auth_.erase(it);
  if (conn && conn->auth_type == registry::AuthType::kOAuthClientCredentials &&
      conn->state == registry::ConnectionState::kAuthorizing) {
    AuthFor(*conn, registry::ResolveSettings(d_.defaults, conn->tags, {}, {}));
  }
  for (auto& [key, lane] : lanes_) {
    if (!lane->ready.empty()) active_.insert(lane.get());
  }
}

void EngineImpl::TickAuth() {
  for (auto& [name, a] : auth_) a->cache().Tick();
}

}  // namespace bp::delivery
