#include "api/pipes/pipes_frontend.h"

#include <boost/json.hpp>

#include "common/log.h"

namespace bp::api::pipes {

namespace json = boost::json;

namespace {

constexpr std::string_view kPipesPath = "/v1/pipes";
constexpr std::string_view kTagsPath = "/tags/";

http::Response JsonResponse(int status, const json::object& body, const std::string& request_id) {
  http::Response r;
  r.status = status;
  r.SetHeader("Content-Type", "application/json");
  r.SetHeader("x-amzn-RequestId", request_id);
  r.body = json::serialize(body);
  return r;
}

// "... at 'sourceParameters.x' failed ..." → the field name for fieldList.
std::string FieldOf(const std::string& message) {
  size_t at = message.find(" at '");
  if (at == std::string::npos) return "";
  size_t start = at + 5, end = message.find('\'', start);
  return end == std::string::npos ? "" : message.substr(start, end - start);
}

bool ScopeIsPipes(const http::Request& r) {
  std::string_view auth = r.Header("authorization");
  return auth.find("/pipes/aws4_request") != std::string_view::npos;
}

}  // namespace

bool PipesFrontend::Accepts(const http::Request& r) {
  if (r.HasHeader("x-amz-target")) return false;
  std::string_view path = r.Path();
  if (path == kPipesPath || path.starts_with(std::string(kPipesPath) + "/")) return true;
  if (path.starts_with(kTagsPath)) {
    std::string arn = http::UrlDecode(path.substr(kTagsPath.size()));
    return arn.starts_with("arn:aws:pipes:") || ScopeIsPipes(r);
  }
  return false;
}

http::Response PipesError(const Status& status, const std::string& resource_id,
                          const std::string& request_id) {
  std::string type;
  int code = 400;
  json::object body;
  body["message"] = status.message();
  switch (status.code()) {
    case StatusCode::kValidation:
    case StatusCode::kInvalidEventPattern: {
      type = "ValidationException";
      std::string field = FieldOf(status.message());
      if (!field.empty()) {
        json::array list;
        list.push_back(json::object{{"name", field}, {"message", status.message()}});
        body["fieldList"] = std::move(list);
      }
      break;
    }
    case StatusCode::kSerialization:
      type = "ValidationException";
      break;
    case StatusCode::kNotFound:
      type = "NotFoundException";
      code = 404;
      break;
    case StatusCode::kAlreadyExists:
    case StatusCode::kConcurrentModification:
      type = "ConflictException";
      code = 409;
      body["resourceId"] = resource_id;
      body["resourceType"] = "pipe";
      break;
    case StatusCode::kLimitExceeded:
      type = "ServiceQuotaExceededException";
      code = 402;
      body["resourceId"] = resource_id;
      body["resourceType"] = "pipe";
      body["serviceCode"] = "pipes";
      body["quotaCode"] = "pipes-per-account";
      break;
    case StatusCode::kThrottled:
      type = "ThrottlingException";
      code = 429;
      break;
    default:
      log::Error("api", "pipes internal error",
                 {{"error", status.ToString()}, {"request_id", request_id}});
      type = "InternalException";
      code = 500;
      body["message"] = "An internal error occurred.";
  }
  http::Response r = JsonResponse(code, body, request_id);
  r.SetHeader("X-Amzn-ErrorType", type);
  return r;
}

StatusOr<json::object> PipesFrontend::Dispatch(const http::Request& req, std::string_view path,
                                               const json::object& body, std::string* name) {
  const std::string& m = req.method;
  if (path.starts_with(kTagsPath)) {
    std::string arn = http::UrlDecode(path.substr(kTagsPath.size()));
    *name = arn;
    if (m == "GET") return service_.ListTagsForResource(arn);
    if (m == "POST") return service_.TagResource(arn, body);
    if (m == "DELETE") {
      std::vector<std::string> keys;
      for (auto& [k, v] : http::ParseForm(req.Query())) {
        if (k == "tagKeys") keys.push_back(v);
      }
      return service_.UntagResource(arn, keys);
    }
  } else if (path == kPipesPath) {
    if (m == "GET") {
      bp::pipes::PipeService::Query q;
      for (auto& [k, v] : http::ParseForm(req.Query())) q[k] = v;
      return service_.ListPipes(q);
    }
  } else {
    std::string_view rest = path.substr(kPipesPath.size() + 1);
    std::string_view action;
    if (size_t slash = rest.find('/'); slash != std::string_view::npos) {
      action = rest.substr(slash + 1);
      rest = rest.substr(0, slash);
    }
    *name = http::UrlDecode(rest);
    if (action.empty()) {
      if (m == "POST") return service_.CreatePipe(*name, body);
      if (m == "GET") return service_.DescribePipe(*name);
      if (m == "PUT") return service_.UpdatePipe(*name, body);
      if (m == "DELETE") return service_.DeletePipe(*name);
    } else if (m == "POST" && action == "start") {
      return service_.StartPipe(*name);
    } else if (m == "POST" && action == "stop") {
      return service_.StopPipe(*name);
    }
  }
  return Status(StatusCode::kNotFound, "No Pipes operation for " + m + " " + std::string(path));
}

void PipesFrontend::Handle(http::Request&& req, const std::string& request_id,
                           http::Responder respond) {
  json::object body;
  size_t first = req.body.find_first_not_of(" \t\r\n");
  if (first != std::string::npos) {
    boost::system::error_code ec;
    json::value v = json::parse(req.body, ec);
    if (ec || !v.is_object()) {
      respond(PipesError(Status::Serialization("The request body is not a JSON object."), "",
                         request_id));
      return;
    }
    body = std::move(v.as_object());
  }
  std::string name;
  StatusOr<json::object> out = Status::Internal("unreachable");
  try {
    out = Dispatch(req, req.Path(), body, &name);
  } catch (const std::exception& e) {
    out = Status::Internal(e.what());
  }
  if (!out.ok()) {
    respond(PipesError(out.status(), name, request_id));
    return;
  }
  respond(JsonResponse(200, *out, request_id));
}

}  // namespace bp::api::pipes
