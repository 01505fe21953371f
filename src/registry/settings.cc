#include "registry/settings.h"

#include <charconv>
#include <vector>

namespace bp::registry {

namespace {

std::optional<int64_t> ParseInt(std::string_view s) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<double> ParseDouble(std::string_view s) {
  try {
    size_t used = 0;
    double d = std::stod(std::string(s), &used);
    if (used != s.size()) return std::nullopt;
    return d;
  } catch (...) {
    return std::nullopt;
  }
}

bool ValidStatusList(std::string_view list) {
  if (list.empty()) return false;
  size_t start = 0;
  while (start <= list.size()) {
    size_t comma = list.find(',', start);
    std::string_view item =
        list.substr(start, comma == std::string_view::npos ? list.npos : comma - start);
    bool ok = item.size() == 3 &&
              (item[1] == 'x' ? item.substr(1) == "xx" && item[0] >= '1' && item[0] <= '5'
                              : ParseInt(item).has_value() && *ParseInt(item) >= 100 &&
                                    *ParseInt(item) <= 599);
    if (!ok) return false;
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return true;
}

Status Bad(std::string_view key, std::string_view value, std::string_view want) {
  return Status::Validation("Tag " + std::string(key) + "=" + std::string(value) +
                            " is not valid: " + std::string(want));
}

void Apply(DeliverySettings& s, const std::map<std::string, std::string>& tags) {
  for (const auto& [key, value] : tags) {
    if (key.compare(0, kSettingTagPrefix.size(), kSettingTagPrefix) != 0) continue;
    std::string_view k = std::string_view(key).substr(kSettingTagPrefix.size());
    if (k == "timeout-ms")
      s.timeout_ms = ParseInt(value).value_or(s.timeout_ms);
    else if (k == "max-inflight")
      s.max_inflight = static_cast<int>(ParseInt(value).value_or(s.max_inflight));
    else if (k == "backoff-base-ms")
      s.backoff_base_ms = ParseInt(value).value_or(s.backoff_base_ms);
    else if (k == "backoff-cap-ms")
      s.backoff_cap_ms = ParseInt(value).value_or(s.backoff_cap_ms);
    else if (k == "backoff-multiplier")
      s.backoff_multiplier = ParseDouble(value).value_or(s.backoff_multiplier);
    else if (k == "retryable-statuses")
      s.retryable_statuses = value;
    else if (k == "retry-network-errors")
      s.retry_all_network_errors = value == "all";
    else if (k == "retry-after-max-seconds")
      s.retry_after_max_seconds = ParseInt(value);
    else if (k == "throttle-expiry")
      s.throttle_expiry_age = value == "age";
    else if (k == "delivery-headers")
      s.delivery_headers = value == "true";
    else if (k == "oauth-client-auth")
      s.oauth_client_auth_body = value == "body";
    else if (k == "deauthorize-on-401")
      s.deauthorize_on_401 = value == "true";
  }
}

}  // namespace

std::optional<BreakerPolicy> BreakerPolicy::Parse(std::string_view text, bool* ok) {
  *ok = true;
  if (text == "off") return std::nullopt;
  BreakerPolicy p;
  auto number = [](std::string_view v, int64_t lo, int64_t hi, int64_t* out) {
    auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), *out);
    return ec == std::errc() && ptr == v.data() + v.size() && *out >= lo && *out <= hi;
  };
  while (!text.empty()) {
    size_t comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    size_t eq = item.find('=');
    int64_t v = 0;
    if (eq == std::string_view::npos) {
      *ok = false;
      return std::nullopt;
    }
    std::string_view key = item.substr(0, eq), value = item.substr(eq + 1);
    if (key == "failure-rate" && number(value, 1, 100, &v)) {
      p.failure_rate_percent = static_cast<int>(v);
    } else if (key == "min-requests" && number(value, 1, 1000000, &v)) {
      p.min_requests = static_cast<int>(v);
    } else if (key == "window-s" && number(value, 1, 86400, &v)) {
      p.window_us = v * 1'000'000;
    } else if (key == "open-s" && number(value, 1, 86400, &v)) {
      p.open_us = v * 1'000'000;
    } else {
      *ok = false;
      return std::nullopt;
    }
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return p;
}

Status ValidateSettingTag(std::string_view key, std::string_view value) {
  if (key.compare(0, kSettingTagPrefix.size(), kSettingTagPrefix) != 0) return Status::Ok();
  std::string_view k = key.substr(kSettingTagPrefix.size());
  auto int_in = [&](int64_t lo, int64_t hi) {
    auto v = ParseInt(value);
    return v && *v >= lo && *v <= hi;
  };
  if (k == "timeout-ms")
    return int_in(100, 300000) ? Status::Ok() : Bad(key, value, "an integer 100-300000");
  if (k == "max-inflight")
    return int_in(1, 100000) ? Status::Ok() : Bad(key, value, "an integer 1-100000");
  if (k == "rate-burst")
    return int_in(1, 100000) ? Status::Ok() : Bad(key, value, "an integer 1-100000");
  if (k == "circuit-breaker") {
    bool ok = false;
    BreakerPolicy::Parse(value, &ok);
    return ok ? Status::Ok()
              : Bad(key, value,
                    "off, or failure-rate=1-100,min-requests=N,window-s=N,open-s=N (any subset)");
  }
  if (k == "adaptive-rate") {
    return value == "on" || value == "off" ? Status::Ok() : Bad(key, value, "on or off");
  }
  if (k == "backoff-base-ms")
    return int_in(1, 86400000) ? Status::Ok() : Bad(key, value, "an integer 1-86400000");
  if (k == "backoff-cap-ms")
    return int_in(1, 86400000) ? Status::Ok() : Bad(key, value, "an integer 1-86400000");
  if (k == "backoff-multiplier") {
    auto d = ParseDouble(value);
    return d && *d >= 1.0 && *d <= 10.0 ? Status::Ok() : Bad(key, value, "a number 1-10");
  }
  if (k == "retryable-statuses") {
    return ValidStatusList(value)
               ? Status::Ok()
               : Bad(key, value, "a comma-separated list of statuses or Nxx classes");
  }
  if (k == "retry-network-errors") {
    return value == "transient" || value == "all" ? Status::Ok()
                                                  : Bad(key, value, "transient or all");
  }
  if (k == "retry-after-max-seconds")
    return int_in(0, 86400) ? Status::Ok() : Bad(key, value, "an integer 0-86400");
  if (k == "throttle-expiry")
    return value == "never" || value == "age" ? Status::Ok() : Bad(key, value, "never or age");
  if (k == "delivery-headers" || k == "deauthorize-on-401") {
    return value == "true" || value == "false" ? Status::Ok() : Bad(key, value, "true or false");
  }
  if (k == "oauth-client-auth")
    return value == "basic" || value == "body" ? Status::Ok() : Bad(key, value, "basic or body");
  return Status::Validation("Tag key " + std::string(key) + " is not a known bridgeport: setting.");
}

DeliverySettings ResolveSettings(const DeliverySettings& defaults,
                                 const std::map<std::string, std::string>& connection_tags,
                                 const std::map<std::string, std::string>& destination_tags,
                                 const std::map<std::string, std::string>& rule_tags) {
  DeliverySettings s = defaults;
  Apply(s, connection_tags);
  Apply(s, destination_tags);
  Apply(s, rule_tags);
  return s;
}

bool StatusListContains(std::string_view list, int status) {
  size_t start = 0;
  while (start <= list.size()) {
    size_t comma = list.find(',', start);
    std::string_view item =
        list.substr(start, comma == std::string_view::npos ? list.npos : comma - start);
    if (item.size() == 3 && item.substr(1) == "xx") {
      if (status / 100 == item[0] - '0') return true;
    } else if (auto v = ParseInt(item); v && *v == status) {
      return true;
    }
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return false;
}

}  // namespace bp::registry
