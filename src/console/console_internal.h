// Internals shared by the console service's files (not part of the module's API).
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "console/console_service.h"
#include "http/server.h"
#include "queue/queue_service.h"

namespace bp::console {

namespace json = boost::json;

inline http::Response JsonResponse(int status, const json::value& v) {
  return http::Response::Text(status, json::serialize(v), "application/json");
}
inline http::Response JsonError(int status, std::string message) {
  json::object o;
  o["message"] = std::move(message);
  return JsonResponse(status, o);
}

// A dead-letter message's origin, read from its RULE_ARN / TARGET_ARN attributes.
struct DeadLetterOrigin {
  std::string rule_arn, target_arn, bus, rule, destination, error_code, error_message;
  std::string retry_attempts, exhausted;
};
DeadLetterOrigin OriginOf(const queue::PeekedMessage& m);
// "arn:...:rule/NAME" (default bus) or "arn:...:rule/BUS/NAME" -> (bus, rule).
std::optional<std::pair<std::string, std::string>> ParseRuleArn(std::string_view arn);

// Which dead-letter messages a listing or a redrive selects. Empty fields select everything.
struct DeadLetterFilter {
  std::string destination, rule, error_code;
  int64_t since_us = 0, until_us = INT64_MAX;  // sent time, since <= t < until
  std::vector<std::string> message_ids;        // non-empty: only these
  uint64_t max_seq = UINT64_MAX;               // redrive: messages present when it was created

  bool Matches(const queue::PeekedMessage& m, const DeadLetterOrigin& o) const;
  json::object ToJson() const;
  // From a JSON object (redrive requests and records) or query parameters.
  static StatusOr<DeadLetterFilter> FromJson(const json::object& o);
  static StatusOr<DeadLetterFilter> FromQuery(std::string_view query);
};

// Epoch seconds or ISO-8601 -> microseconds.
std::optional<int64_t> ParseTimeMicros(std::string_view text);

json::object MessageJson(const queue::PeekedMessage& m, const DeadLetterOrigin& o);

}  // namespace bp::console
