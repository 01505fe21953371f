// SQS message move tasks: StartMessageMoveTask / ListMessageMoveTasks / CancelMessageMoveTask.
//
// A task snapshots its dead-letter queue when it starts (every message with a sequence number up
// to the newest one then) and moves those messages, as they are visible, to their original source
// queue (the DeadLetterQueueSourceArn recorded when they were dead-lettered) or to the task's
// DestinationArn. The queue service's background thread does the moves under the service mutex;
// each step's moves and the task's progress are one store batch. MaxNumberOfMessagesPerSecond is
// enforced with the exact sliding-window limiter: at most R moves in any one-second window.
#include <boost/json.hpp>
#include <climits>

#include "common/ids.h"
#include "common/log.h"
#include "queue/queue_impl.h"

namespace bp::queue {

namespace {

namespace json = boost::json;

constexpr std::string_view kMoveTaskPrefix = "movetask/";
constexpr size_t kKeptTasksPerSource = 10;   // ListMessageMoveTasks shows at most 10
constexpr int kUnlimitedMovesPerStep = 500;  // without a rate, moves per background step
constexpr int64_t kPollMicros = 100'000;     // re-check in-flight messages this often
constexpr int64_t kResumeDelayMicros = 1'000'000;

std::string TaskKey(std::string_view handle) {
  return std::string(kMoveTaskPrefix) + std::string(handle);
}

std::string EncodeTask(const MoveTask& t) {
  const MoveTaskInfo& i = t.info;
  json::object o{{"handle", i.task_handle},
                 {"status", i.status},
                 {"source", i.source_arn},
                 {"destination", i.destination_arn},
                 {"moved", i.moved},
                 {"to_move", i.to_move},
                 {"failure", i.failure_reason},
                 {"started", i.started_millis},
                 {"source_id", t.source_queue_id},
                 {"last_seq", t.last_seq}};
  if (i.max_messages_per_second) o["rate"] = *i.max_messages_per_second;
  return json::serialize(o);
}

std::optional<MoveTask> DecodeTask(std::string_view data) {
  json::error_code ec;
  json::value v = json::parse(data, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const json::object& o = v.as_object();
  auto str = [&](const char* k) {
    const json::value* x = o.if_contains(k);
    return x && x->is_string() ? std::string(x->as_string()) : std::string();
  };
  auto num = [&](const char* k) -> int64_t {
    const json::value* x = o.if_contains(k);
    return x && x->is_int64() ? x->as_int64() : (x && x->is_uint64() ? int64_t(x->as_uint64()) : 0);
  };
  MoveTask t;
  t.info.task_handle = str("handle");
  t.info.status = str("status");
  t.info.source_arn = str("source");
  t.info.destination_arn = str("destination");
  t.info.moved = num("moved");
  t.info.to_move = num("to_move");
  t.info.failure_reason = str("failure");
  t.info.started_millis = num("started");
  t.source_queue_id = static_cast<uint64_t>(num("source_id"));
  t.last_seq = static_cast<uint64_t>(num("last_seq"));
  if (o.contains("rate")) t.info.max_messages_per_second = static_cast<int>(num("rate"));
  if (t.info.task_handle.empty() || t.info.status.empty()) return std::nullopt;
  return t;
}

bool Active(const MoveTask& t) {
  return t.info.status == "RUNNING" || t.info.status == "CANCELLING";
}

Status NotFound(std::string_view message) {
  return QueueError(ErrorKind::kResourceNotFound, message);
}

}  // namespace

void QueueService::Impl::StoreMoveTaskLocked(const MoveTask& t, store::WriteBatch& batch) const {
  batch.Put(store::Family::kMeta, TaskKey(t.info.task_handle), EncodeTask(t));
}

Status QueueService::Impl::LoadMoveTasksLocked() {
  const int64_t resume_at = clock_.MonotonicMicros() + kResumeDelayMicros;
  return store_.Scan(
      store::Family::kMeta, kMoveTaskPrefix, store::PrefixEnd(kMoveTaskPrefix),
      [&](std::string_view key, std::string_view value) {
        auto t = DecodeTask(value);
        if (!t) {
          log::Error("queue", "undecodable move task", {{"key", key}});
          return true;
        }
        if (t->info.status == "RUNNING" && t->info.max_messages_per_second) {
          t->limiter = std::make_unique<SlidingWindowLimiter>(*t->info.max_messages_per_second);
        }
        t->not_before_mono = resume_at;  // the window before the restart is unknown
        std::string handle = t->info.task_handle;
        move_tasks_[handle] = std::move(*t);
        return true;
      });
}

StatusOr<std::string> QueueService::StartMessageMoveTask(std::string_view source_arn,
                                                         std::optional<std::string> destination,
                                                         std::optional<int> rate) {
  if (rate && (*rate < 1 || *rate > 500)) {
    return QueueError(ErrorKind::kInvalidParameterValue,
                      "Value " + std::to_string(*rate) +
                          " for parameter MaxNumberOfMessagesPerSecond is invalid. Reason: it "
                          "must be between 1 and 500.");
  }
  std::unique_lock<std::mutex> lock(impl_->mu_);
  Queue* src = impl_->FindLocked(source_arn);
  if (!src || impl_->ArnFor(src->def.name) != source_arn) {
    return NotFound("The resource that you specified for the SourceArn parameter doesn't exist.");
  }
  bool is_dlq = false;
  for (const auto& [name, q] : impl_->queues_) {
    const auto& r = q->settings.redrive;
    is_dlq |= r && QueueNameFromRef(r->dead_letter_target_arn) == src->def.name;
  }
  if (!is_dlq) {
    return QueueError(ErrorKind::kInvalidParameterValue,
                      "Source queue must be configured as a Dead Letter Queue.");
  }
  if (destination) {
    Queue* dst = impl_->FindLocked(*destination);
    if (!dst || impl_->ArnFor(dst->def.name) != *destination) {
      return NotFound(
          "The resource that you specified for the DestinationArn parameter doesn't exist.");
    }
    if (dst == src) {
      return QueueError(ErrorKind::kInvalidParameterValue,
                        "Source and destination queues must be different.");
    }
  }
  std::vector<std::pair<int64_t, std::string>> previous;  // (started, handle) of this source
  for (const auto& [handle, t] : impl_->move_tasks_) {
    if (t.info.source_arn != source_arn) continue;
    if (Active(t)) {
      return QueueError(ErrorKind::kUnsupportedOperation,
                        "There is already a task running. Only one active task is allowed for "
                        "each source queue arn at a given time.");
    }
    previous.emplace_back(t.info.started_millis, handle);
  }
  MoveTask t;
  t.info.task_handle = NewUuid();
  t.info.status = "RUNNING";
  t.info.source_arn = std::string(source_arn);
  t.info.destination_arn = destination.value_or("");
  t.info.max_messages_per_second = rate;
  t.info.to_move = static_cast<int64_t>(src->messages.size());
  t.info.started_millis = impl_->clock_.NowMillis();
  t.source_queue_id = src->def.id;
  for (const auto& [seq, m] : src->messages) t.last_seq = std::max(t.last_seq, seq);
  if (rate) t.limiter = std::make_unique<SlidingWindowLimiter>(*rate);
  store::WriteBatch batch;
  impl_->StoreMoveTaskLocked(t, batch);
  // Keep the newest kKeptTasksPerSource tasks of this source (the new one included).
  std::sort(previous.rbegin(), previous.rend());
  for (size_t i = kKeptTasksPerSource - 1; i < previous.size(); ++i) {
    batch.Delete(store::Family::kMeta, TaskKey(previous[i].second));
    impl_->move_tasks_.erase(previous[i].second);
  }
  std::string handle = t.info.task_handle;
  impl_->move_tasks_[handle] = std::move(t);
  impl_->KickLocked();
  BP_RETURN_IF_ERROR(impl_->CommitAndWait(lock, std::move(batch)));
  log::Info("queue", "message move task started", {{"source", source_arn}, {"task", handle}});
  return handle;
}

StatusOr<std::vector<MoveTaskInfo>> QueueService::ListMessageMoveTasks(
    std::string_view source_arn, std::optional<int> max_results) {
  if (max_results && (*max_results < 1 || *max_results > 10)) {
    return QueueError(ErrorKind::kInvalidParameterValue,
                      "Value " + std::to_string(*max_results) +
                          " for parameter MaxResults is invalid. Reason: MaxResults must be an "
                          "integer between 1 and 10.");
  }
  std::lock_guard<std::mutex> lock(impl_->mu_);
  Queue* src = impl_->FindLocked(source_arn);
  if (!src || impl_->ArnFor(src->def.name) != source_arn) {
    return NotFound("The resource that you specified for the SourceArn parameter doesn't exist.");
  }
  std::vector<MoveTaskInfo> out;
  for (const auto& [handle, t] : impl_->move_tasks_) {
    if (t.info.source_arn == source_arn) out.push_back(t.info);
  }
  std::sort(out.begin(), out.end(), [](const MoveTaskInfo& a, const MoveTaskInfo& b) {
    return a.started_millis != b.started_millis ? a.started_millis > b.started_millis
                                                : a.task_handle > b.task_handle;
  });
  out.resize(std::min(out.size(), static_cast<size_t>(max_results.value_or(1))));
  return out;
}

StatusOr<int64_t> QueueService::CancelMessageMoveTask(std::string_view task_handle) {
  std::unique_lock<std::mutex> lock(impl_->mu_);
  auto it = impl_->move_tasks_.find(std::string(task_handle));
  if (it == impl_->move_tasks_.end() || it->second.info.status != "RUNNING") {
    return NotFound("Task does not exist or is not running.");
  }
  MoveTask& t = it->second;
  t.info.status = "CANCELLING";  // the background thread records CANCELLED
  t.limiter.reset();
  int64_t moved = t.info.moved;
  store::WriteBatch batch;
  impl_->StoreMoveTaskLocked(t, batch);
  impl_->KickLocked();
  BP_RETURN_IF_ERROR(impl_->CommitAndWait(lock, std::move(batch)));
  return moved;
}

int64_t QueueService::Impl::MoveTaskWaitLocked(int64_t now, int64_t mono) const {
  int64_t wait = INT64_MAX;
  for (const auto& [handle, t] : move_tasks_) {
    if (t.info.status == "CANCELLING") return 0;
    if (t.info.status != "RUNNING") continue;
    if (mono < t.not_before_mono) {
      wait = std::min(wait, t.not_before_mono - mono);
      continue;
    }
    auto q = queues_.find(std::string(QueueNameFromRef(t.info.source_arn)));
    bool candidate = false;
    if (q != queues_.end()) {
      for (auto it = q->second->by_visible.begin();
           it != q->second->by_visible.end() && it->first <= now && !candidate; ++it) {
        candidate = it->second <= t.last_seq;
      }
    }
    if (!candidate) {
      wait = std::min(wait, kPollMicros);  // in-flight messages, or the end of the task
    } else {
      wait = std::min(wait, t.limiter ? t.limiter->NextAvailable(mono) - mono : 0);
    }
  }
  return wait;
}

// Finished tasks of a deleted source queue go with it.
void QueueService::Impl::DropOrphanedMoveTasksLocked(store::WriteBatch& batch) {
  for (auto it = move_tasks_.begin(); it != move_tasks_.end();) {
    auto q = queues_.find(std::string(QueueNameFromRef(it->second.info.source_arn)));
    bool gone = q == queues_.end() || q->second->def.id != it->second.source_queue_id;
    if (gone && !Active(it->second)) {
      batch.Delete(store::Family::kMeta, TaskKey(it->first));
      it = move_tasks_.erase(it);
    } else {
      ++it;
    }
  }
}

// Moves message `seq` of `src` to the end of `dst` as a new message (new sequence number,
// visible now, receive count 0).
void QueueService::Impl::MoveMessageLocked(Queue& src, uint64_t seq, Queue& dst, int64_t now,
                                           store::WriteBatch& batch) {
  StoredMessage moved = src.messages.at(seq);
  EraseLocked(src, seq, batch);
  moved.content.dead_letter_source_arn.clear();
  moved.content.sent_micros = now;  // retention restarts in the queue it is moved to
  moved.state = MessageState{now, 0, 0};
  uint64_t new_seq = next_seq_++;
  batch.Put(store::Family::kQueues, MessageKey(dst.def.id, new_seq, 'm'),
            EncodeContent(moved.content));
  batch.Put(store::Family::kQueues, MessageKey(dst.def.id, new_seq, 's'), EncodeState(moved.state));
  InsertLocked(dst, new_seq, std::move(moved));
}

void QueueService::Impl::RunMoveTasksLocked(int64_t now, int64_t mono, store::WriteBatch& batch) {
  bool moved_any = false;
  DropOrphanedMoveTasksLocked(batch);
  for (auto& entry : move_tasks_) {
    auto& t = entry.second;  // a reference, not a binding: the lambda below captures it
    if (t.info.status == "CANCELLING") {
      t.info.status = "CANCELLED";
      StoreMoveTaskLocked(t, batch);
      continue;
    }
    if (t.info.status != "RUNNING" || mono < t.not_before_mono) continue;
    auto fail = [&](std::string reason) {
      t.info.status = "FAILED";
      t.info.failure_reason = std::move(reason);
      t.limiter.reset();
      StoreMoveTaskLocked(t, batch);
    };
    auto q = queues_.find(std::string(QueueNameFromRef(t.info.source_arn)));
    if (q == queues_.end() || q->second->def.id != t.source_queue_id) {
      fail("AWS.SimpleQueueService.NonExistentQueue: the source queue was deleted.");
      continue;
    }
    Queue& src = *q->second;
    std::vector<uint64_t> due;
    const size_t budget =
        t.limiter ? static_cast<size_t>(t.limiter->Available(mono)) : kUnlimitedMovesPerStep;
    for (auto it = src.by_visible.begin();
         it != src.by_visible.end() && it->first <= now && due.size() < budget; ++it) {
      if (it->second <= t.last_seq) due.push_back(it->second);
    }
    bool changed = false;
    for (uint64_t seq : due) {
      if (t.limiter && !t.limiter->TryAcquire(mono)) break;
      const StoredMessage& m = src.messages.at(seq);
      const std::string dest_arn = t.info.destination_arn.empty() ? m.content.dead_letter_source_arn
                                                                  : t.info.destination_arn;
      Queue* dst = dest_arn.empty() ? nullptr : FindLocked(dest_arn);
      if (!dst) {
        fail(dest_arn.empty() ? "A message has no source queue to be moved back to."
                              : "AWS.SimpleQueueService.NonExistentQueue: " + dest_arn);
        changed = false;
        break;
      }
      MoveMessageLocked(src, seq, *dst, now, batch);
      ++t.info.moved;
      changed = moved_any = true;
    }
    if (t.info.status != "RUNNING") continue;  // failed above
    if (due.empty()) {
      bool left = false;
      for (const auto& [seq, m] : src.messages) left |= seq <= t.last_seq;
      if (!left) {
        t.info.status = "COMPLETED";
        t.limiter.reset();
        changed = true;
      }
    }
    if (changed) StoreMoveTaskLocked(t, batch);
  }
  if (moved_any) KickLocked();  // long polls on the destinations
}

}  // namespace bp::queue
