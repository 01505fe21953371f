// QueueService internals shared by queue_service.cc (queues, sends) and queue_receive.cc
// (receives, deletes, visibility, long polls). Not part of the module's public API.
#pragma once

#include <condition_variable>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/sliding_window_limiter.h"
#include "queue/queue_attributes.h"
#include "queue/queue_service.h"
#include "queue/record_codec.h"

namespace bp::queue {

struct StoredMessage {
  MessageContent content;
  MessageState state;
  std::string md5_of_body;
};

struct Queue {
  QueueDefinition def;
  QueueSettings settings;
  std::unordered_map<uint64_t, StoredMessage> messages;  // by seq
  // Invariant: exactly one entry per message in each index.
  std::set<std::pair<int64_t, uint64_t>> by_visible;  // (visible_at_micros, seq)
  std::set<std::pair<int64_t, uint64_t>> by_sent;     // (sent_micros, seq), for retention
  int64_t last_purge_micros = 0;
  bool purged_once = false;
};

// A message move task (move_tasks.cc). Stored as kMeta "movetask/<handle>" (JSON), rewritten in
// the same batch as every step's moves, so progress and moves are atomic.
struct MoveTask {
  MoveTaskInfo info;
  uint64_t source_queue_id = 0;
  uint64_t last_seq = 0;  // messages of the source with seq <= last_seq are moved (the snapshot)
  std::unique_ptr<SlidingWindowLimiter> limiter;  // running tasks with a rate
  int64_t not_before_mono = 0;                    // resumed tasks wait 1 s (window unknown)
};

struct LongPoll {
  ReceiveRequest request;
  ReceiveCallback done;
  int64_t deadline_micros;  // monotonic
};

// Tag rules (queue_tags.cc): at most 50, keys 1-128, values 0-256, no "aws:" keys.
Status ValidateQueueTags(const QueueTags& tags);
// Opaque, checked NextTokens for ListQueues / ListDeadLetterSourceQueues (queue_tags.cc).
std::string EncodePageToken(std::string_view last_name);
std::optional<std::string> DecodePageToken(std::string_view token);
Status InvalidNextToken();

// Batch-wide rules shared by the three batch calls: 1-10 entries, valid and distinct ids.
Status ValidateBatchIds(const std::vector<std::string>& ids, std::string_view entry_name);

class QueueService::Impl {
 public:
  Impl(store::Store& store, Clock& clock, QueueServiceOptions options)
      : store_(store), clock_(clock), options_(std::move(options)) {}

  Status Load();
  void StartThread();
  void StopThread();

  // --- queue_service.cc ---
  Queue* FindLocked(std::string_view ref);
  std::string UrlFor(std::string_view base_url, std::string_view name) const;
  std::string ArnFor(std::string_view name) const;
  StatusOr<PreparedMessage> PrepareLocked(Queue& q, SendRequest request, int64_t now);
  void InsertLocked(Queue& q, uint64_t seq, StoredMessage m);
  void EraseLocked(Queue& q, uint64_t seq, store::WriteBatch& batch);
  // Submits `batch` (in order with other submissions), releases `lock`, waits for durability.
  Status CommitAndWait(std::unique_lock<std::mutex>& lock, store::WriteBatch batch);

  // --- queue_receive.cc ---
  // Receives up to request.max_messages from `q`; expiry and redrive changes go into `batch`.
  std::vector<ReceivedMessage> ReceiveLocked(Queue& q, const ReceiveRequest& request,
                                             store::WriteBatch& batch);
  void FinishReceive(std::unique_lock<std::mutex>& lock, store::WriteBatch batch,
                     std::vector<ReceivedMessage> messages, ReceiveCallback done);
  void ExpireLocked(Queue& q, int64_t now, store::WriteBatch& batch);
  StatusOr<std::pair<Queue*, StoredMessage*>> ResolveReceiptLocked(std::string_view queue,
                                                                   std::string_view handle);
  void ThreadLoop();
  void RunPendingWork();

  // --- move_tasks.cc ---
  Status LoadMoveTasksLocked();
  // Moves what the running tasks may move now; changes go into `batch`.
  void RunMoveTasksLocked(int64_t now, int64_t mono, store::WriteBatch& batch);
  void DropOrphanedMoveTasksLocked(store::WriteBatch& batch);
  void MoveMessageLocked(Queue& src, uint64_t seq, Queue& dst, int64_t now,
                         store::WriteBatch& batch);
  // Microseconds until a running task can move its next message (a large value if none).
  int64_t MoveTaskWaitLocked(int64_t now, int64_t mono) const;
  void StoreMoveTaskLocked(const MoveTask& t, store::WriteBatch& batch) const;
  // Wakes the background thread (a message may be visible, a queue gone, settings changed).
  void KickLocked() {
    kicked_ = true;
    cv_.notify_all();
  }

  store::Store& store_;
  Clock& clock_;
  const QueueServiceOptions options_;

  std::mutex mu_;
  std::condition_variable cv_;                            // wakes the background thread
  std::map<std::string, std::unique_ptr<Queue>> queues_;  // GUARDED_BY(mu_), by name
  std::list<LongPoll> long_polls_;                        // GUARDED_BY(mu_)
  std::map<std::string, MoveTask> move_tasks_;            // GUARDED_BY(mu_), by handle
  uint64_t next_queue_id_ = 1;                            // GUARDED_BY(mu_)
  uint64_t next_seq_ = 1;                                 // GUARDED_BY(mu_)
  int64_t last_sweep_micros_ = 0;                         // GUARDED_BY(mu_)
  bool stopping_ = false;                                 // GUARDED_BY(mu_)
  bool kicked_ = false;                                   // GUARDED_BY(mu_)
  std::thread thread_;
};

}  // namespace bp::queue
