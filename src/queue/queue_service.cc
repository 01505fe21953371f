// QueueService: queue lifecycle, attributes, sends and the delivery-engine entry points.
#include "queue/queue_service.h"

#include <charconv>
#include <future>
#include <set>

#include "common/ids.h"
#include "common/log.h"
#include "queue/queue_impl.h"

namespace bp::queue {
namespace {

constexpr int64_t kMicros = 1'000'000;
constexpr int64_t kPurgeIntervalMicros = 60 * kMicros;

// The value an attribute has now, set or defaulted ("" when unset and without a default).
std::string EffectiveAttribute(const Queue& q, const std::string& name) {
  if (auto it = q.def.attributes.find(name); it != q.def.attributes.end()) return it->second;
  const QueueSettings& s = q.settings;
  if (name == "DelaySeconds") return std::to_string(s.delay_seconds);
  if (name == "MaximumMessageSize") return std::to_string(s.maximum_message_size);
  if (name == "MessageRetentionPeriod") return std::to_string(s.message_retention_period);
  if (name == "ReceiveMessageWaitTimeSeconds") {
    return std::to_string(s.receive_message_wait_time_seconds);
  }
  if (name == "VisibilityTimeout") return std::to_string(s.visibility_timeout);
  return "";
}

Status NoSuchQueue() {
  return QueueError(ErrorKind::kQueueDoesNotExist, "The specified queue does not exist.");
}

bool IsValidBatchId(std::string_view id) {
  if (id.empty() || id.size() > 80) return false;
  for (char c : id) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') return false;
  }
  return true;
}

}  // namespace

Status ValidateBatchIds(const std::vector<std::string>& ids, std::string_view entry_name) {
  if (ids.empty()) {
    return QueueError(
        ErrorKind::kEmptyBatchRequest,
        "There should be at least one " + std::string(entry_name) + " in the request.");
  }
  if (ids.size() > 10) {
    return QueueError(ErrorKind::kTooManyEntriesInBatchRequest,
                      "Maximum number of entries per request are 10. You have sent " +
                          std::to_string(ids.size()) + ".");
  }
  std::set<std::string_view> seen;
  for (const auto& id : ids) {
    if (!IsValidBatchId(id)) {
      return QueueError(ErrorKind::kInvalidBatchEntryId,
                        "A batch entry id can only contain alphanumeric characters, hyphens and "
                        "underscores. It can be at most 80 letters long.");
    }
    if (!seen.insert(id).second) {
      return QueueError(ErrorKind::kBatchEntryIdsNotDistinct, "Id " + id + " repeated.");
    }
  }
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------------
// Impl helpers

Status QueueService::Impl::Load() {
  std::lock_guard<std::mutex> lock(mu_);
  BP_RETURN_IF_ERROR(
      store_.Scan(store::Family::kMeta, kQueueMetaPrefix, store::PrefixEnd(kQueueMetaPrefix),
                  [&](std::string_view key, std::string_view value) {
                    auto def = DecodeQueueDefinition(value);
                    if (!def) {
                      log::Error("queue", "undecodable queue definition", {{"key", key}});
                      return true;
                    }
                    auto q = std::make_unique<Queue>();
                    q->settings = QueueSettings::From(def->attributes);
                    q->def = std::move(*def);
                    next_queue_id_ = std::max(next_queue_id_, q->def.id + 1);
                    queues_[q->def.name] = std::move(q);
                    return true;
                  }));
  BP_ASSIGN_OR_RETURN(auto next_id, store_.Get(store::Family::kMeta, kNextQueueIdKey));
  uint64_t stored_next = 0;
  if (next_id) std::from_chars(next_id->data(), next_id->data() + next_id->size(), stored_next);
  next_queue_id_ = std::max(next_queue_id_, stored_next);
  BP_RETURN_IF_ERROR(LoadMoveTasksLocked());

  std::unordered_map<uint64_t, Queue*> by_id;
  for (auto& [name, q] : queues_) by_id[q->def.id] = q.get();
  store::WriteBatch cleanup;  // orphans: messages of deleted queues, half-written messages
  std::optional<MessageContent> pending;  // content whose state key comes next
  uint64_t pending_seq = 0, pending_queue = 0;
  BP_RETURN_IF_ERROR(store_.Scan(
      store::Family::kQueues, "", "", [&](std::string_view key, std::string_view value) {
        if (key.size() != 17) return true;
        uint64_t qid = store::ReadBigEndian64(key);
        uint64_t seq = store::ReadBigEndian64(key.substr(8));
        next_seq_ = std::max(next_seq_, seq + 1);
        auto it = by_id.find(qid);
        if (key[16] == 'm') {
          if (pending)
            cleanup.Delete(store::Family::kQueues, MessageKey(pending_queue, pending_seq, 'm'));
          pending = DecodeContent(value);
          pending_seq = seq;
          pending_queue = qid;
          if (!pending || it == by_id.end()) {
            cleanup.Delete(store::Family::kQueues, std::string(key));
            pending.reset();
          }
          return true;
        }
        auto state = DecodeState(value);
        if (!pending || pending_seq != seq || pending_queue != qid || !state || it == by_id.end()) {
          cleanup.Delete(store::Family::kQueues, std::string(key));
          return true;
        }
        StoredMessage m;
        m.md5_of_body = Md5Hex(pending->body);
        m.content = std::move(*pending);
        m.state = *state;
        pending.reset();
        InsertLocked(*it->second, seq, std::move(m));
        return true;
      }));
  if (pending) cleanup.Delete(store::Family::kQueues, MessageKey(pending_queue, pending_seq, 'm'));
  if (!cleanup.empty()) {
    log::Warn("queue", "removing orphaned queue records", {{"count", uint64_t{cleanup.size()}}});
    BP_RETURN_IF_ERROR(store_.Write(std::move(cleanup)));
  }
  return Status::Ok();
}

Queue* QueueService::Impl::FindLocked(std::string_view ref) {
  auto it = queues_.find(std::string(QueueNameFromRef(ref)));
  return it == queues_.end() ? nullptr : it->second.get();
}

std::string QueueService::Impl::UrlFor(std::string_view base_url, std::string_view name) const {
  std::string url(base_url);
  while (url.ends_with('/')) url.pop_back();
  return url + "/" + options_.account + "/" + std::string(name);
}

std::string QueueService::Impl::ArnFor(std::string_view name) const {
  return "arn:aws:sqs:" + options_.region + ":" + options_.account + ":" + std::string(name);
}

void QueueService::Impl::InsertLocked(Queue& q, uint64_t seq, StoredMessage m) {
  q.by_visible.emplace(m.state.visible_at_micros, seq);
  q.by_sent.emplace(m.content.sent_micros, seq);
  q.messages.emplace(seq, std::move(m));
}

void QueueService::Impl::EraseLocked(Queue& q, uint64_t seq, store::WriteBatch& batch) {
  auto it = q.messages.find(seq);
  if (it == q.messages.end()) return;
  q.by_visible.erase({it->second.state.visible_at_micros, seq});
  q.by_sent.erase({it->second.content.sent_micros, seq});
  q.messages.erase(it);
  batch.Delete(store::Family::kQueues, MessageKey(q.def.id, seq, 'm'));
  batch.Delete(store::Family::kQueues, MessageKey(q.def.id, seq, 's'));
}

Status QueueService::Impl::CommitAndWait(std::unique_lock<std::mutex>& lock,
                                         store::WriteBatch batch) {
  std::promise<Status> done;
  auto future = done.get_future();
  store_.WriteAsync(std::move(batch), [&done](Status s) { done.set_value(std::move(s)); });
  lock.unlock();
  return future.get();
}

StatusOr<PreparedMessage> QueueService::Impl::PrepareLocked(Queue& q, SendRequest request,
                                                            int64_t now) {
  if (request.body.empty()) {
    return QueueError(ErrorKind::kMissingParameter,
                      "The request must contain the parameter MessageBody.");
  }
  if (!IsValidMessageText(request.body)) {
    return QueueError(ErrorKind::kInvalidMessageContents,
                      "Invalid binary character was found in the message body, the set of "
                      "allowed characters is #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD "
                      "| #x10000 to #x10FFFF");
  }
  BP_RETURN_IF_ERROR(ValidateMessageAttributes(request.attributes));
  size_t size = MessageSize(request.body, request.attributes);
  if (size > static_cast<size_t>(q.settings.maximum_message_size)) {
    return QueueError(ErrorKind::kInvalidParameterValue,
                      "One or more parameters are invalid. Reason: Message must be shorter than " +
                          std::to_string(q.settings.maximum_message_size) + " bytes.");
  }
  int delay = request.delay_seconds.value_or(q.settings.delay_seconds);
  if (delay < 0 || delay > 900) {
    return QueueError(ErrorKind::kInvalidParameterValue,
                      "Value " + std::to_string(delay) +
                          " for parameter DelaySeconds is invalid. Reason: DelaySeconds must be "
                          ">= 0 and <= 900.");
  }
  PreparedMessage p;
  p.queue_name = q.def.name;
  p.queue_id = q.def.id;
  p.seq = next_seq_++;
  MessageContent content;
  content.message_id = NewUuid();
  p.message_id = content.message_id;
  content.body = std::move(request.body);
  content.sent_micros = now;
  content.attributes = std::move(request.attributes);
  MessageState state;
  state.visible_at_micros = now + int64_t{delay} * kMicros;
  p.content_key = MessageKey(q.def.id, p.seq, 'm');
  p.content_value = EncodeContent(content);
  p.state_key = MessageKey(q.def.id, p.seq, 's');
  p.state_value = EncodeState(state);
  return p;
}

// ---------------------------------------------------------------------------------------------
// QueueService

QueueService::QueueService(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

QueueService::~QueueService() { impl_->StopThread(); }

StatusOr<std::unique_ptr<QueueService>> QueueService::Open(store::Store& store, Clock& clock,
                                                           QueueServiceOptions options) {
  auto impl = std::make_unique<Impl>(store, clock, std::move(options));
  BP_RETURN_IF_ERROR(impl->Load());
  impl->StartThread();
  return std::unique_ptr<QueueService>(new QueueService(std::move(impl)));
}

StatusOr<std::string> QueueService::CreateQueue(std::string_view name,
                                                const QueueAttributes& attributes,
                                                std::string_view base_url, const QueueTags& tags) {
  BP_RETURN_IF_ERROR(ValidateQueueTags(tags));
  if (name.ends_with(".fifo")) {
    return QueueError(ErrorKind::kUnsupportedOperation, "FIFO queues are not supported.");
  }
  if (!IsValidQueueName(name)) {
    return QueueError(ErrorKind::kInvalidParameterValue,
                      "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 "
                      "in length");
  }
  std::unique_lock<std::mutex> lock(impl_->mu_);
  BP_ASSIGN_OR_RETURN(QueueAttributes normalized,
                      NormalizeQueueAttributes(attributes, [&](std::string_view n) {
                        return impl_->queues_.count(std::string(n)) > 0;
                      }));
  if (Queue* existing = impl_->FindLocked(name)) {
    for (const auto& [k, v] : normalized) {
      if (EffectiveAttribute(*existing, k) == v) continue;
      return QueueError(ErrorKind::kQueueNameExists,
                        "A queue already exists with the same name and a different value for "
                        "attribute " +
                            k);
    }
    return impl_->UrlFor(base_url, existing->def.name);
  }
  auto q = std::make_unique<Queue>();
  int64_t now_s = impl_->clock_.NowSeconds();
  q->def.name = std::string(name);
  q->def.id = impl_->next_queue_id_++;
  q->def.created_seconds = now_s;
  q->def.modified_seconds = now_s;
  for (auto& [k, v] : normalized) {
    if (!v.empty()) q->def.attributes[k] = v;
  }
  q->settings = QueueSettings::From(q->def.attributes);
  q->def.tags = tags;
  store::WriteBatch batch;
  batch.Put(store::Family::kMeta, std::string(kQueueMetaPrefix) + q->def.name,
            EncodeQueueDefinition(q->def));
  batch.Put(store::Family::kMeta, std::string(kNextQueueIdKey),
            std::to_string(impl_->next_queue_id_));
  std::string url = impl_->UrlFor(base_url, name);
  impl_->queues_[q->def.name] = std::move(q);
  BP_RETURN_IF_ERROR(impl_->CommitAndWait(lock, std::move(batch)));
  log::Info("queue", "queue created", {{"queue", name}});
  return url;
}

StatusOr<std::string> QueueService::GetQueueUrl(std::string_view name, std::string_view base_url) {
  std::lock_guard<std::mutex> lock(impl_->mu_);
  Queue* q = impl_->FindLocked(name);
  if (!q || q->def.name != name) return NoSuchQueue();
  return impl_->UrlFor(base_url, name);
}

StatusOr<ListQueuesResult> QueueService::ListQueues(std::string_view prefix,
                                                    std::optional<int> max_results,
                                                    std::string_view next_token,
                                                    std::string_view base_url) {
  if (max_results && (*max_results < 1 || *max_results > 1000)) {
    return QueueError(ErrorKind::kInvalidParameterValue,
                      "Value " + std::to_string(*max_results) +
                          " for parameter MaxResults is invalid. Reason: MaxResults must be an "
                          "integer between 1 and 1000.");
  }
  std::lock_guard<std::mutex> lock(impl_->mu_);
  ListQueuesResult result;
  size_t limit = max_results.value_or(1000);
  std::optional<std::string> after;
  if (!next_token.empty()) {
    after = DecodePageToken(next_token);
    if (!after) return InvalidNextToken();
  }
  auto it =
      after ? impl_->queues_.upper_bound(*after) : impl_->queues_.lower_bound(std::string(prefix));
  for (; it != impl_->queues_.end() && it->first.starts_with(prefix); ++it) {
    if (result.queue_urls.size() == limit) {
      if (max_results) result.next_token = EncodePageToken(std::prev(it)->first);
      break;
    }
    result.queue_urls.push_back(impl_->UrlFor(base_url, it->first));
  }
  return result;
}

StatusOr<QueueAttributes> QueueService::GetQueueAttributes(std::string_view queue,
                                                           const std::vector<std::string>& names) {
  for (const auto& n : names) {
    if (!IsKnownQueueAttributeName(n)) {
      return QueueError(ErrorKind::kInvalidAttributeName, "Unknown Attribute " + n + ".");
    }
  }
  std::lock_guard<std::mutex> lock(impl_->mu_);
  Queue* q = impl_->FindLocked(queue);
  if (!q) return NoSuchQueue();
  int64_t now = impl_->clock_.NowMicros();
  const QueueSettings& s = q->settings;
  QueueAttributes all = q->def.attributes;
  all["DelaySeconds"] = std::to_string(s.delay_seconds);
  all["MaximumMessageSize"] = std::to_string(s.maximum_message_size);
  all["MessageRetentionPeriod"] = std::to_string(s.message_retention_period);
  all["ReceiveMessageWaitTimeSeconds"] = std::to_string(s.receive_message_wait_time_seconds);
  all["VisibilityTimeout"] = std::to_string(s.visibility_timeout);
  all["QueueArn"] = impl_->ArnFor(q->def.name);
  all["CreatedTimestamp"] = std::to_string(q->def.created_seconds);
  all["LastModifiedTimestamp"] = std::to_string(q->def.modified_seconds);
  uint64_t visible = 0, in_flight = 0, delayed = 0;
  for (const auto& [visible_at, seq] : q->by_visible) {
    if (visible_at <= now) {
      ++visible;
    } else if (q->messages.at(seq).state.receive_count > 0) {
      ++in_flight;
    } else {
      ++delayed;
    }
  }
  all["ApproximateNumberOfMessages"] = std::to_string(visible);
  all["ApproximateNumberOfMessagesNotVisible"] = std::to_string(in_flight);
  all["ApproximateNumberOfMessagesDelayed"] = std::to_string(delayed);
  QueueAttributes out;
  for (const auto& n : names) {
    if (n == "All") return all;
    if (auto it = all.find(n); it != all.end()) out[n] = it->second;
  }
  return out;
}

Status QueueService::SetQueueAttributes(std::string_view queue, const QueueAttributes& attributes) {
  std::unique_lock<std::mutex> lock(impl_->mu_);
  Queue* q = impl_->FindLocked(queue);
  if (!q) return NoSuchQueue();
  BP_ASSIGN_OR_RETURN(QueueAttributes normalized,
                      NormalizeQueueAttributes(attributes, [&](std::string_view n) {
                        return impl_->queues_.count(std::string(n)) > 0;
                      }));
  for (auto& [k, v] : normalized) {
    if (v.empty()) {
      q->def.attributes.erase(k);
    } else {
      q->def.attributes[k] = v;
    }
  }
  q->def.modified_seconds = impl_->clock_.NowSeconds();
  q->settings = QueueSettings::From(q->def.attributes);
  store::WriteBatch batch;
  batch.Put(store::Family::kMeta, std::string(kQueueMetaPrefix) + q->def.name,
            EncodeQueueDefinition(q->def));
  impl_->KickLocked();  // a shorter visibility or wait may change long-poll due times
  return impl_->CommitAndWait(lock, std::move(batch));
}

Status QueueService::DeleteQueue(std::string_view queue) {
  std::unique_lock<std::mutex> lock(impl_->mu_);
  Queue* q = impl_->FindLocked(queue);
  if (!q) return NoSuchQueue();
  store::WriteBatch batch;
  batch.Delete(store::Family::kMeta, std::string(kQueueMetaPrefix) + q->def.name);
  batch.DeleteRange(store::Family::kQueues, QueuePrefix(q->def.id), QueuePrefix(q->def.id + 1));
  std::string name = q->def.name;
  impl_->queues_.erase(name);
  impl_->KickLocked();  // long polls on this queue finish
  BP_RETURN_IF_ERROR(impl_->CommitAndWait(lock, std::move(batch)));
  log::Info("queue", "queue deleted", {{"queue", name}});
  return Status::Ok();
}

Status QueueService::PurgeQueue(std::string_view queue) {
  std::unique_lock<std::mutex> lock(impl_->mu_);
  Queue* q = impl_->FindLocked(queue);
  if (!q) return NoSuchQueue();
  int64_t now = impl_->clock_.NowMicros();
  if (q->purged_once && now - q->last_purge_micros < kPurgeIntervalMicros) {
    return QueueError(
        ErrorKind::kPurgeQueueInProgress,
        "Only one PurgeQueue operation on " + q->def.name + " is allowed every 60 seconds.");
  }
  q->purged_once = true;
  q->last_purge_micros = now;
  q->messages.clear();
  q->by_visible.clear();
  q->by_sent.clear();
  store::WriteBatch batch;
  batch.DeleteRange(store::Family::kQueues, QueuePrefix(q->def.id), QueuePrefix(q->def.id + 1));
  return impl_->CommitAndWait(lock, std::move(batch));
}

StatusOr<std::vector<std::string>> QueueService::ListDeadLetterSourceQueues(
    std::string_view queue) {
  std::lock_guard<std::mutex> lock(impl_->mu_);
  Queue* q = impl_->FindLocked(queue);
  if (!q) return NoSuchQueue();
  std::vector<std::string> names;
  for (const auto& [name, source] : impl_->queues_) {
    const auto& r = source->settings.redrive;
    if (r && QueueNameFromRef(r->dead_letter_target_arn) == q->def.name) names.push_back(name);
  }
  return names;
}

StatusOr<SendResult> QueueService::SendMessage(std::string_view queue, SendRequest request) {
  SendResult result;
  PreparedMessage p;
  {
    std::lock_guard<std::mutex> lock(impl_->mu_);
    Queue* q = impl_->FindLocked(queue);
    if (!q) return NoSuchQueue();
    result.md5_of_body = Md5Hex(request.body);
    result.md5_of_attributes = Md5OfMessageAttributes(request.attributes);
    BP_ASSIGN_OR_RETURN(p, impl_->PrepareLocked(*q, std::move(request), impl_->clock_.NowMicros()));
  }
  store::WriteBatch batch;
  AddToBatch(batch, p);
  BP_RETURN_IF_ERROR(impl_->store_.Write(std::move(batch)));
  result.message_id = p.message_id;
  OnCommitted(p);
  return result;
}

StatusOr<SendBatchResult> QueueService::SendMessageBatch(std::string_view queue,
                                                         std::vector<SendBatchEntry> entries) {
  std::vector<std::string> ids;
  size_t total = 0;
  for (const auto& e : entries) {
    ids.push_back(e.id);
    total += MessageSize(e.request.body, e.request.attributes);
  }
  BP_RETURN_IF_ERROR(ValidateBatchIds(ids, "SendMessageBatchRequestEntry"));
  SendBatchResult result;
  std::vector<std::pair<std::string, PreparedMessage>> prepared;
  {
    std::lock_guard<std::mutex> lock(impl_->mu_);
    Queue* q = impl_->FindLocked(queue);
    if (!q) return NoSuchQueue();
    if (total > static_cast<size_t>(q->settings.maximum_message_size)) {
      return QueueError(ErrorKind::kBatchRequestTooLong,
                        "Batch requests cannot be longer than " +
                            std::to_string(q->settings.maximum_message_size) +
                            " bytes. You have "
                            "sent " +
                            std::to_string(total) + " bytes.");
    }
    int64_t now = impl_->clock_.NowMicros();
    for (auto& e : entries) {
      SendResult r;
      r.md5_of_body = Md5Hex(e.request.body);
      r.md5_of_attributes = Md5OfMessageAttributes(e.request.attributes);
      auto p = impl_->PrepareLocked(*q, std::move(e.request), now);
      if (!p.ok()) {
        result.failed.push_back(
            {e.id, ErrorKindOf(p.status()), p.status().message(), true});
        continue;
      }
      r.message_id = p->message_id;
      result.successful.emplace_back(e.id, std::move(r));
      prepared.emplace_back(e.id, std::move(p).value());
    }
  }
  if (prepared.empty()) return result;
  store::WriteBatch batch;
  for (const auto& [id, p] : prepared) AddToBatch(batch, p);
  BP_RETURN_IF_ERROR(impl_->store_.Write(std::move(batch)));
  for (const auto& [id, p] : prepared) OnCommitted(p);
  return result;
}

bool QueueService::QueueExists(std::string_view queue_arn_or_name) {
  std::lock_guard<std::mutex> lock(impl_->mu_);
  return impl_->FindLocked(queue_arn_or_name) != nullptr;
}

StatusOr<PreparedMessage> QueueService::PrepareMessage(std::string_view queue_arn_or_name,
                                                       std::string body,
                                                       std::vector<MessageAttribute> attrs) {
  std::lock_guard<std::mutex> lock(impl_->mu_);
  Queue* q = impl_->FindLocked(queue_arn_or_name);
  if (!q) return Status::NotFound("queue " + std::string(queue_arn_or_name) + " does not exist");
  SendRequest request{std::move(body), std::nullopt, std::move(attrs)};
  return impl_->PrepareLocked(*q, std::move(request), impl_->clock_.NowMicros());
}

void QueueService::AddToBatch(store::WriteBatch& batch, const PreparedMessage& message) {
  batch.Put(store::Family::kQueues, message.content_key, message.content_value);
  batch.Put(store::Family::kQueues, message.state_key, message.state_value);
}

void QueueService::OnCommitted(const PreparedMessage& message) {
  std::unique_lock<std::mutex> lock(impl_->mu_);
  Queue* q = impl_->FindLocked(message.queue_name);
  if (!q || q->def.id != message.queue_id) {
    // The queue was deleted (or purged and recreated) while the caller committed.
    store::WriteBatch cleanup;
    cleanup.Delete(store::Family::kQueues, message.content_key);
    cleanup.Delete(store::Family::kQueues, message.state_key);
    impl_->store_.WriteAsync(std::move(cleanup), [](Status) {});
    return;
  }
  StoredMessage m;
  m.content = *DecodeContent(message.content_value);
  m.state = *DecodeState(message.state_value);
  m.md5_of_body = Md5Hex(m.content.body);
  impl_->InsertLocked(*q, message.seq, std::move(m));
  if (!impl_->long_polls_.empty()) impl_->KickLocked();
}

std::string QueueService::QueueArn(std::string_view name) const { return impl_->ArnFor(name); }

}  // namespace bp::queue
