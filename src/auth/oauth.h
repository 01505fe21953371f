// The OAuth 2.0 client-credentials exchange as pure functions: building the token request from a
// connection's OAuth parameters and classifying the token endpoint's answer. No I/O here; see
// token_fetcher.h for transport and token_cache.h for caching/refresh. Wire rules:
// docs/semantics.md.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bp::auth {

// One OAuthHttpParameters entry. `is_secret` only affects masking in logs/records, never the wire.
struct Param {
  std::string key;
  std::string value;
  bool is_secret = false;
};

struct OAuthConfig {
  enum class ClientAuth { kBasic, kBody };

  std::string authorization_endpoint;  // absolute http(s) URL, may carry its own query string
  std::string http_method = "POST";    // GET | POST | PUT
  std::string client_id;
  std::string client_secret;
  ClientAuth client_auth = ClientAuth::kBasic;
  std::vector<Param> header_params;
  std::vector<Param> query_params;
  std::vector<Param> body_params;
};

// A fully built HTTP request. Holds credentials: never log it.
struct TokenRequest {
  std::string method;  // GET | POST | PUT
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;  // in sending order
  std::string body;                                          // empty for GET
};

// The form fields: grant_type=client_credentials (omitted when a body parameter is named
// grant_type), then the body parameters in order, then client_id and client_secret for
// ClientAuth::kBody (same-named body parameters are dropped: ClientParameters win). Keys and values
// are percent-encoded (UrlEncode). GET sends the form in the query string (after the endpoint's own
// query and the OAuth query parameters); POST/PUT send it as the body. Headers, in order:
// Authorization: Basic base64(urlencode(id) ":" urlencode(secret)) for kBasic; Content-Type:
// application/x-www-form-urlencoded (not on GET); Accept: application/json; then the header
// parameters, each replacing an earlier header of the same name (case-insensitive), except that
// Authorization cannot be replaced under kBasic. A '#fragment' in the endpoint is dropped.
TokenRequest BuildTokenRequest(const OAuthConfig& config);

struct Token {
  std::string token_type;  // as returned; "Bearer" when absent or empty
  std::string access_token;
  int64_t obtained_at_micros = 0;  // the `now` passed to ParseTokenResponse
  int64_t expires_at_micros = 0;   // obtained_at + expires_in (default 3600 s)

  int64_t lifetime_micros() const { return expires_at_micros - obtained_at_micros; }
};

struct TokenResult {
  enum class Kind {
    kOk,         // token is set
    kTransient,  // retry later; connection state kept
    kPermanent,  // the connection becomes DEAUTHORIZED
  };
  Kind kind = Kind::kTransient;
  Token token;
  std::string reason;  // for StateReason; empty when kOk. Never contains credentials we sent.
};

// Classifies an HTTP answer from the token endpoint; `now_micros` stamps the token.
// 2xx with a JSON object holding a non-empty string access_token -> kOk.
// 408, 425, 429, 5xx -> kTransient. Every other status (1xx, 3xx as redirects are not followed,
// other 4xx) and 2xx without a usable access_token -> kPermanent.
// reason = "HTTP <status>: <at most 256 bytes of body, cut at a UTF-8 boundary>".
TokenResult ParseTokenResponse(int status, std::string_view body, int64_t now_micros);

// "<token_type> <access_token>" for the Authorization header of a delivery.
std::string AuthorizationHeaderValue(const Token& token);

// At most 256 bytes of `body`, never splitting a UTF-8 sequence.
std::string TruncateBody(std::string_view body, size_t max_bytes = 256);

}  // namespace bp::auth
