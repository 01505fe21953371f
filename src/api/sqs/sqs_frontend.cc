#include "api/sqs/sqs_frontend.h"

#include <boost/json.hpp>

#include "api/sqs/sqs_protocol.h"
#include "common/log.h"

namespace bp::api::sqs {
namespace {

namespace json = boost::json;

constexpr std::string_view kTargetPrefix = "AmazonSQS.";

bool IsForm(const http::Request& r) {
  return r.Header("content-type").starts_with("application/x-www-form-urlencoded");
}

std::vector<std::pair<std::string, std::string>> QueryParams(const http::Request& r) {
  auto params = http::ParseForm(r.Query());
  if (IsForm(r)) {
    auto body = http::ParseForm(r.body);
    params.insert(params.end(), body.begin(), body.end());
  }
  return params;
}

std::string Param(const std::vector<std::pair<std::string, std::string>>& params,
                  std::string_view name) {
  for (const auto& [k, v] : params) {
    if (k == name) return v;
  }
  return "";
}

http::Response JsonReply(int status, std::string body, std::string_view request_id) {
  http::Response r;
  r.status = status;
  r.body = std::move(body);
  r.SetHeader("Content-Type", "application/x-amz-json-1.0");
  r.SetHeader("x-amzn-RequestId", std::string(request_id));
  return r;
}

http::Response JsonError(const WireError& e, std::string_view request_id,
                         std::string_view type_namespace = "com.amazonaws.sqs#") {
  json::object body{{"__type", std::string(type_namespace) + e.type}, {"message", e.message}};
  http::Response r = JsonReply(e.http_status, json::serialize(body), request_id);
  r.SetHeader("x-amzn-query-error", e.query_code + (e.sender_fault ? ";Sender" : ";Receiver"));
  return r;
}

http::Response XmlReply(int status, std::string body, std::string_view request_id) {
  http::Response r;
  r.status = status;
  r.body = std::move(body);
  r.SetHeader("Content-Type", "text/xml");
  r.SetHeader("x-amzn-RequestId", std::string(request_id));
  return r;
}

// "{scheme}://{host}" of the request, for queue URLs.
std::string BaseUrl(const http::Request& r) {
  std::string_view proto = r.Header("x-forwarded-proto");
  std::string_view host = r.Header("host");
  std::string url = proto.empty() ? "http" : std::string(proto);
  url += "://";
  url += host.empty() ? "localhost" : host;
  return url;
}

// A request sent to a queue URL ("/{account}/{name}") addresses that queue.
std::string PathQueue(const http::Request& r, const std::string& base_url) {
  std::string_view path = r.Path();
  if (path.size() < 2 || path[0] != '/') return "";
  std::string_view rest = path.substr(1);
  size_t slash = rest.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 >= rest.size()) return "";
  if (rest.find('/', slash + 1) != std::string_view::npos) return "";
  return base_url + std::string(path);
}

}  // namespace

bool SqsFrontend::Accepts(const http::Request& request) {
  if (request.Header("x-amz-target").starts_with(kTargetPrefix)) return true;
  if (request.HasHeader("x-amz-target")) return false;
  for (const auto& [k, v] : QueryParams(request)) {
    if (k == "Action") return true;
  }
  return false;
}

void SqsFrontend::Handle(http::Request&& request, std::string request_id, http::Responder respond) {
  std::string base_url = BaseUrl(request);
  OpEnv env{queues_, base_url, PathQueue(request, base_url)};
  std::string_view target = request.Header("x-amz-target");

  if (target.starts_with(kTargetPrefix)) {
    std::string op(target.substr(kTargetPrefix.size()));
    json::object input;
    if (!request.body.empty()) {
      boost::system::error_code ec;
      json::value v = json::parse(request.body, ec);
      if (ec || !v.is_object()) {
        WireError e{400, "SerializationException", "SerializationException", true,
                    "The request body could not be parsed as a JSON object."};
        respond(JsonError(e, request_id, "com.amazon.coral.service#"));
        return;
      }
      input = std::move(v.as_object());
    }
    auto done = [respond, request_id](OpResult result) {
      if (!result.ok()) {
        respond(JsonError(ToWireError(result.status()), request_id));
      } else {
        respond(JsonReply(200, json::serialize(*result), request_id));
      }
    };
    if (!RunOperation(op, input, env, done)) {
      WireError e{400, "UnknownOperationException", "InvalidAction", true,
                  "The action " + op + " is not valid for this endpoint."};
      respond(JsonError(e, request_id, "com.amazon.coral.service#"));
    }
    return;
  }

  auto params = QueryParams(request);
  std::string op = Param(params, "Action");
  if (op.empty()) {
    WireError e{400, "MissingAction", "MissingAction", true,
                "The request must contain the parameter Action."};
    respond(XmlReply(400, ErrorToXml(e, request_id), request_id));
    return;
  }
  auto done = [respond, request_id, op](OpResult result) {
    if (!result.ok()) {
      WireError e = ToWireError(result.status());
      respond(XmlReply(e.http_status, ErrorToXml(e, request_id), request_id));
    } else {
      respond(XmlReply(200, ResultToXml(op, *result, request_id), request_id));
    }
  };
  if (!RunOperation(op, QueryToInput(params), env, done)) {
    WireError e{400, "InvalidAction", "InvalidAction", true,
                "The action " + op + " is not valid for this endpoint."};
    respond(XmlReply(400, ErrorToXml(e, request_id), request_id));
  }
}

}  // namespace bp::api::sqs
