// The AWS JSON 1.1 protocol for `AWSEvents.*` operations: decoding, dispatch to one handler per
// operation, and AWS-shaped replies and errors.
#pragma once

#include <boost/json/object.hpp>
#include <functional>
#include <string>
#include <unordered_map>

#include "common/status.h"
#include "http/server.h"

namespace bp::api {

// Facts about the request that handlers may need.
struct RequestContext {
  std::string request_id;
  std::string region;
  std::string account;
  std::string host;  // Host header, for URLs in replies
  bool loopback = false;
  // The signing key's account when it is configured as another account's (--key-account),
  // else empty (the server's own account).
  std::string caller_account;
  std::string caller_organization;
};

using JsonReply = std::function<void(StatusOr<boost::json::object>)>;
// A handler gets the decoded request object and must call `reply` exactly once (from any thread).
using EventsHandler =
    std::function<void(const boost::json::object& input, const RequestContext&, JsonReply reply)>;

class EventsApi {
 public:
  // kTransient: the handler reads its input only before it returns (it copies what it keeps), so
  // the request may be parsed into a per-call arena (PutEvents: fewer allocations per event).
  enum class InputLifetime { kCopied, kTransient };
  void Register(std::string operation, EventsHandler handler,
                InputLifetime lifetime = InputLifetime::kCopied);
  bool Has(std::string_view operation) const;
  // Decodes `req` (already authenticated) and runs the operation named by `operation`.
  void Handle(std::string_view operation, const http::Request& req, const RequestContext& ctx,
              http::Responder respond) const;
  // Runs an operation on an already decoded input, for other front doors that plan ordinary
  // control-plane calls (CloudFormation stacks). `reply` runs exactly once, on any thread; an
  // unknown operation replies kValidation.
  void Call(std::string_view operation, const boost::json::object& input, const RequestContext& ctx,
            JsonReply reply) const;

 private:
  struct Entry {
    EventsHandler handler;
    InputLifetime lifetime = InputLifetime::kCopied;
  };
  std::unordered_map<std::string, Entry> handlers_;
};

// AWS exception name for a status code (e.g. kNotFound -> "ResourceNotFoundException").
std::string_view ExceptionName(StatusCode code);
int HttpStatusFor(StatusCode code);

// An AWS JSON 1.1 error reply.
http::Response EventsError(std::string_view type, std::string_view message, int status,
                           std::string_view request_id);
http::Response EventsError(const Status& status, std::string_view request_id);
http::Response EventsOk(const boost::json::object& body, std::string_view request_id);

}  // namespace bp::api
