// The durable delivery task: one per (event, rule, target), stored in Family::kTasks under
// TaskKey(seq). It carries the event itself so a task is self-contained: delivering, retrying or
// dead-lettering it never needs another record, and deleting it is the whole cleanup.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace bp::tasks {

struct TaskRecord {
  uint64_t seq = 0;  // unique, increasing in ingestion order (FIFO within a lane)
  std::string bus;   // the rule's bus
  std::string rule;  // rule name
  std::string target_id;
  std::string event_id;
  int64_t ingestion_ms = 0;     // wall clock when PutEvents accepted the event
  int32_t retries = 0;          // retries made so far (first attempt not counted)
  int64_t due_ms = 0;           // 0: ready now; else the earliest start of the next attempt
  int32_t hops = 0;             // event-bus-to-event-bus hops so far
  bool oauth_resend = false;    // the next attempt is the immediate re-send after a 401/407
  std::string last_error_code;  // of the latest failed attempt (for dead-lettering)
  std::string last_error_message;
  std::string event_json;  // the envelope exactly as delivered
};

std::string TaskKey(uint64_t seq);
std::optional<uint64_t> SeqFromTaskKey(std::string_view key);

std::string EncodeTask(const TaskRecord& task);
// Decodes a stored task; with `with_event` false the event body is skipped (recovery scans).
std::optional<TaskRecord> DecodeTask(std::string_view data, bool with_event = true);

}  // namespace bp::tasks
