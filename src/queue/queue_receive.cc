// QueueService: receives (with long polling and redrive), deletes, visibility changes, retention.
#include <algorithm>
#include <chrono>

#include "common/log.h"
#include "queue/queue_impl.h"

namespace bp::queue {
namespace {

constexpr int64_t kMicros = 1'000'000;
constexpr int kMaxVisibilityTimeout = 43200;

Status NoSuchQueue() {
  return QueueError(ErrorKind::kQueueDoesNotExist, "The specified queue does not exist.");
}

bool Wants(const std::vector<std::string>& names, std::string_view name) {
  for (const auto& n : names) {
    if (n == "All" || n == name) return true;
  }
  return false;
}

// "All" and ".*" select every attribute, "p.*" those starting with "p.", others match exactly.
bool WantsMessageAttribute(const std::vector<std::string>& patterns, std::string_view name) {
  for (const auto& p : patterns) {
    if (p == "All" || p == ".*" || p == name) return true;
    if (p.size() > 2 && p.ends_with(".*") && name.starts_with(p.substr(0, p.size() - 1))) {
      return true;
    }
  }
  return false;
}

Status ValidateVisibility(int v) {
  if (v < 0 || v > kMaxVisibilityTimeout) {
    return QueueError(ErrorKind::kInvalidParameterValue,
                      "Value " + std::to_string(v) +
                          " for parameter VisibilityTimeout is invalid. Reason: Must be between 0 "
                          "and 43200, if provided.");
  }
  return Status::Ok();
}

Status ValidateReceive(const ReceiveRequest& r) {
  if (r.max_messages < 1 || r.max_messages > 10) {
    return QueueError(ErrorKind::kInvalidParameterValue,
                      "Value " + std::to_string(r.max_messages) +
                          " for parameter MaxNumberOfMessages is invalid. Reason: Must be between "
                          "1 and 10, if provided.");
  }
  if (r.visibility_timeout) BP_RETURN_IF_ERROR(ValidateVisibility(*r.visibility_timeout));
  if (r.wait_seconds && (*r.wait_seconds < 0 || *r.wait_seconds > 20)) {
    return QueueError(ErrorKind::kInvalidParameterValue,
                      "Value " + std::to_string(*r.wait_seconds) +
                          " for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and "
                          "<= 20, if provided.");
  }
  return Status::Ok();
}

}  // namespace

std::vector<ReceivedMessage> QueueService::Impl::ReceiveLocked(Queue& q,
                                                               const ReceiveRequest& request,
                                                               store::WriteBatch& batch) {
  const int64_t now = clock_.NowMicros();
  const QueueSettings& s = q.settings;
  const int64_t retention = int64_t{s.message_retention_period} * kMicros;
  Queue* dlq = nullptr;
  if (s.redrive) {
    dlq = FindLocked(s.redrive->dead_letter_target_arn);
    if (dlq == &q) dlq = nullptr;
  }
  std::vector<uint64_t> expired, redriven, received;
  for (auto it = q.by_visible.begin(); it != q.by_visible.end() && it->first <= now; ++it) {
    const StoredMessage& m = q.messages.at(it->second);
    if (m.content.sent_micros + retention <= now) {
      expired.push_back(it->second);
    } else if (dlq &&
               m.state.receive_count >= static_cast<uint32_t>(s.redrive->max_receive_count)) {
      redriven.push_back(it->second);
    } else {
      received.push_back(it->second);
      if (received.size() == static_cast<size_t>(request.max_messages)) break;
    }
  }
  for (uint64_t seq : expired) EraseLocked(q, seq, batch);
  for (uint64_t seq : redriven) {
    StoredMessage moved = q.messages.at(seq);
    EraseLocked(q, seq, batch);
    moved.content.dead_letter_source_arn = ArnFor(q.def.name);
    moved.state = MessageState{now, 0, 0};
    uint64_t new_seq = next_seq_++;
    batch.Put(store::Family::kQueues, MessageKey(dlq->def.id, new_seq, 'm'),
              EncodeContent(moved.content));
    batch.Put(store::Family::kQueues, MessageKey(dlq->def.id, new_seq, 's'),
              EncodeState(moved.state));
    InsertLocked(*dlq, new_seq, std::move(moved));
  }
  if (!redriven.empty() && !long_polls_.empty()) KickLocked();

  const int64_t visibility = int64_t{request.visibility_timeout.value_or(s.visibility_timeout)};
  std::vector<ReceivedMessage> out;
  for (uint64_t seq : received) {
    StoredMessage& m = q.messages.at(seq);
    q.by_visible.erase({m.state.visible_at_micros, seq});
    m.state.receive_count++;
    if (m.state.first_receive_micros == 0) m.state.first_receive_micros = now;
    m.state.visible_at_micros = now + visibility * kMicros;
    q.by_visible.emplace(m.state.visible_at_micros, seq);
    batch.Put(store::Family::kQueues, MessageKey(q.def.id, seq, 's'), EncodeState(m.state));

    ReceivedMessage r;
    r.message_id = m.content.message_id;
    r.receipt_handle = EncodeReceipt({q.def.id, seq, m.state.receive_count});
    r.md5_of_body = m.md5_of_body;
    r.body = m.content.body;
    const auto& names = request.attribute_names;
    if (Wants(names, "SenderId")) r.attributes["SenderId"] = options_.account;
    if (Wants(names, "SentTimestamp")) {
      r.attributes["SentTimestamp"] = std::to_string(m.content.sent_micros / 1000);
    }
    if (Wants(names, "ApproximateReceiveCount")) {
      r.attributes["ApproximateReceiveCount"] = std::to_string(m.state.receive_count);
    }
    if (Wants(names, "ApproximateFirstReceiveTimestamp")) {
      r.attributes["ApproximateFirstReceiveTimestamp"] =
          std::to_string(m.state.first_receive_micros / 1000);
    }
    if (!m.content.dead_letter_source_arn.empty() && Wants(names, "DeadLetterQueueSourceArn")) {
      r.attributes["DeadLetterQueueSourceArn"] = m.content.dead_letter_source_arn;
    }
    for (const auto& a : m.content.attributes) {
      if (WantsMessageAttribute(request.message_attribute_names, a.name)) {
        r.message_attributes.push_back(a);
      }
    }
    r.md5_of_message_attributes = Md5OfMessageAttributes(r.message_attributes);
    out.push_back(std::move(r));
  }
  return out;
}

void QueueService::Impl::FinishReceive(std::unique_lock<std::mutex>& lock, store::WriteBatch batch,
                                       std::vector<ReceivedMessage> messages,
                                       ReceiveCallback done) {
  if (batch.empty()) {
    lock.unlock();
    done(std::move(messages));
    return;
  }
  store_.WriteAsync(std::move(batch),
                    [messages = std::move(messages), done = std::move(done)](Status s) mutable {
                      if (!s.ok()) {
                        done(std::move(s));
                      } else {
                        done(std::move(messages));
                      }
                    });
  lock.unlock();
}

void QueueService::Impl::ExpireLocked(Queue& q, int64_t now, store::WriteBatch& batch) {
  const int64_t retention = int64_t{q.settings.message_retention_period} * kMicros;
  while (!q.by_sent.empty() && q.by_sent.begin()->first + retention <= now) {
    EraseLocked(q, q.by_sent.begin()->second, batch);
  }
}

StatusOr<std::pair<Queue*, StoredMessage*>> QueueService::Impl::ResolveReceiptLocked(
    std::string_view queue, std::string_view handle) {
  Queue* q = FindLocked(queue);
  if (!q) return NoSuchQueue();
  auto r = DecodeReceipt(handle);
  if (!r || r->queue_id != q->def.id) {
    return QueueError(
        ErrorKind::kReceiptHandleIsInvalid,
        "The input receipt handle \"" + std::string(handle) + "\" is not a valid receipt handle.");
  }
  auto it = q->messages.find(r->seq);
  if (it == q->messages.end() || it->second.state.receive_count != r->receive_count) {
    return QueueError(ErrorKind::kReceiptHandleIsInvalid,
                      "The receipt handle has expired: the message was deleted or received "
                      "again.");
  }
  return std::make_pair(q, &it->second);
}

void QueueService::ReceiveMessage(ReceiveRequest request, ReceiveCallback done) {
  if (Status s = ValidateReceive(request); !s.ok()) {
    done(std::move(s));
    return;
  }
  std::unique_lock<std::mutex> lock(impl_->mu_);
  Queue* q = impl_->FindLocked(request.queue);
  if (!q) {
    lock.unlock();
    done(NoSuchQueue());
    return;
  }
  store::WriteBatch batch;
  auto messages = impl_->ReceiveLocked(*q, request, batch);
  int wait = request.wait_seconds.value_or(q->settings.receive_message_wait_time_seconds);
  if (!messages.empty() || wait == 0 || impl_->stopping_) {
    impl_->FinishReceive(lock, std::move(batch), std::move(messages), std::move(done));
    return;
  }
  if (!batch.empty()) {
    // Expiry and redrive changes found on the way; nobody waits for them.
    impl_->store_.WriteAsync(std::move(batch), [](Status s) {
      if (!s.ok()) log::Error("queue", "store write failed", {{"error", s.ToString()}});
    });
  }
  int64_t deadline = impl_->clock_.MonotonicMicros() + int64_t{wait} * kMicros;
  impl_->long_polls_.push_back({std::move(request), std::move(done), deadline});
  impl_->KickLocked();
}

Status QueueService::DeleteMessage(std::string_view queue, std::string_view receipt_handle) {
  std::unique_lock<std::mutex> lock(impl_->mu_);
  BP_ASSIGN_OR_RETURN(auto found, impl_->ResolveReceiptLocked(queue, receipt_handle));
  store::WriteBatch batch;
  impl_->EraseLocked(*found.first, DecodeReceipt(receipt_handle)->seq, batch);
  return impl_->CommitAndWait(lock, std::move(batch));
}

StatusOr<BatchResult> QueueService::DeleteMessageBatch(std::string_view queue,
                                                       std::vector<ReceiptEntry> entries) {
  std::vector<std::string> ids;
  for (const auto& e : entries) ids.push_back(e.id);
  BP_RETURN_IF_ERROR(ValidateBatchIds(ids, "DeleteMessageBatchRequestEntry"));
  std::unique_lock<std::mutex> lock(impl_->mu_);
  if (!impl_->FindLocked(queue)) return NoSuchQueue();
  BatchResult result;
  store::WriteBatch batch;
  for (const auto& e : entries) {
    auto found = impl_->ResolveReceiptLocked(queue, e.receipt_handle);
    if (!found.ok()) {
      result.failed.push_back(
          {e.id, ErrorKindOf(found.status()), found.status().message(), true});
      continue;
    }
    impl_->EraseLocked(*found->first, DecodeReceipt(e.receipt_handle)->seq, batch);
    result.successful.push_back(e.id);
  }
  if (batch.empty()) return result;
  BP_RETURN_IF_ERROR(impl_->CommitAndWait(lock, std::move(batch)));
  return result;
}

Status QueueService::ChangeMessageVisibility(std::string_view queue,
                                             std::string_view receipt_handle,
                                             int visibility_timeout) {
  BP_ASSIGN_OR_RETURN(
      auto result,
      ChangeMessageVisibilityBatch(
          queue, {ReceiptEntry{"single", std::string(receipt_handle), visibility_timeout}}));
  if (!result.failed.empty()) {
    return QueueError(result.failed[0].kind, result.failed[0].message);
  }
  return Status::Ok();
}

StatusOr<BatchResult> QueueService::ChangeMessageVisibilityBatch(
    std::string_view queue, std::vector<ReceiptEntry> entries) {
  std::vector<std::string> ids;
  for (const auto& e : entries) ids.push_back(e.id);
  BP_RETURN_IF_ERROR(ValidateBatchIds(ids, "ChangeMessageVisibilityBatchRequestEntry"));
  std::unique_lock<std::mutex> lock(impl_->mu_);
  if (!impl_->FindLocked(queue)) return NoSuchQueue();
  const int64_t now = impl_->clock_.NowMicros();
  BatchResult result;
  store::WriteBatch batch;
  for (const auto& e : entries) {
    Status valid = ValidateVisibility(e.visibility_timeout);
    auto found = valid.ok() ? impl_->ResolveReceiptLocked(queue, e.receipt_handle)
                            : StatusOr<std::pair<Queue*, StoredMessage*>>(valid);
    if (found.ok() && found->second->state.visible_at_micros <= now) {
      found = QueueError(ErrorKind::kMessageNotInflight,
                         "Message does not exist or is not available for visibility timeout "
                         "change.");
    }
    if (!found.ok()) {
      result.failed.push_back(
          {e.id, ErrorKindOf(found.status()), found.status().message(), true});
      continue;
    }
    auto [q, m] = *found;
    uint64_t seq = DecodeReceipt(e.receipt_handle)->seq;
    q->by_visible.erase({m->state.visible_at_micros, seq});
    m->state.visible_at_micros = now + int64_t{e.visibility_timeout} * kMicros;
    q->by_visible.emplace(m->state.visible_at_micros, seq);
    batch.Put(store::Family::kQueues, MessageKey(q->def.id, seq, 's'), EncodeState(m->state));
    result.successful.push_back(e.id);
  }
  if (batch.empty()) return result;
  if (!impl_->long_polls_.empty()) impl_->KickLocked();
  BP_RETURN_IF_ERROR(impl_->CommitAndWait(lock, std::move(batch)));
  return result;
}

void QueueService::Impl::RunPendingWork() {
  using Completion = std::pair<ReceiveCallback, StatusOr<std::vector<ReceivedMessage>>>;
  std::vector<Completion> now_done;  // run outside the lock
  std::vector<std::pair<ReceiveCallback, std::vector<ReceivedMessage>>> after_write;
  store::WriteBatch batch;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const int64_t now = clock_.NowMicros();
    const int64_t mono = clock_.MonotonicMicros();
    if (now - last_sweep_micros_ >= options_.sweep_interval_micros) {
      last_sweep_micros_ = now;
      for (auto& [name, q] : queues_) ExpireLocked(*q, now, batch);
    }
    for (auto it = long_polls_.begin(); it != long_polls_.end();) {
      Queue* q = FindLocked(it->request.queue);
      if (!q) {
        now_done.emplace_back(std::move(it->done), NoSuchQueue());
      } else if (auto messages = ReceiveLocked(*q, it->request, batch); !messages.empty()) {
        after_write.emplace_back(std::move(it->done), std::move(messages));
      } else if (mono >= it->deadline_micros || stopping_) {
        now_done.emplace_back(std::move(it->done), std::vector<ReceivedMessage>{});
      } else {
        ++it;
        continue;
      }
      it = long_polls_.erase(it);
    }
    RunMoveTasksLocked(now, mono, batch);
    if (!batch.empty()) {
      store_.WriteAsync(std::move(batch), [after_write = std::move(after_write)](Status s) mutable {
        if (!s.ok()) log::Error("queue", "store write failed", {{"error", s.ToString()}});
        for (auto& [done, messages] : after_write) {
          if (s.ok()) {
            done(std::move(messages));
          } else {
            done(s);
          }
        }
      });
    }
  }
  // Received messages always come with state writes, so `after_write` went to the callback above.
  for (auto& [done, result] : now_done) done(std::move(result));
}

void QueueService::RunPendingWork() { impl_->RunPendingWork(); }

size_t QueueService::PendingLongPolls() {
  std::lock_guard<std::mutex> lock(impl_->mu_);
  return impl_->long_polls_.size();
}

void QueueService::Impl::StartThread() {
  if (options_.background_thread) thread_ = std::thread([this] { ThreadLoop(); });
}

void QueueService::Impl::StopThread() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    KickLocked();
  }
  if (thread_.joinable()) thread_.join();
  // Complete what is left (ReceiveMessage refuses new long polls once stopping_ is set).
  std::list<LongPoll> left;
  {
    std::lock_guard<std::mutex> lock(mu_);
    left.swap(long_polls_);
  }
  for (auto& p : left) p.done(std::vector<ReceivedMessage>{});
}

void QueueService::Impl::ThreadLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    // Sleep until the next long-poll deadline, the next message becoming visible in a polled
    // queue, or the next retention sweep, whichever is first; a kick ends the sleep early.
    int64_t wait = options_.sweep_interval_micros;
    const int64_t now = clock_.NowMicros();
    const int64_t mono = clock_.MonotonicMicros();
    for (const auto& p : long_polls_) {
      wait = std::min(wait, p.deadline_micros - mono);
      if (Queue* q = FindLocked(p.request.queue); q && !q->by_visible.empty()) {
        wait = std::min(wait, q->by_visible.begin()->first - now);
      }
    }
    wait = std::min(wait, MoveTaskWaitLocked(now, mono));
    wait = std::max<int64_t>(wait, 1000);
    if (!kicked_) {
      cv_.wait_for(lock, std::chrono::microseconds(wait), [this] { return kicked_ || stopping_; });
    }
    kicked_ = false;
    if (stopping_) break;
    lock.unlock();
    RunPendingWork();
    lock.lock();
  }
}

}  // namespace bp::queue
