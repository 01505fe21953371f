// Per-resource delivery settings carried in `bridgeport:<key>` tags (SPEC.md §12).
//
// Precedence: rule tag > destination/connection tag > server default. Tags are validated when
// they are set (TagResource / Tags on create), so resolution never fails.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace bp::registry {

inline constexpr std::string_view kSettingTagPrefix = "bridgeport:";

struct DeliverySettings {
  int64_t timeout_ms = 5000;
  int max_inflight = 1000;
  int64_t backoff_base_ms = 1000;
  int64_t backoff_cap_ms = 480000;
  double backoff_multiplier = 2.0;
  // Statuses retried besides 5xx-class entries; "5xx" covers 500-599.
  std::string retryable_statuses = "401,407,409,429,5xx";
  bool retry_all_network_errors = false;  // retry-network-errors=all
  std::optional<int64_t> retry_after_max_seconds;
  bool throttle_expiry_age = false;  // throttle-expiry=age
  bool delivery_headers = false;
  bool oauth_client_auth_body = false;  // oauth-client-auth=body
  bool deauthorize_on_401 = false;
};

// `bridgeport:circuit-breaker` settings.
struct BreakerPolicy {
  int failure_rate_percent = 50;
  int min_requests = 20;
  int64_t window_us = 60'000'000;
  int64_t open_us = 30'000'000;

  // "off" -> nullopt with *ok = true; "failure-rate=50,min-requests=20,window-s=60,open-s=30"
  // (any subset; missing keys keep their defaults). *ok is false for anything else.
  static std::optional<BreakerPolicy> Parse(std::string_view text, bool* ok);
};

// Validates one tag; keys without the prefix are always valid.
[[nodiscard]] Status ValidateSettingTag(std::string_view key, std::string_view value);

// Applies the `bridgeport:*` tags of the given resources over `defaults`.
DeliverySettings ResolveSettings(const DeliverySettings& defaults,
                                 const std::map<std::string, std::string>& connection_tags,
                                 const std::map<std::string, std::string>& destination_tags,
                                 const std::map<std::string, std::string>& rule_tags);

// True if `status` is retryable under a "401,407,409,429,5xx"-style list.
bool StatusListContains(std::string_view list, int status);

}  // namespace bp::registry
