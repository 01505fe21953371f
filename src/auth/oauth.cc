#include "auth/oauth.h"

#include <boost/json.hpp>
#include <cctype>
#include <charconv>

#include "auth/encoding.h"

namespace bp::auth {
namespace {

constexpr int64_t kDefaultExpiresInSeconds = 3600;
// Upper bound on a token lifetime we believe (10 years); keeps expiry arithmetic far from overflow.
constexpr int64_t kMaxExpiresInSeconds = 10LL * 365 * 24 * 3600;

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

void AppendFormField(std::string& out, std::string_view key, std::string_view value) {
  if (!out.empty()) out.push_back('&');
  out += UrlEncode(key);
  out.push_back('=');
  out += UrlEncode(value);
}

void SetHeader(std::vector<std::pair<std::string, std::string>>& headers, const std::string& name,
               const std::string& value) {
  for (auto& [k, v] : headers) {
    if (EqualsIgnoreCase(k, name)) {
      v = value;
      return;
    }
  }
  headers.emplace_back(name, value);
}

// expires_in may be a JSON number or a numeric string; anything unusable means the default.
int64_t ExpiresInSeconds(const boost::json::object& obj) {
  const boost::json::value* v = obj.if_contains("expires_in");
  if (v == nullptr) return kDefaultExpiresInSeconds;
  int64_t seconds = 0;
  if (v->is_int64()) {
    seconds = v->get_int64();
  } else if (v->is_uint64()) {
    seconds = v->get_uint64() > static_cast<uint64_t>(kMaxExpiresInSeconds)
                  ? kMaxExpiresInSeconds
                  : static_cast<int64_t>(v->get_uint64());
  } else if (v->is_double()) {
    double d = v->get_double();
    seconds = d >= static_cast<double>(kMaxExpiresInSeconds) ? kMaxExpiresInSeconds
              : d >= 1                                       ? static_cast<int64_t>(d)
                                                             : 0;
  } else if (v->is_string()) {
    const auto& s = v->get_string();
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), seconds);
    if (ec != std::errc() || ptr != s.data() + s.size()) seconds = 0;
  }
  if (seconds <= 0) return kDefaultExpiresInSeconds;
  return std::min(seconds, kMaxExpiresInSeconds);
}

bool IsTransientStatus(int status) {
  return status == 408 || status == 425 || status == 429 || (status >= 500 && status <= 599);
}

}  // namespace

TokenRequest BuildTokenRequest(const OAuthConfig& config) {
  const bool basic = config.client_auth == OAuthConfig::ClientAuth::kBasic;
  const bool is_get = EqualsIgnoreCase(config.http_method, "GET");

  // grant_type defaults to client_credentials; a body parameter named grant_type replaces it.
  bool grant_type_overridden = false;
  for (const Param& p : config.body_params) grant_type_overridden |= p.key == "grant_type";
  std::string form;
  if (!grant_type_overridden) AppendFormField(form, "grant_type", "client_credentials");
  for (const Param& p : config.body_params) {
    // The connection's ClientParameters always win over same-named body parameters.
    if (!basic && (p.key == "client_id" || p.key == "client_secret")) continue;
    AppendFormField(form, p.key, p.value);
  }
  if (!basic) {
    AppendFormField(form, "client_id", config.client_id);
    AppendFormField(form, "client_secret", config.client_secret);
  }

  TokenRequest req;
  for (char c : config.http_method) {
    req.method.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  }

  std::string query;
  for (const Param& p : config.query_params) AppendFormField(query, p.key, p.value);
  if (is_get && !form.empty()) {
    if (!query.empty()) query.push_back('&');
    query += form;
  }
  std::string_view endpoint = config.authorization_endpoint;
  // A fragment is never sent on the wire.
  if (size_t hash = endpoint.find('#'); hash != std::string_view::npos) {
    endpoint = endpoint.substr(0, hash);
  }
  req.url = std::string(endpoint);
  if (!query.empty()) {
    const bool has_query = endpoint.find('?') != std::string_view::npos;
    if (!has_query) {
      req.url.push_back('?');
    } else if (req.url.back() != '?' && req.url.back() != '&') {
      req.url.push_back('&');
    }
    req.url += query;
  }

  if (basic) {
    req.headers.emplace_back("Authorization",
                             "Basic " + Base64Encode(UrlEncode(config.client_id) + ":" +
                                                     UrlEncode(config.client_secret)));
  }
  if (!is_get) req.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
  req.headers.emplace_back("Accept", "application/json");
  for (const Param& p : config.header_params) {
    if (basic && EqualsIgnoreCase(p.key, "Authorization")) continue;
    SetHeader(req.headers, p.key, p.value);
  }
  if (!is_get) req.body = std::move(form);
  return req;
}

std::string TruncateBody(std::string_view body, size_t max_bytes) {
  if (body.size() <= max_bytes) return std::string(body);
  size_t cut = max_bytes;
  // Back up over continuation bytes (10xxxxxx) so the cut lands on a sequence start.
  while (cut > 0 && (static_cast<unsigned char>(body[cut]) & 0xC0) == 0x80) --cut;
  return std::string(body.substr(0, cut));
}

TokenResult ParseTokenResponse(int status, std::string_view body, int64_t now_micros) {
  TokenResult result;
  auto fail = [&](TokenResult::Kind kind) {
    result.kind = kind;
    result.reason = "HTTP " + std::to_string(status) + ": " + TruncateBody(body);
    return result;
  };
  if (status < 200 || status > 299) {
    return fail(IsTransientStatus(status) ? TokenResult::Kind::kTransient
                                          : TokenResult::Kind::kPermanent);
  }
  boost::json::value json;
  try {
    boost::system::error_code ec;
    json = boost::json::parse(body, ec);
    if (ec) return fail(TokenResult::Kind::kPermanent);
  } catch (const std::exception&) {
    return fail(TokenResult::Kind::kPermanent);
  }
  const boost::json::object* obj = json.if_object();
  if (obj == nullptr) return fail(TokenResult::Kind::kPermanent);
  const boost::json::value* access = obj->if_contains("access_token");
  if (access == nullptr || !access->is_string() || access->get_string().empty()) {
    return fail(TokenResult::Kind::kPermanent);
  }
  result.kind = TokenResult::Kind::kOk;
  result.token.access_token = std::string(access->get_string());
  result.token.token_type = "Bearer";
  if (const boost::json::value* type = obj->if_contains("token_type");
      type != nullptr && type->is_string() && !type->get_string().empty()) {
    result.token.token_type = std::string(type->get_string());
  }
  result.token.obtained_at_micros = now_micros;
  result.token.expires_at_micros = now_micros + ExpiresInSeconds(*obj) * 1'000'000;
  return result;
}

std::string AuthorizationHeaderValue(const Token& token) {
  return token.token_type + " " + token.access_token;
}

}  // namespace bp::auth
