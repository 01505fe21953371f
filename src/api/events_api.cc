#include "api/events_api.h"

#include <atomic>
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <memory>
#include <optional>

#include "common/log.h"
#include "common/utf8.h"

namespace bp::api {

std::string_view ExceptionName(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return "";
    case StatusCode::kValidation:
      return "ValidationException";
    case StatusCode::kSerialization:
      return "SerializationException";
    case StatusCode::kNotFound:
      return "ResourceNotFoundException";
    case StatusCode::kAlreadyExists:
      return "ResourceAlreadyExistsException";
    case StatusCode::kLimitExceeded:
      return "LimitExceededException";
    case StatusCode::kInvalidEventPattern:
      return "InvalidEventPatternException";
    case StatusCode::kConcurrentModification:
      return "ConcurrentModificationException";
    case StatusCode::kIllegalStatus:
      return "IllegalStatusException";
    case StatusCode::kInvalidState:
      return "InvalidStateException";
    case StatusCode::kOperationDisabled:
      return "OperationDisabledException";
    case StatusCode::kPolicyLengthExceeded:
      return "PolicyLengthExceededException";
    case StatusCode::kThrottled:
      return "ThrottlingException";
    case StatusCode::kUnavailable:
      return "ServiceUnavailableException";
    case StatusCode::kIoError:
    case StatusCode::kCorruption:
    case StatusCode::kInternal:
      return "InternalException";
  }
  return "InternalException";
}

int HttpStatusFor(StatusCode code) {
  switch (code) {
    case StatusCode::kUnavailable:
      return 503;
    case StatusCode::kIoError:
    case StatusCode::kCorruption:
    case StatusCode::kInternal:
      return 500;
    default:
      return 400;
  }
}

http::Response EventsError(std::string_view type, std::string_view message, int status,
                           std::string_view request_id) {
  boost::json::object body;
  body["__type"] = type;
  body["message"] = message;
  http::Response r;
  r.status = status;
  r.SetHeader("Content-Type", "application/x-amz-json-1.1");
  r.SetHeader("x-amzn-RequestId", std::string(request_id));
  r.SetHeader("x-amzn-ErrorType", std::string(type));
  r.body = boost::json::serialize(body);
  return r;
}

http::Response EventsError(const Status& status, std::string_view request_id) {
  if (HttpStatusFor(status.code()) == 500) {
    log::Error("api", "internal error", {{"error", status.ToString()}, {"request_id", request_id}});
    return EventsError(ExceptionName(status.code()), "An internal error occurred.", 500,
                       request_id);
  }
  return EventsError(ExceptionName(status.code()), status.message(), HttpStatusFor(status.code()),
                     request_id);
}

http::Response EventsOk(const boost::json::object& body, std::string_view request_id) {
  http::Response r;
  r.status = 200;
  r.SetHeader("Content-Type", "application/x-amz-json-1.1");
  r.SetHeader("x-amzn-RequestId", std::string(request_id));
  r.body = boost::json::serialize(body);
  return r;
}

void EventsApi::Register(std::string operation, EventsHandler handler, InputLifetime lifetime) {
  handlers_[std::move(operation)] = Entry{std::move(handler), lifetime};
}

bool EventsApi::Has(std::string_view operation) const {
  return handlers_.find(std::string(operation)) != handlers_.end();
}

void EventsApi::Handle(std::string_view operation, const http::Request& req,
                       const RequestContext& ctx, http::Responder respond) const {
  auto it = handlers_.find(std::string(operation));
  if (it == handlers_.end()) {
    respond(EventsError("UnknownOperationException",
                        "Operation " + SanitizeUtf8(operation) + " is not supported.", 400,
                        ctx.request_id));
    return;
  }
  // Values copy-constructed from an arena-backed value keep the arena's storage, so only
  // kTransient handlers (which copy into std::string or assign into default-storage objects) get
  // the arena; the arena outlives `input` (declared first).
  std::optional<boost::json::monotonic_resource> arena;
  boost::json::storage_ptr storage;
  if (it->second.lifetime == InputLifetime::kTransient) {
    thread_local unsigned char buffer[64 * 1024];
    arena.emplace(buffer, sizeof(buffer));
    storage = &*arena;
  }
  boost::json::object input(storage);
  std::string_view body = req.body;
  // Skip leading whitespace; an empty body counts as {}.
  while (!body.empty() && (body.front() == ' ' || body.front() == '\n' || body.front() == '\r' ||
                           body.front() == '\t')) {
    body.remove_prefix(1);
  }
  if (!body.empty()) {
    boost::json::error_code ec;
    boost::json::value v = boost::json::parse(body, ec, storage);
    if (ec) {
      respond(EventsError("SerializationException",
                          "Start of structure or map found where not expected.", 400,
                          ctx.request_id));
      return;
    }
    if (!v.is_object()) {
      respond(EventsError("SerializationException", "The request body must be a JSON object.", 400,
                          ctx.request_id));
      return;
    }
    input = std::move(v.as_object());
  }
  // The reply may run on any thread; `answered` guarantees exactly one response even if the
  // handler throws after replying or never replies because it threw.
  auto shared_respond = std::make_shared<http::Responder>(std::move(respond));
  auto answered = std::make_shared<std::atomic<bool>>(false);
  std::string request_id = ctx.request_id;
  JsonReply reply = [shared_respond, answered, request_id](StatusOr<boost::json::object> result) {
    if (answered->exchange(true)) return;
    if (result.ok()) {
      (*shared_respond)(EventsOk(*result, request_id));
    } else {
      (*shared_respond)(EventsError(result.status(), request_id));
    }
  };
  try {
    it->second.handler(input, ctx, std::move(reply));
  } catch (const std::exception& e) {
    log::Error("api", "handler threw", {{"operation", operation}, {"error", e.what()}});
    if (!answered->exchange(true)) {
      (*shared_respond)(EventsError(Status::Internal(e.what()), request_id));
    }
  }
}

void EventsApi::Call(std::string_view operation, const boost::json::object& input,
                     const RequestContext& ctx, JsonReply reply) const {
  auto it = handlers_.find(std::string(operation));
  if (it == handlers_.end()) {
    reply(Status::Validation("Operation " + std::string(operation) + " is not available."));
    return;
  }
  auto answered = std::make_shared<std::atomic<bool>>(false);
  JsonReply once = [answered, reply](StatusOr<boost::json::object> result) {
    if (!answered->exchange(true)) reply(std::move(result));
  };
  try {
    it->second.handler(input, ctx, once);
  } catch (const std::exception& e) {
    once(Status::Internal(e.what()));
  }
}

}  // namespace bp::api
