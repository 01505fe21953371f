// Static Authorization headers for BASIC and API_KEY connections (no token exchange).
#pragma once

#include <optional>
#include <string>
#include <utility>

namespace bp::auth {

enum class StaticAuthType { kBasic, kApiKey };

struct StaticAuthParams {
  std::string username;       // BASIC
  std::string password;       // BASIC (secret)
  std::string api_key_name;   // API_KEY: the header name
  std::string api_key_value;  // API_KEY (secret)
};

// The header to add to every delivery for the connection, as {name, value}:
//   BASIC   -> {"Authorization", "Basic " + base64(username ":" password)}  (no url-encoding)
//   API_KEY -> {api_key_name, api_key_value}
// nullopt if a required field is empty, or the name/value contains CR, LF or NUL (which would
// split the header), or api_key_name is not an HTTP token (RFC 9110 tchar).
std::optional<std::pair<std::string, std::string>> StaticAuthHeader(StaticAuthType type,
                                                                    const StaticAuthParams& params);

}  // namespace bp::auth
