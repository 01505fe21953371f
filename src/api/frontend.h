// The front door: routes every HTTP request to health/readiness, metrics, the admin API, the
// SQS protocols, the Pipes REST-JSON API or the EventBridge API, after SigV4 verification where the
// protocol needs it.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "api/events_api.h"
#include "api/sigv4.h"
#include "common/clock.h"
#include "http/server.h"

namespace bp::api {

struct FrontendOptions {
  std::string region = "us-east-1";
  std::string account = "000000000000";
  SigV4Options sigv4;
  // Bearer token for /_bridgeport/ outside loopback dev mode (empty: admin API only on loopback).
  std::string admin_token;
  bool dev_mode = true;  // listener bound to loopback
  // Access keys of other accounts: id -> (account, organization). Such callers may only call
  // PutEvents (AccessDeniedException otherwise); ingest checks the bus policy.
  std::map<std::string, std::pair<std::string, std::string>> key_accounts;
};

// A further protocol on the listener (CloudFormation Query, Secrets Manager, ...): `accepts` says
// whether a request is its own (checked before SQS, whose Query form would also match), `handle`
// runs it after SigV4 verification, `error` renders a refusal in the protocol's error shape.
struct ServiceRoute {
  // The SigV4 signing name the credential scope must carry ("cloudformation", ...).
  std::string signing_name;
  std::function<bool(const http::Request&)> accepts;
  std::function<void(http::Request&&, std::string request_id, http::Responder)> handle;
  std::function<http::Response(std::string_view code, std::string_view message, int status,
                               std::string_view request_id)>
      error;
};

// Hooks to the other protocol handlers; any may be empty.
struct FrontendHooks {
  std::vector<ServiceRoute> services;
  std::function<bool(const http::Request&)> sqs_accepts;
  std::function<void(http::Request&&, std::string request_id, http::Responder)> sqs_handle;
  std::function<std::string()> metrics_text;
  std::function<void(http::Request&&, http::Responder)> admin_handle;
  // Why the server is up but degraded (e.g. the store refuses writes): /ready answers 503 with it.
  std::function<std::optional<std::string>()> not_ready_reason;
  // GET/HEAD /console and /console/...: the web console's static assets.
  std::function<void(http::Request&&, http::Responder)> console_assets;
  // EventBridge Pipes (REST-JSON by path, SigV4 service `pipes`).
  std::function<bool(const http::Request&)> pipes_accepts;
  std::function<void(http::Request&&, std::string request_id, http::Responder)> pipes_handle;
  // False while the store cannot commit (cluster database unreachable): /ready answers 503.
  std::function<bool()> store_available;
};

class Frontend {
 public:
  Frontend(FrontendOptions options, const EventsApi& events, FrontendHooks hooks,
           const Clock& clock)
      : options_(std::move(options)), events_(events), hooks_(std::move(hooks)), clock_(clock) {}

  void Handle(http::Request&& req, http::Responder respond);
  void SetReady(bool ready) { ready_.store(ready); }
  void SetDraining(bool draining) { draining_.store(draining); }

 private:
  // Which front door an AWS request is for (the X-Amz-Target prefix, then each service's own
  // test, SQS last).
  struct Route {
    enum class Kind { kNone, kEvents, kPipes, kService, kSqs } kind = Kind::kNone;
    const ServiceRoute* service = nullptr;  // kService
  };
  Route RouteFor(const http::Request& req) const;

  // GET/HEAD /health, /ready, /console/..., /metrics; false if `req` is none of them.
  bool HandleOperational(http::Request& req, http::Responder& respond);
  void HandleReady(const http::Responder& respond);
  // /_bridgeport/...: the admin token (or loopback in dev mode), the browser check, the hook.
  void HandleAdmin(http::Request&& req, http::Responder respond);
  // Every AWS protocol: routing, readiness, SigV4, then the service's handler.
  void HandleAws(http::Request&& req, http::Responder respond);
  // An error in the shape of `route`'s protocol.
  http::Response ErrorFor(const Route& route, std::string_view code, const std::string& message,
                          int status, const std::string& request_id) const;
  // An EventBridge (AWS JSON 1.1) operation of a verified request.
  void HandleEvents(http::Request&& req, const SigV4Result& auth, std::string request_id,
                    http::Responder respond);

  const FrontendOptions options_;
  const EventsApi& events_;
  const FrontendHooks hooks_;
  const Clock& clock_;
  std::atomic<bool> ready_{false};
  std::atomic<bool> draining_{false};
};

}  // namespace bp::api
