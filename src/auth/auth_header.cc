#include "auth/auth_header.h"

#include <cstring>
#include <string_view>

#include "auth/encoding.h"

namespace bp::auth {
namespace {

bool HasLineBreakOrNul(std::string_view s) {
  return s.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos;
}

bool IsToken(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    bool ok = (u >= '0' && u <= '9') || (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') ||
              (u != 0 && std::strchr("!#$%&'*+-.^_`|~", c) != nullptr);
    if (!ok) return false;
  }
  return true;
}

}  // namespace

std::optional<std::pair<std::string, std::string>> StaticAuthHeader(
    StaticAuthType type, const StaticAuthParams& params) {
  switch (type) {
    case StaticAuthType::kBasic:
      if (params.username.empty() || HasLineBreakOrNul(params.username) ||
          HasLineBreakOrNul(params.password)) {
        return std::nullopt;
      }
      return std::make_pair(std::string("Authorization"),
                            "Basic " + Base64Encode(params.username + ":" + params.password));
    case StaticAuthType::kApiKey:
      if (!IsToken(params.api_key_name) || params.api_key_value.empty() ||
          HasLineBreakOrNul(params.api_key_value)) {
        return std::nullopt;
      }
      return std::make_pair(params.api_key_name, params.api_key_value);
  }
  return std::nullopt;
}

}  // namespace bp::auth
