#include "api/frontend.h"

#include "common/ids.h"
#include "common/log.h"
#include "common/utf8.h"

namespace bp::api {

namespace {

http::Response Json(int status, std::string body) {
  return http::Response::Text(status, std::move(body), "application/json");
}

// "localhost", "127.x.y.z" or "[::1]", with or without a port.
bool IsLoopbackHost(std::string_view host) {
  if (host.starts_with("[::1]")) return true;
  host = host.substr(0, host.find(':'));
  return host == "localhost" || host.starts_with("127.");
}

// Browser protection for the admin API (the web console's data). Browsers mark their requests
// with Sec-Fetch-Site and Origin; scripts (curl, SDKs) send neither and are not affected.
//  * CSRF: a state-changing call from a browser must be same-origin and carry
//    X-Bridgeport-Console (a cross-site form cannot set it; a cross-site fetch would need a CORS
//    preflight, which this server never grants).
//  * DNS rebinding: without a token (loopback dev mode) a browser request must name a loopback
//    host, so a page served from another name that resolves to 127.0.0.1 gets nothing.
// Returns the refusal reason, or empty.
std::string BrowserRefusal(const http::Request& req, bool tokenless) {
  std::string_view site = req.Header("sec-fetch-site");
  std::string_view origin = req.Header("origin");
  if (site.empty() && origin.empty()) return {};
  if (tokenless && !IsLoopbackHost(req.Header("host"))) {
    return "browser requests to the admin API in loopback dev mode must use a loopback host name";
  }
  if (req.method == "GET" || req.method == "HEAD") return {};
  std::string_view host = req.Header("host");
  bool same = site.empty() ? false : (site == "same-origin");
  if (!origin.empty()) {
    same = origin == "http://" + std::string(host) || origin == "https://" + std::string(host);
  }
  if (!same) return "cross-site requests to the admin API are refused";
  if (req.Header("x-bridgeport-console").empty()) {
    return "state-changing admin calls from a browser need the X-Bridgeport-Console header";
  }
  return {};
}

}  // namespace

void Frontend::Handle(http::Request&& req, http::Responder respond) {
  if (HandleOperational(req, respond)) return;
  if (req.Path().substr(0, 13) == "/_bridgeport/") {
    HandleAdmin(std::move(req), std::move(respond));
    return;
  }
  HandleAws(std::move(req), std::move(respond));
}

bool Frontend::HandleOperational(http::Request& req, http::Responder& respond) {
  if (req.method != "GET" && req.method != "HEAD") return false;
  std::string_view path = req.Path();
  if (path == "/health") {
    respond(Json(200, "{\"status\":\"ok\"}"));
    return true;
  }
  if (path == "/ready") {
    HandleReady(respond);
    return true;
  }
  if ((path == "/console" || path.substr(0, 9) == "/console/") && hooks_.console_assets) {
    hooks_.console_assets(std::move(req), std::move(respond));
    return true;
  }
  if (path == "/metrics" && hooks_.metrics_text) {
    respond(http::Response::Text(200, hooks_.metrics_text(), "text/plain; version=0.0.4"));
    return true;
  }
  return false;
}

void Frontend::HandleReady(const http::Responder& respond) {
  std::optional<std::string> degraded;
  if (ready_.load() && !draining_.load()) {
    if (hooks_.store_available && !hooks_.store_available()) {
      degraded = "store unavailable";
    } else if (hooks_.not_ready_reason) {
      degraded = hooks_.not_ready_reason();
    }
  }
  if (degraded) {
    std::string body = "{\"status\":\"degraded\",\"reason\":\"";
    log::AppendJsonEscaped(body, *degraded);
    body += "\"}";
    respond(Json(503, std::move(body)));
  } else if (ready_.load() && !draining_.load()) {
    respond(Json(200, "{\"status\":\"ready\"}"));
  } else {
    respond(
        Json(503, draining_.load() ? "{\"status\":\"draining\"}" : "{\"status\":\"starting\"}"));
  }
}

void Frontend::HandleAdmin(http::Request&& req, http::Responder respond) {
  bool allowed = options_.dev_mode && req.remote_is_loopback;
  if (!allowed && !options_.admin_token.empty()) {
    allowed = req.Header("authorization") == "Bearer " + options_.admin_token;
  }
  if (!allowed) {
    respond(Json(401, "{\"message\":\"admin API requires Authorization: Bearer <token>\"}"));
    return;
  }
  if (std::string why = BrowserRefusal(req, options_.dev_mode && req.remote_is_loopback);
      !why.empty()) {
    respond(Json(403, "{\"message\":\"" + why + "\"}"));
    return;
  }
  if (hooks_.admin_handle) {
    hooks_.admin_handle(std::move(req), std::move(respond));
  } else {
    respond(Json(404, "{\"message\":\"not found\"}"));
  }
}

namespace {
constexpr std::string_view kEventsPrefix = "AWSEvents.";
}  // namespace

Frontend::Route Frontend::RouteFor(const http::Request& req) const {
  if (req.Header("x-amz-target").substr(0, kEventsPrefix.size()) == kEventsPrefix) {
    return {Route::Kind::kEvents, nullptr};
  }
  if (hooks_.pipes_accepts && hooks_.pipes_accepts(req)) return {Route::Kind::kPipes, nullptr};
  for (const auto& route : hooks_.services) {
    if (route.accepts(req)) return {Route::Kind::kService, &route};
  }
  if (hooks_.sqs_accepts && hooks_.sqs_accepts(req)) return {Route::Kind::kSqs, nullptr};
  return {};
}

http::Response Frontend::ErrorFor(const Route& route, std::string_view code,
                                  const std::string& message, int status,
                                  const std::string& request_id) const {
  if (route.kind == Route::Kind::kService) {
    return route.service->error(code, message, status, request_id);
  }
  http::Response r = EventsError(code, message, status, request_id);
  // SQS clients parse the same JSON error shape, under SQS's content type.
  if (route.kind == Route::Kind::kSqs) r.SetHeader("Content-Type", "application/x-amz-json-1.0");
  return r;
}

void Frontend::HandleAws(http::Request&& req, http::Responder respond) {
  std::string request_id = NewUuid();
  std::string_view target = req.Header("x-amz-target");
  const Route route = RouteFor(req);
  if (route.kind == Route::Kind::kNone) {
    if (req.method == "GET" && req.Path() == "/") {
      respond(Json(200, "{\"service\":\"bridgeport\"}"));
    } else if (!target.empty()) {
      respond(EventsError("UnknownOperationException",
                          "The target " + SanitizeUtf8(target) + " is not supported.", 400,
                          request_id));
    } else {
      respond(EventsError("UnknownOperationException",
                          "Request has no X-Amz-Target header and is not an SQS request.", 400,
                          request_id));
    }
    return;
  }
  if (!target.empty() && req.method != "POST") {
    // AWS JSON operations are POST only.
    http::Response r =
        EventsError("UnknownOperationException",
                    "Operation " + SanitizeUtf8(target) + " is not supported with HTTP method " +
                        SanitizeUtf8(req.method) + "; use POST.",
                    400, request_id);
    if (route.kind == Route::Kind::kSqs) {
      r.SetHeader("Content-Type", "application/x-amz-json-1.0");
    }
    respond(std::move(r));
    return;
  }
  if (!ready_.load() || draining_.load()) {
    const char* why = draining_.load() ? "The server is shutting down." : "The server is starting.";
    respond(route.kind == Route::Kind::kService
                ? route.service->error("ServiceUnavailable", why, 503, request_id)
                : EventsError("ServiceUnavailableException", why, 503, request_id));
    return;
  }

  SigV4Options sig = options_.sigv4;
  sig.allow_any = sig.allow_any && req.remote_is_loopback;
  std::string_view signing_name = route.kind == Route::Kind::kService
                                      ? std::string_view(route.service->signing_name)
                                  : route.kind == Route::Kind::kPipes ? "pipes"
                                  : route.kind == Route::Kind::kSqs   ? "sqs"
                                                                      : "events";
  SigV4Result auth = VerifySigV4(req, sig, clock_.NowSeconds(), signing_name);
  if (!auth.ok()) {
    log::Info("api", "request rejected by SigV4",
              {{"error", std::string(SigV4FailureName(auth.failure))},
               {"access_key", auth.access_key},
               {"remote", req.remote_address}});
    respond(ErrorFor(route, SigV4FailureName(auth.failure), auth.message, 400, request_id));
    return;
  }
  switch (route.kind) {
    case Route::Kind::kService:
      route.service->handle(std::move(req), std::move(request_id), std::move(respond));
      return;
    case Route::Kind::kSqs:
      hooks_.sqs_handle(std::move(req), std::move(request_id), std::move(respond));
      return;
    case Route::Kind::kPipes:
      hooks_.pipes_handle(std::move(req), std::move(request_id), std::move(respond));
      return;
    case Route::Kind::kEvents:
    case Route::Kind::kNone:
      break;
  }
  HandleEvents(std::move(req), auth, std::move(request_id), std::move(respond));
}

void Frontend::HandleEvents(http::Request&& req, const SigV4Result& auth, std::string request_id,
                            http::Responder respond) {
  std::string_view ct = req.Header("content-type");
  if (!ct.empty() && ct.find("application/x-amz-json-1.1") == std::string_view::npos &&
      ct.find("application/json") == std::string_view::npos) {
    respond(EventsError("SerializationException",
                        "Unsupported content type '" + SanitizeUtf8(ct) +
                            "'; EventBridge operations use application/x-amz-json-1.1.",
                        400, request_id));
    return;
  }
  std::string operation(req.Header("x-amz-target").substr(kEventsPrefix.size()));
  RequestContext ctx;
  if (auto k = options_.key_accounts.find(auth.access_key);
      k != options_.key_accounts.end() && k->second.first != options_.account) {
    ctx.caller_account = k->second.first;
    ctx.caller_organization = k->second.second;
    if (operation != "PutEvents") {
      respond(EventsError("AccessDeniedException",
                          "User: arn:aws:iam::" + ctx.caller_account +
                              ":root is not authorized to perform: events:" +
                              SanitizeUtf8(operation) + " in account " + options_.account +
                              " (keys of other accounts may only call PutEvents).",
                          400, request_id));
      return;
    }
  }
  ctx.request_id = std::move(request_id);
  ctx.region = options_.region;
  ctx.account = options_.account;
  ctx.host = std::string(req.Header("host"));
  ctx.loopback = req.remote_is_loopback;
  events_.Handle(operation, req, ctx, std::move(respond));
}

}  // namespace bp::api
