// Queue attribute rules (internal): names, ranges, defaults, RedrivePolicy parsing.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "queue/queue_service.h"

namespace bp::queue {

struct RedrivePolicy {
  std::string dead_letter_target_arn;
  int max_receive_count = 0;
};

// Effective settings of a queue: its set attributes over SQS's defaults.
struct QueueSettings {
  int delay_seconds = 0;
  int maximum_message_size = 1048576;
  int message_retention_period = 345600;
  int receive_message_wait_time_seconds = 0;
  int visibility_timeout = 30;
  std::optional<RedrivePolicy> redrive;

  static QueueSettings From(const QueueAttributes& attributes);
};

// Validates attributes for CreateQueue/SetQueueAttributes and returns them normalised (canonical
// integers, canonical RedrivePolicy JSON). An empty RedrivePolicy or Policy means "remove".
// `queue_exists` checks a dead-letter target name.
[[nodiscard]] StatusOr<QueueAttributes> NormalizeQueueAttributes(
    const QueueAttributes& attributes, const std::function<bool(std::string_view)>& queue_exists);

// True for every name GetQueueAttributes accepts (including "All").
bool IsKnownQueueAttributeName(std::string_view name);

// The queue name in a name, URL or ARN.
std::string_view QueueNameFromRef(std::string_view ref);

bool IsValidQueueName(std::string_view name);

}  // namespace bp::queue
