// Validation of a connection's AuthParameters (CreateConnection / UpdateConnection): lengths and
// enums as AWS words them, HTTP parameter lists, header safety of values sent as headers, and
// which parameter block goes with which AuthorizationType. Storage and secrets:
// registry_connections.cc.
#include <boost/json.hpp>

#include "model/validation.h"
#include "registry/registry_internal.h"

namespace bp::registry {

namespace json = boost::json;
using model::Validator;

namespace {

Status ValidateParamList(Validator& v, const json::object& parent, std::string_view key,
                         const std::string& field) {
  auto it = parent.find(key);
  if (it == parent.end() || it->value().is_null()) return Status::Ok();
  if (!it->value().is_array()) return Status::Serialization(std::string(key) + " must be a list.");
  const auto& arr = it->value().as_array();
  if (arr.size() > 100) {
    v.Fail("Value at '" + field +
           "' failed to satisfy constraint: Member must have length less than or equal to 100");
  }
  for (size_t i = 0; i < arr.size(); ++i) {
    if (!arr[i].is_object())
      return Status::Serialization(std::string(key) + " entries must be objects.");
    const auto& p = arr[i].as_object();
    std::string base = field + "." + std::to_string(i + 1) + ".member.";
    v.Length(base + "key", JsonString(p, "Key"), 1, 512);
    // Parameter values may be secrets: the message never quotes them.
    if (JsonString(p, "Value").size() > 512) {
      v.Fail(
          "Value at '" + base +
          "value' failed to satisfy constraint: Member must have length less than or equal to 512");
    }
    if (auto s = p.find("IsValueSecret"); s != p.end() && !s->value().is_bool()) {
      return Status::Serialization("IsValueSecret must be a boolean.");
    }
  }
  return Status::Ok();
}

Status ValidateHttpParams(Validator& v, const json::object* params, const std::string& field) {
  if (!params) return Status::Ok();
  BP_RETURN_IF_ERROR(
      ValidateParamList(v, *params, "HeaderParameters", field + ".headerParameters"));
  BP_RETURN_IF_ERROR(
      ValidateParamList(v, *params, "QueryStringParameters", field + ".queryStringParameters"));
  BP_RETURN_IF_ERROR(ValidateParamList(v, *params, "BodyParameters", field + ".bodyParameters"));
  return Status::Ok();
}

// A secret of 1..512 characters; the message never quotes it.
void SecretLength(Validator& v, const json::object& block, std::string_view member,
                  const std::string& field) {
  const size_t n = JsonString(block, member).size();
  if (n == 0 || n > 512) {
    v.Fail("Value at '" + field +
           "' failed to satisfy constraint: Member must have length between 1 and 512");
  }
}

// On update only the members given are checked; on create every member is required.
void ValidateBasic(Validator& v, const json::object& basic, bool update) {
  if (!update || basic.contains("Username")) {
    v.Length("authParameters.basicAuthParameters.username", JsonString(basic, "Username"), 1, 512);
  }
  const std::string password = JsonString(basic, "Password");
  if (!update || basic.contains("Password")) {
    // Measured on a stand-in, so that the message cannot quote the password.
    v.Length("authParameters.basicAuthParameters.password", password.empty() ? "" : "********", 1,
             512);
  }
  if (password.size() > 512) {
    v.Fail(
        "Value at 'authParameters.basicAuthParameters.password' failed to satisfy constraint: "
        "Member must have length less than or equal to 512");
  }
}

void ValidateApiKey(Validator& v, const json::object& api_key, bool update) {
  if (!update || api_key.contains("ApiKeyName")) {
    v.Length("authParameters.apiKeyAuthParameters.apiKeyName", JsonString(api_key, "ApiKeyName"), 1,
             512);
  }
  if (!update || api_key.contains("ApiKeyValue")) {
    SecretLength(v, api_key, "ApiKeyValue", "authParameters.apiKeyAuthParameters.apiKeyValue");
  }
}

Status ValidateOAuth(Validator& v, const json::object& oauth, bool update,
                     const RegistryOptions& options) {
  const json::object* client = ObjectMember(oauth, "ClientParameters");
  if (!update) v.NotNull("authParameters.oAuthParameters.clientParameters", client != nullptr);
  if (client) {
    if (!update || client->contains("ClientID")) {
      v.Length("authParameters.oAuthParameters.clientParameters.clientID",
               JsonString(*client, "ClientID"), 1, 512);
    }
    if (!update || client->contains("ClientSecret")) {
      SecretLength(v, *client, "ClientSecret",
                   "authParameters.oAuthParameters.clientParameters.clientSecret");
    }
  }
  if (!update || oauth.contains("AuthorizationEndpoint")) {
    const std::string ep = JsonString(oauth, "AuthorizationEndpoint");
    const std::string field = "authParameters.oAuthParameters.authorizationEndpoint";
    v.Length(field, ep, 1, 2048);
    if (!ep.empty() && !ValidEndpoint(ep, options.allow_http_endpoints)) {
      v.Pattern(field, ep, false, "^(https://)[^\\s]+$");
    }
    if (!ep.empty()) CheckEgress(options, v, field, ep);
  }
  if (!update || oauth.contains("HttpMethod")) {
    v.Enum("authParameters.oAuthParameters.httpMethod", JsonString(oauth, "HttpMethod"),
           {"GET", "POST", "PUT"});
  }
  return ValidateHttpParams(v, ObjectMember(oauth, "OAuthHttpParameters"),
                            "authParameters.oAuthParameters.oAuthHttpParameters");
}

bool HeaderSafe(std::string_view value) {
  return value.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

// An RFC 9110 token: what may stand as a header name.
bool HeaderToken(std::string_view name) {
  if (name.empty()) return false;
  for (unsigned char c : name) {
    if (c <= 32 || c >= 127 ||
        std::string_view("()<>@,;:\\\"/[]?={}").find(static_cast<char>(c)) !=
            std::string_view::npos) {
      return false;
    }
  }
  return true;
}

// Values that end up in request headers must not be able to inject headers.
Status CheckHeaderSafety(const json::object* basic, const json::object* api_key) {
  if (api_key) {
    if (api_key->contains("ApiKeyName") && !HeaderToken(JsonString(*api_key, "ApiKeyName"))) {
      return Status::Validation("ApiKeyName must be a valid HTTP header name.");
    }
    if (!HeaderSafe(JsonString(*api_key, "ApiKeyValue"))) {
      return Status::Validation("ApiKeyValue must not contain CR, LF or NUL characters.");
    }
  }
  if (basic && (!HeaderSafe(JsonString(*basic, "Username")) ||
                !HeaderSafe(JsonString(*basic, "Password")))) {
    return Status::Validation("Username and Password must not contain CR, LF or NUL characters.");
  }
  if (basic && JsonString(*basic, "Username").find(':') != std::string::npos) {
    return Status::Validation(
        "Username must not contain ':' (it separates user and password in Basic auth).");
  }
  return Status::Ok();
}

// Exactly the block that goes with `type` (required on create, optional on update).
Status CheckBlockMatchesType(std::string_view type, const json::object* basic,
                             const json::object* api_key, const json::object* oauth, bool update) {
  if (!update) {
    if (type == "BASIC" && !basic) {
      return Status::Validation(
          "BasicAuthParameters are required when AuthorizationType is BASIC.");
    }
    if (type == "API_KEY" && !api_key) {
      return Status::Validation(
          "ApiKeyAuthParameters are required when AuthorizationType is API_KEY.");
    }
    if (type == "OAUTH_CLIENT_CREDENTIALS" && !oauth) {
      return Status::Validation(
          "OAuthParameters are required when AuthorizationType is OAUTH_CLIENT_CREDENTIALS.");
    }
  }
  if ((basic ? 1 : 0) + (api_key ? 1 : 0) + (oauth ? 1 : 0) > 1) {
    return Status::Validation(
        "Only one of BasicAuthParameters, ApiKeyAuthParameters and OAuthParameters may be given.");
  }
  if ((basic && type != "BASIC") || (api_key && type != "API_KEY") ||
      (oauth && type != "OAUTH_CLIENT_CREDENTIALS")) {
    return Status::Validation("The AuthParameters given do not match AuthorizationType " +
                              std::string(type) + ".");
  }
  return Status::Ok();
}

}  // namespace

const json::object* ObjectMember(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  return it != o.end() && it->value().is_object() ? &it->value().as_object() : nullptr;
}

bool ValidEndpoint(std::string_view url, bool allow_http) {
  if (url.substr(0, 8) == "https://") return url.size() > 8;
  if (allow_http && url.substr(0, 7) == "http://") return url.size() > 7;
  return false;
}

void CheckEgress(const RegistryOptions& options, Validator& v, std::string_view field,
                 std::string_view url) {
  if (!v.ok() || !options.egress_refusal) return;
  if (std::optional<std::string> why = options.egress_refusal(url)) {
    v.Fail("Value '" + std::string(url) + "' at '" + std::string(field) +
           "' failed to satisfy constraint: " + *why);
  }
}

Status ValidateAuthParameters(const json::object& auth, std::string_view type, bool update,
                              const RegistryOptions& options) {
  Validator v;
  const json::object* basic = ObjectMember(auth, "BasicAuthParameters");
  const json::object* api_key = ObjectMember(auth, "ApiKeyAuthParameters");
  const json::object* oauth = ObjectMember(auth, "OAuthParameters");
  if (basic) ValidateBasic(v, *basic, update);
  if (api_key) ValidateApiKey(v, *api_key, update);
  if (oauth) BP_RETURN_IF_ERROR(ValidateOAuth(v, *oauth, update, options));
  BP_RETURN_IF_ERROR(ValidateHttpParams(v, ObjectMember(auth, "InvocationHttpParameters"),
                                        "authParameters.invocationHttpParameters"));
  BP_RETURN_IF_ERROR(v.Finish());
  BP_RETURN_IF_ERROR(CheckHeaderSafety(basic, api_key));
  return CheckBlockMatchesType(type, basic, api_key, oauth, update);
}

}  // namespace bp::registry
