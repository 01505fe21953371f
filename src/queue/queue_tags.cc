// Queue tags (TagQueue, UntagQueue, ListQueueTags, CreateQueue's tags) and the checked paging
// tokens of ListQueues / ListDeadLetterSourceQueues. Tags live in the queue definition record,
// so they are written, persisted and deleted with the queue.
#include <cstdio>

#include "queue/queue_impl.h"

namespace bp::queue {

namespace {

constexpr size_t kMaxTags = 50;

Status NoQueue() {
  return QueueError(ErrorKind::kQueueDoesNotExist, "The specified queue does not exist.");
}

uint32_t Fnv1a(std::string_view s) {
  uint32_t h = 2166136261u;
  for (unsigned char c : s) {
    h ^= c;
    h *= 16777619u;
  }
  return h;
}

}  // namespace

Status ValidateQueueTags(const QueueTags& tags) {
  if (tags.size() > kMaxTags) {
    return QueueError(ErrorKind::kInvalidParameterValue,
                      "Too many tags added for queue. The maximum number of tags is 50.");
  }
  for (const auto& [k, v] : tags) {
    if (k.empty() || k.size() > 128) {
      return QueueError(ErrorKind::kInvalidParameterValue,
                        "Tag keys must be between 1 and 128 characters in length.");
    }
    if (v.size() > 256) {
      return QueueError(ErrorKind::kInvalidParameterValue,
                        "Tag values may only be up to 256 characters in length.");
    }
    if (k.rfind("aws:", 0) == 0) {
      return QueueError(ErrorKind::kInvalidParameterValue,
                        "Tag keys must not start with the reserved prefix aws:.");
    }
  }
  return Status::Ok();
}

Status QueueService::TagQueue(std::string_view queue, const QueueTags& tags) {
  if (tags.empty()) {
    return QueueError(ErrorKind::kMissingParameter, "The request must contain the parameter Tags.");
  }
  BP_RETURN_IF_ERROR(ValidateQueueTags(tags));
  std::unique_lock<std::mutex> lock(impl_->mu_);
  Queue* q = impl_->FindLocked(queue);
  if (!q) return NoQueue();
  QueueTags merged = q->def.tags;
  for (const auto& [k, v] : tags) merged[k] = v;
  BP_RETURN_IF_ERROR(ValidateQueueTags(merged));
  q->def.tags = std::move(merged);
  store::WriteBatch batch;
  batch.Put(store::Family::kMeta, std::string(kQueueMetaPrefix) + q->def.name,
            EncodeQueueDefinition(q->def));
  return impl_->CommitAndWait(lock, std::move(batch));
}

Status QueueService::UntagQueue(std::string_view queue, const std::vector<std::string>& keys) {
  if (keys.empty()) {
    return QueueError(ErrorKind::kMissingParameter,
                      "The request must contain the parameter TagKeys.");
  }
  std::unique_lock<std::mutex> lock(impl_->mu_);
  Queue* q = impl_->FindLocked(queue);
  if (!q) return NoQueue();
  for (const auto& k : keys) q->def.tags.erase(k);
  store::WriteBatch batch;
  batch.Put(store::Family::kMeta, std::string(kQueueMetaPrefix) + q->def.name,
            EncodeQueueDefinition(q->def));
  return impl_->CommitAndWait(lock, std::move(batch));
}

StatusOr<QueueTags> QueueService::ListQueueTags(std::string_view queue) {
  std::lock_guard<std::mutex> lock(impl_->mu_);
  Queue* q = impl_->FindLocked(queue);
  if (!q) return NoQueue();
  return q->def.tags;
}

// A token is the hex of the last name returned and a checksum over it, so a made-up or
// truncated token is refused instead of silently restarting somewhere.
std::string EncodePageToken(std::string_view last_name) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : last_name) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  char sum[10];
  std::snprintf(sum, sizeof(sum), ".%08x", Fnv1a(last_name));
  return out + sum;
}

std::optional<std::string> DecodePageToken(std::string_view token) {
  size_t dot = token.rfind('.');
  if (dot == std::string_view::npos || dot % 2 != 0 || token.size() - dot != 9) {
    return std::nullopt;
  }
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  std::string name;
  for (size_t i = 0; i < dot; i += 2) {
    int hi = nibble(token[i]), lo = nibble(token[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    name.push_back(static_cast<char>(hi * 16 + lo));
  }
  char sum[10];
  std::snprintf(sum, sizeof(sum), ".%08x", Fnv1a(name));
  if (token.substr(dot) != sum) return std::nullopt;
  return name;
}

Status InvalidNextToken() {
  return QueueError(ErrorKind::kInvalidParameterValue, "Invalid or expired next token.");
}

StatusOr<ListQueuesResult> QueueService::ListDeadLetterSourceQueues(std::string_view queue,
                                                                    std::optional<int> max_results,
                                                                    std::string_view next_token,
                                                                    std::string_view base_url) {
  if (max_results && (*max_results < 1 || *max_results > 1000)) {
    return QueueError(ErrorKind::kInvalidParameterValue,
                      "Value " + std::to_string(*max_results) +
                          " for parameter MaxResults is invalid. Reason: MaxResults must be an "
                          "integer between 1 and 1000.");
  }
  std::optional<std::string> after;
  if (!next_token.empty()) {
    after = DecodePageToken(next_token);
    if (!after) return InvalidNextToken();
  }
  BP_ASSIGN_OR_RETURN(std::vector<std::string> names, ListDeadLetterSourceQueues(queue));
  ListQueuesResult result;
  size_t limit = max_results.value_or(1000);
  for (size_t i = 0; i < names.size(); ++i) {  // names are sorted (the queue map's order)
    if (after && names[i] <= *after) continue;
    if (result.queue_urls.size() == limit) {
      if (max_results) result.next_token = EncodePageToken(names[i - 1]);
      break;
    }
    std::lock_guard<std::mutex> lock(impl_->mu_);
    result.queue_urls.push_back(impl_->UrlFor(base_url, names[i]));
  }
  return result;
}

}  // namespace bp::queue
