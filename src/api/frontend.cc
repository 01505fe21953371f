#include "api/frontend.h"

#include "common/ids.h"
#include "common/log.h"
#include "common/utf8.h"

namespace bp::api {

namespace {

http::Response Json(int status, std::string body) {
  return http::Response::Text(status, std::move(body), "application/json");
}

}  // namespace

void Frontend::Handle(http::Request&& req, http::Responder respond) {
  std::string_view path = req.Path();
  if (req.method == "GET" || req.method == "HEAD") {
    if (path == "/health") {
      respond(Json(200, "{\"status\":\"ok\"}"));
      return;
    }
    if (path == "/ready") {
      if (ready_.load() && !draining_.load()) {
        respond(Json(200, "{\"status\":\"ready\"}"));
      } else {
        respond(Json(503,
                     draining_.load() ? "{\"status\":\"draining\"}" : "{\"status\":\"starting\"}"));
      }
      return;
    }
    if (path == "/metrics" && hooks_.metrics_text) {
      respond(http::Response::Text(200, hooks_.metrics_text(), "text/plain; version=0.0.4"));
      return;
    }
  }
  if (path.substr(0, 13) == "/_bridgeport/") {
    bool allowed = options_.dev_mode && req.remote_is_loopback;
    if (!allowed && !options_.admin_token.empty()) {
      allowed = req.Header("authorization") == "Bearer " + options_.admin_token;
    }
    if (!allowed) {
      respond(Json(401, "{\"message\":\"admin API requires Authorization: Bearer <token>\"}"));
      return;
    }
    if (hooks_.admin_handle) {
      hooks_.admin_handle(std::move(req), std::move(respond));
    } else {
      respond(Json(404, "{\"message\":\"not found\"}"));
    }
    return;
  }

  std::string request_id = NewUuid();
  std::string_view target = req.Header("x-amz-target");
  constexpr std::string_view kEventsPrefix = "AWSEvents.";
  bool is_events = target.substr(0, kEventsPrefix.size()) == kEventsPrefix;
  bool is_sqs = !is_events && hooks_.sqs_accepts && hooks_.sqs_accepts(req);
  if (!is_events && !is_sqs) {
    if (req.method == "GET" && path == "/") {
      respond(Json(200, "{\"service\":\"bridgeport\"}"));
      return;
    }
    if (!target.empty()) {
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
  if (!ready_.load() || draining_.load()) {
    respond(
        EventsError("ServiceUnavailableException",
                    draining_.load() ? "The server is shutting down." : "The server is starting.",
                    503, request_id));
    return;
  }

  SigV4Options sig = options_.sigv4;
  sig.allow_any = sig.allow_any && req.remote_is_loopback;
  SigV4Result auth = VerifySigV4(req, sig, clock_.NowSeconds(), is_sqs ? "sqs" : "events");
  if (!auth.ok()) {
    log::Info("api", "request rejected by SigV4",
              {{"error", std::string(SigV4FailureName(auth.failure))},
               {"access_key", auth.access_key},
               {"remote", req.remote_address}});
    if (is_sqs) {
      // SQS clients parse the same JSON error shape for signature errors.
      http::Response r = EventsError(SigV4FailureName(auth.failure), auth.message, 400, request_id);
      r.SetHeader("Content-Type", "application/x-amz-json-1.0");
      respond(std::move(r));
    } else {
      respond(EventsError(SigV4FailureName(auth.failure), auth.message, 400, request_id));
    }
    return;
  }

  if (is_sqs) {
    hooks_.sqs_handle(std::move(req), std::move(request_id), std::move(respond));
    return;
  }
  std::string_view ct = req.Header("content-type");
  if (!ct.empty() && ct.find("application/x-amz-json-1.1") == std::string_view::npos &&
      ct.find("application/json") == std::string_view::npos) {
    respond(EventsError("SerializationException",
                        "Unsupported content type '" + SanitizeUtf8(ct) +
                            "'; EventBridge operations use application/x-amz-json-1.1.",
                        400, request_id));
    return;
  }
  RequestContext ctx;
  ctx.request_id = std::move(request_id);
  ctx.region = options_.region;
  ctx.account = options_.account;
  ctx.host = std::string(req.Header("host"));
  ctx.loopback = req.remote_is_loopback;
  std::string operation(target.substr(kEventsPrefix.size()));
  events_.Handle(operation, req, ctx, std::move(respond));
}

}  // namespace bp::api
