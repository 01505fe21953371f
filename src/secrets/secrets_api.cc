#include "secrets/secrets_api.h"

#include <boost/json.hpp>

#include "common/log.h"

namespace bp::secrets {

namespace json = boost::json;

namespace {

constexpr std::string_view kPrefix = "secretsmanager.";

using Method = StatusOr<json::object> (SecretStore::*)(const json::object&);

struct Op {
  std::string_view name;
  Method method;
};

constexpr Op kOps[] = {
    {"CreateSecret", &SecretStore::CreateSecret},
    {"GetSecretValue", &SecretStore::GetSecretValue},
    {"PutSecretValue", &SecretStore::PutSecretValue},
    {"DescribeSecret", &SecretStore::DescribeSecret},
    {"ListSecrets", &SecretStore::ListSecrets},
    {"DeleteSecret", &SecretStore::DeleteSecret},
    {"UpdateSecret", &SecretStore::UpdateSecret},
    {"RestoreSecret", &SecretStore::RestoreSecret},
    {"GetRandomPassword", &SecretStore::GetRandomPassword},
};

}  // namespace

bool SecretsApi::Accepts(const http::Request& request) {
  return request.Header("x-amz-target").starts_with(kPrefix);
}

http::Response SecretsApi::Error(std::string_view type, std::string_view message, int status,
                                 std::string_view request_id) {
  json::object body{{"__type", type}, {"Message", message}};
  http::Response r;
  r.status = status;
  r.SetHeader("Content-Type", "application/x-amz-json-1.1");
  r.SetHeader("x-amzn-RequestId", std::string(request_id));
  r.SetHeader("x-amzn-ErrorType", std::string(type));
  r.body = json::serialize(body);
  return r;
}

void SecretsApi::Handle(const http::Request& request, const std::string& request_id,
                        const http::Responder& respond) {
  std::string_view op = request.Header("x-amz-target").substr(kPrefix.size());
  const Op* found = nullptr;
  for (const auto& o : kOps) {
    if (o.name == op) found = &o;
  }
  if (!found) {
    respond(Error("UnknownOperationException",
                  "The operation " + std::string(op) + " is not supported by Bridgeport.", 400,
                  request_id));
    return;
  }
  json::object input;
  if (!request.body.empty()) {
    json::error_code ec;
    json::value v = json::parse(request.body, ec);
    if (ec || !v.is_object()) {
      respond(Error("SerializationException", "The request body is not a JSON object.", 400,
                    request_id));
      return;
    }
    input = std::move(v.as_object());
  }
  StatusOr<json::object> result = (store_.*(found->method))(input);
  if (!result.ok()) {
    std::string_view type = ExceptionName(result.status().code());
    if (type == "InternalServiceError") {
      log::Error("secretsmanager", "internal error",
                 {{"operation", op}, {"error", result.status().ToString()}});
      respond(Error(type, "An internal error occurred.", 500, request_id));
    } else {
      respond(Error(type, result.status().message(), 400, request_id));
    }
    return;
  }
  http::Response r;
  r.status = 200;
  r.SetHeader("Content-Type", "application/x-amz-json-1.1");
  r.SetHeader("x-amzn-RequestId", request_id);
  r.body = json::serialize(*result);
  respond(std::move(r));
}

}  // namespace bp::secrets
