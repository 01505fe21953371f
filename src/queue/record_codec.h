// Storage layout of queues (internal to the queue module).
//
//   kMeta   "queue/<name>"                      -> queue definition (JSON)
//   kMeta   "queue-next-id"                     -> next queue id (decimal)
//   kQueues BE64(queue id) BE64(seq) 'm'        -> message content (immutable)
//   kQueues BE64(queue id) BE64(seq) 's'        -> message state (rewritten on every receive)
//
// A queue id is never reused, so messages of a deleted queue cannot reappear in a new queue of the
// same name. Content and state are separate so that a receive does not rewrite the body.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "queue/message.h"
#include "queue/queue_service.h"

namespace bp::queue {

inline constexpr std::string_view kQueueMetaPrefix = "queue/";
inline constexpr std::string_view kNextQueueIdKey = "queue-next-id";

struct QueueDefinition {
  std::string name;
  uint64_t id = 0;
  int64_t created_seconds = 0;
  int64_t modified_seconds = 0;
  QueueAttributes attributes;               // settable attributes that were set, normalised
  std::map<std::string, std::string> tags;  // TagQueue / CreateQueue tags
};

struct MessageContent {
  std::string message_id;
  std::string body;
  int64_t sent_micros = 0;
  std::vector<MessageAttribute> attributes;
  std::string dead_letter_source_arn;  // set once the message was moved to a DLQ
};

struct MessageState {
  int64_t visible_at_micros = 0;
  uint32_t receive_count = 0;
  int64_t first_receive_micros = 0;
};

std::string EncodeQueueDefinition(const QueueDefinition& def);
std::optional<QueueDefinition> DecodeQueueDefinition(std::string_view data);

std::string EncodeContent(const MessageContent& content);
std::optional<MessageContent> DecodeContent(std::string_view data);
std::string EncodeState(const MessageState& state);
std::optional<MessageState> DecodeState(std::string_view data);

std::string QueuePrefix(uint64_t queue_id);
std::string MessageKey(uint64_t queue_id, uint64_t seq, char kind);  // kind 'm' or 's'

// Receipt handles name (queue id, seq, receive count): a handle stops working once the message is
// deleted or received again, because the receive count moves on.
struct Receipt {
  uint64_t queue_id = 0;
  uint64_t seq = 0;
  uint32_t receive_count = 0;
};
std::string EncodeReceipt(const Receipt& r);
std::optional<Receipt> DecodeReceipt(std::string_view handle);

}  // namespace bp::queue
