// QueueService: SQS-compatible standard queues on the durable store.
//
// Threads: every method may be called from any thread. One mutex guards the in-memory state;
// store writes are submitted while holding it so that the store applies them in the same order
// as the in-memory changes (RocksStore commits WriteAsync batches in submission order). No method
// waits for an fsync while holding the mutex.
//
// Durability: a method returns (or calls its callback) only after its store changes are durable,
// so every acknowledged send, receive (visibility + receive count), delete or visibility change
// survives kill -9. Open() rebuilds the in-memory index from the store.
//
// Lifecycle: Open() starts one background thread that completes long polls and expires messages
// past the retention period; the destructor completes outstanding long polls with no messages and
// joins it. The store must outlive the service.
//
// Queues are addressed by a "queue reference": a name, a queue URL (last path segment) or an ARN
// (last ':' segment). Errors are queue errors (queue_errors.h) or store failures.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "queue/message.h"
#include "queue/queue_errors.h"
#include "store/store.h"

namespace bp::queue {

struct QueueServiceOptions {
  std::string region = "us-east-1";
  std::string account = "000000000000";
  // Tests with a ManualClock turn the thread off and call RunPendingWork() themselves.
  bool background_thread = true;
  // Interval between retention sweeps by the background thread.
  int64_t sweep_interval_micros = 1'000'000;
};

// Attribute name -> value as SQS shows them ("VisibilityTimeout" -> "30").
using QueueAttributes = std::map<std::string, std::string>;

struct SendRequest {
  std::string body;
  std::optional<int> delay_seconds;  // unset: the queue's DelaySeconds
  std::vector<MessageAttribute> attributes;
};

struct SendResult {
  std::string message_id;
  std::string md5_of_body;
  std::string md5_of_attributes;  // empty when the message has no attributes
};

// One failed entry of a batch call; the other entries still took effect.
struct BatchEntryError {
  std::string id;
  ErrorKind kind = ErrorKind::kNone;
  std::string message;
  bool sender_fault = true;
};

struct SendBatchEntry {
  std::string id;
  SendRequest request;
};

struct SendBatchResult {
  std::vector<std::pair<std::string, SendResult>> successful;  // (entry id, result)
  std::vector<BatchEntryError> failed;
};

struct ReceiveRequest {
  std::string queue;
  int max_messages = 1;                      // 1-10
  std::optional<int> visibility_timeout;     // 0-43200; unset: the queue's VisibilityTimeout
  std::optional<int> wait_seconds;           // 0-20; unset: ReceiveMessageWaitTimeSeconds
  std::vector<std::string> attribute_names;  // "All", "SentTimestamp", ...
  std::vector<std::string> message_attribute_names;  // "All", ".*", "prefix.*", exact names
};

struct ReceivedMessage {
  std::string message_id;
  std::string receipt_handle;
  std::string md5_of_body;
  std::string body;
  std::map<std::string, std::string> attributes;     // system attributes that were asked for
  std::vector<MessageAttribute> message_attributes;  // user attributes that were asked for
  std::string md5_of_message_attributes;             // over `message_attributes`; empty if none
};

using ReceiveCallback = std::function<void(StatusOr<std::vector<ReceivedMessage>>)>;

struct ReceiptEntry {
  std::string id;
  std::string receipt_handle;
  int visibility_timeout = 0;  // ChangeMessageVisibilityBatch only
};

struct BatchResult {
  std::vector<std::string> successful;  // entry ids
  std::vector<BatchEntryError> failed;
};

struct ListQueuesResult {
  std::vector<std::string> queue_urls;
  std::string next_token;  // empty when there are no more
};

using QueueTags = std::map<std::string, std::string>;

// One message move task (StartMessageMoveTask), as ListMessageMoveTasks shows it.
struct MoveTaskInfo {
  std::string task_handle;
  std::string status;  // RUNNING, COMPLETED, CANCELLING, CANCELLED, FAILED
  std::string source_arn;
  std::string destination_arn;                 // empty: each message's original source queue
  std::optional<int> max_messages_per_second;  // unset: as fast as the service moves them
  int64_t moved = 0;
  int64_t to_move = 0;
  std::string failure_reason;
  int64_t started_millis = 0;
};

// A message made ready to be written in the caller's own batch (dead letters, SQS targets).
// Opaque to callers; valid until OnCommitted.
struct PreparedMessage {
  std::string message_id;
  std::string queue_name;
  uint64_t queue_id = 0;
  uint64_t seq = 0;
  std::string content_key, content_value, state_key, state_value;
};

// A message as PeekMessages shows it: read without receiving (no state change).
struct PeekedMessage {
  uint64_t seq = 0;  // order of arrival within the queue
  std::string message_id;
  std::string body;
  std::vector<MessageAttribute> attributes;
  int64_t sent_micros = 0;
  uint32_t receive_count = 0;
  bool visible = true;  // false while received (in flight) or delayed
};

// Called with the still-present, visible messages of a TakeMessages call, under the queue's lock:
// adds the caller's own writes (e.g. new delivery tasks) to `batch`. Must not call the service.
using TakeFn =
    std::function<void(const std::vector<PeekedMessage>& taken, store::WriteBatch& batch)>;

class QueueService {
 public:
  [[nodiscard]] static StatusOr<std::unique_ptr<QueueService>> Open(store::Store& store,
                                                                    Clock& clock,
                                                                    QueueServiceOptions options);
  ~QueueService();
  QueueService(const QueueService&) = delete;
  QueueService& operator=(const QueueService&) = delete;

  // `base_url` is "{scheme}://{host}" of the request; queue URLs are base_url/account/name.
  // `tags` are set on a new queue (an existing queue's tags are left as they are).
  [[nodiscard]] StatusOr<std::string> CreateQueue(std::string_view name,
                                                  const QueueAttributes& attributes,
                                                  std::string_view base_url,
                                                  const QueueTags& tags = {});
  [[nodiscard]] StatusOr<std::string> GetQueueUrl(std::string_view name, std::string_view base_url);
  // max_results 1-1000 (unset: up to 1000, no NextToken).
  [[nodiscard]] StatusOr<ListQueuesResult> ListQueues(std::string_view prefix,
                                                      std::optional<int> max_results,
                                                      std::string_view next_token,
                                                      std::string_view base_url);
  // `names` may contain "All"; an empty list returns no attributes, as SQS does.
  [[nodiscard]] StatusOr<QueueAttributes> GetQueueAttributes(std::string_view queue,
                                                             const std::vector<std::string>& names);
  [[nodiscard]] Status SetQueueAttributes(std::string_view queue,
                                          const QueueAttributes& attributes);
  [[nodiscard]] Status DeleteQueue(std::string_view queue);
  [[nodiscard]] Status PurgeQueue(std::string_view queue);
  // The names of queues whose RedrivePolicy targets `queue`, paged like ListQueues.
  [[nodiscard]] StatusOr<std::vector<std::string>> ListDeadLetterSourceQueues(
      std::string_view queue);
  [[nodiscard]] StatusOr<ListQueuesResult> ListDeadLetterSourceQueues(
      std::string_view queue, std::optional<int> max_results, std::string_view next_token,
      std::string_view base_url);

  // Tags (queue_tags.cc): at most 50 per queue, keys 1-128 and values 0-256 characters.
  [[nodiscard]] Status TagQueue(std::string_view queue, const QueueTags& tags);
  [[nodiscard]] Status UntagQueue(std::string_view queue, const std::vector<std::string>& keys);
  [[nodiscard]] StatusOr<QueueTags> ListQueueTags(std::string_view queue);

  // Message move tasks (move_tasks.cc): move the messages a dead-letter queue holds when the task
  // starts back to their source queues (or to `destination_arn`), at most
  // `max_messages_per_second` in any one-second window (1-500). One running task per source.
  // Durable: a task and its progress survive a restart and it resumes (after 1 s).
  [[nodiscard]] StatusOr<std::string> StartMessageMoveTask(
      std::string_view source_arn, std::optional<std::string> destination_arn,
      std::optional<int> max_messages_per_second);
  // Most recent first; max_results 1-10 (default 1).
  [[nodiscard]] StatusOr<std::vector<MoveTaskInfo>> ListMessageMoveTasks(
      std::string_view source_arn, std::optional<int> max_results);
  // Returns the number of messages moved so far; the task ends CANCELLED.
  [[nodiscard]] StatusOr<int64_t> CancelMessageMoveTask(std::string_view task_handle);

  [[nodiscard]] StatusOr<SendResult> SendMessage(std::string_view queue, SendRequest request);
  // Whole-request errors (empty, too many, duplicate/invalid ids, too long) fail the call.
  [[nodiscard]] StatusOr<SendBatchResult> SendMessageBatch(std::string_view queue,
                                                           std::vector<SendBatchEntry> entries);

  // Completes `done` exactly once, possibly on another thread: at once if a message is visible or
  // the wait is 0, else when one becomes visible or the wait ends (then with no messages).
  // Messages received past the queue's maxReceiveCount are moved to its dead-letter queue instead.
  void ReceiveMessage(ReceiveRequest request, ReceiveCallback done);

  [[nodiscard]] Status DeleteMessage(std::string_view queue, std::string_view receipt_handle);
  [[nodiscard]] StatusOr<BatchResult> DeleteMessageBatch(std::string_view queue,
                                                         std::vector<ReceiptEntry> entries);
  [[nodiscard]] Status ChangeMessageVisibility(std::string_view queue,
                                               std::string_view receipt_handle,
                                               int visibility_timeout);
  [[nodiscard]] StatusOr<BatchResult> ChangeMessageVisibilityBatch(
      std::string_view queue, std::vector<ReceiptEntry> entries);

  // --- Entry points for the delivery engine (dead-letter queues, SQS targets) ---
  bool QueueExists(std::string_view queue_arn_or_name);
  // Validates the message against the queue (NotFound if the queue doesn't exist). The caller
  // adds it to its own batch, commits, then calls OnCommitted.
  [[nodiscard]] StatusOr<PreparedMessage> PrepareMessage(std::string_view queue_arn_or_name,
                                                         std::string body,
                                                         std::vector<MessageAttribute> attrs);
  void AddToBatch(store::WriteBatch& batch, const PreparedMessage& message);
  // Makes the committed message receivable and wakes long polls.
  void OnCommitted(const PreparedMessage& message);

  std::string QueueArn(std::string_view name) const;

  // --- Entry points for the admin API's dead-letter browser and redrive (queue_peek.cc) ---
  // Up to `max` messages with seq > after_seq, in seq order, without receiving them.
  [[nodiscard]] StatusOr<std::vector<PeekedMessage>> PeekMessages(std::string_view queue,
                                                                  uint64_t after_seq, size_t max);
  // Deletes those of `seqs` that are still present and visible, in ONE durable write together
  // with what `add` puts in the batch; returns the taken messages once that write is durable.
  // The messages leave the in-memory queue at once (no receive can get them meanwhile); if the
  // write fails they stay on disk and reappear on the next start.
  [[nodiscard]] StatusOr<std::vector<PeekedMessage>> TakeMessages(std::string_view queue,
                                                                  const std::vector<uint64_t>& seqs,
                                                                  const TakeFn& add);

  // Completes due long polls and expires messages past retention now. The background thread
  // calls it; tests with a ManualClock call it after advancing the clock.
  void RunPendingWork();

  // Number of long polls waiting (for tests and metrics).
  size_t PendingLongPolls();

  class Impl;

 private:
  explicit QueueService(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace bp::queue
