#include "delivery/http_client.h"

#include <algorithm>
#include <cctype>

namespace bp::delivery {

std::optional<std::string_view> HttpResult::Header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k.size() == name.size() && std::equal(k.begin(), k.end(), name.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) ==
                 std::tolower(static_cast<unsigned char>(b));
        })) {
      return std::string_view(v);
    }
  }
  return std::nullopt;
}

std::string_view HttpResultKindName(HttpResult::Kind kind) {
  switch (kind) {
    case HttpResult::Kind::kResponse:
      return "response";
    case HttpResult::Kind::kTimeout:
      return "timeout";
    case HttpResult::Kind::kConnectionFailed:
      return "connection_failed";
    case HttpResult::Kind::kDnsNotFound:
      return "dns_not_found";
    case HttpResult::Kind::kTlsCertificate:
      return "tls_certificate";
    case HttpResult::Kind::kResponseTooLarge:
      return "response_too_large";
    case HttpResult::Kind::kInternal:
      return "internal";
    case HttpResult::Kind::kEgressDenied:
      return "egress_denied";
  }
  return "unknown";
}

}  // namespace bp::delivery
