#include "queue/queue_attributes.h"

#include <array>
#include <boost/json.hpp>
#include <cctype>
#include <charconv>

#include "queue/queue_errors.h"

namespace bp::queue {
namespace {

struct IntRule {
  std::string_view name;
  int min, max;
};
constexpr std::array<IntRule, 6> kIntRules = {{
    {"DelaySeconds", 0, 900},
    {"MaximumMessageSize", 1024, 1048576},
    {"MessageRetentionPeriod", 60, 1209600},
    {"ReceiveMessageWaitTimeSeconds", 0, 20},
    {"VisibilityTimeout", 0, 43200},
    {"KmsDataKeyReusePeriodSeconds", 60, 86400},
}};

// Settable attributes kept verbatim.
constexpr std::array<std::string_view, 4> kStoredStrings = {
    "Policy", "RedriveAllowPolicy", "KmsMasterKeyId", "SqsManagedSseEnabled"};

constexpr std::array<std::string_view, 6> kReadOnly = {"ApproximateNumberOfMessages",
                                                       "ApproximateNumberOfMessagesNotVisible",
                                                       "ApproximateNumberOfMessagesDelayed",
                                                       "CreatedTimestamp",
                                                       "LastModifiedTimestamp",
                                                       "QueueArn"};

constexpr std::array<std::string_view, 4> kFifoOnly = {"FifoQueue", "ContentBasedDeduplication",
                                                       "DeduplicationScope", "FifoThroughputLimit"};

std::optional<int> ParseInt(std::string_view s) {
  int v = 0;
  if (s.empty()) return std::nullopt;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

Status InvalidRedrive(std::string_view value, std::string_view reason) {
  return QueueError(ErrorKind::kInvalidParameterValue,
                    "Value " + std::string(value) +
                        " for parameter RedrivePolicy is invalid. Reason: " + std::string(reason));
}

StatusOr<std::string> NormalizeRedrive(std::string_view value,
                                       const std::function<bool(std::string_view)>& exists) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(value, ec);
  if (ec || !v.is_object()) return InvalidRedrive(value, "Redrive policy is not a valid JSON map.");
  const auto& o = v.as_object();
  const auto* arn = o.if_contains("deadLetterTargetArn");
  const auto* count = o.if_contains("maxReceiveCount");
  if (!arn || !arn->is_string()) {
    return InvalidRedrive(value,
                          "Redrive policy does not contain mandatory attribute: "
                          "deadLetterTargetArn.");
  }
  if (!count) {
    return InvalidRedrive(value,
                          "Redrive policy does not contain mandatory attribute: "
                          "maxReceiveCount.");
  }
  std::optional<int> n;
  if (count->is_int64()) {
    n = static_cast<int>(count->as_int64());
  } else if (count->is_string()) {
    n = ParseInt(count->as_string());
  }
  if (!n || *n < 1 || *n > 1000) {
    return InvalidRedrive(value,
                          "Invalid value for maxReceiveCount: " + boost::json::serialize(*count) +
                              ", valid values are from 1 to 1000 both inclusive.");
  }
  std::string_view target = arn->as_string();
  if (!target.starts_with("arn:aws:sqs:") || !exists(QueueNameFromRef(target))) {
    return InvalidRedrive(value, "Dead letter target does not exist.");
  }
  boost::json::object out;
  out["deadLetterTargetArn"] = target;
  out["maxReceiveCount"] = *n;
  return boost::json::serialize(out);
}

}  // namespace

QueueSettings QueueSettings::From(const QueueAttributes& a) {
  QueueSettings s;
  auto get = [&](std::string_view name, int& field) {
    auto it = a.find(std::string(name));
    if (it == a.end()) return;
    if (auto v = ParseInt(it->second)) field = *v;
  };
  get("DelaySeconds", s.delay_seconds);
  get("MaximumMessageSize", s.maximum_message_size);
  get("MessageRetentionPeriod", s.message_retention_period);
  get("ReceiveMessageWaitTimeSeconds", s.receive_message_wait_time_seconds);
  get("VisibilityTimeout", s.visibility_timeout);
  if (auto it = a.find("RedrivePolicy"); it != a.end()) {
    boost::system::error_code ec;
    boost::json::value v = boost::json::parse(it->second, ec);
    if (!ec && v.is_object()) {
      const auto* arn = v.as_object().if_contains("deadLetterTargetArn");
      const auto* count = v.as_object().if_contains("maxReceiveCount");
      if (arn && arn->is_string() && count && count->is_int64()) {
        s.redrive =
            RedrivePolicy{std::string(arn->as_string()), static_cast<int>(count->as_int64())};
      }
    }
  }
  return s;
}

StatusOr<QueueAttributes> NormalizeQueueAttributes(
    const QueueAttributes& attributes, const std::function<bool(std::string_view)>& queue_exists) {
  QueueAttributes out;
  for (const auto& [name, value] : attributes) {
    bool handled = false;
    for (const auto& rule : kIntRules) {
      if (name != rule.name) continue;
      auto v = ParseInt(value);
      if (!v || *v < rule.min || *v > rule.max) {
        return QueueError(ErrorKind::kInvalidAttributeValue,
                          "Invalid value for the parameter " + name + ".");
      }
      out[name] = std::to_string(*v);
      handled = true;
    }
    if (handled) continue;
    if (name == "RedrivePolicy") {
      if (value.empty()) {
        out[name] = "";
        continue;
      }
      BP_ASSIGN_OR_RETURN(out[name], NormalizeRedrive(value, queue_exists));
      continue;
    }
    for (auto s : kStoredStrings) {
      if (name == s) {
        out[name] = value;
        handled = true;
      }
    }
    if (handled) continue;
    if (name == "FifoQueue" && value == "true") {
      return QueueError(ErrorKind::kUnsupportedOperation,
                        "FIFO queues are not supported by Bridgeport.");
    }
    if (name == "FifoQueue" && value == "false") continue;
    return QueueError(ErrorKind::kInvalidAttributeName, "Unknown Attribute " + name + ".");
  }
  return out;
}

bool IsKnownQueueAttributeName(std::string_view name) {
  if (name == "All" || name == "RedrivePolicy") return true;
  for (const auto& r : kIntRules) {
    if (r.name == name) return true;
  }
  for (auto s : kStoredStrings) {
    if (s == name) return true;
  }
  for (auto s : kReadOnly) {
    if (s == name) return true;
  }
  for (auto s : kFifoOnly) {
    if (s == name) return true;
  }
  return false;
}

std::string_view QueueNameFromRef(std::string_view ref) {
  if (ref.starts_with("arn:")) return ref.substr(ref.rfind(':') + 1);
  while (ref.ends_with('/')) ref.remove_suffix(1);
  size_t slash = ref.rfind('/');
  return slash == std::string_view::npos ? ref : ref.substr(slash + 1);
}

bool IsValidQueueName(std::string_view name) {
  if (name.empty() || name.size() > 80) return false;
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') return false;
  }
  return true;
}

}  // namespace bp::queue
