// SQS handlers for queue tags, message move tasks and ListDeadLetterSourceQueues (JSON shapes of
// botocore's sqs model; the Query protocol reaches them through QueryToInput).
#include <unordered_map>

#include "api/sqs/sqs_protocol.h"

namespace bp::api::sqs {
namespace {

namespace json = boost::json;

using SyncHandler = OpResult (*)(const json::object&, const OpEnv&);

OpResult ListDeadLetterSourceQueues(const json::object& in, const OpEnv& env) {
  BP_ASSIGN_OR_RETURN(auto queue, QueueRef(in, env));
  BP_ASSIGN_OR_RETURN(auto max, OptInt(in, "MaxResults"));
  BP_ASSIGN_OR_RETURN(auto token, OptString(in, "NextToken"));
  BP_ASSIGN_OR_RETURN(
      auto r, env.queues.ListDeadLetterSourceQueues(queue, max, token.value_or(""), env.base_url));
  json::array urls;
  for (auto& u : r.queue_urls) urls.emplace_back(u);
  json::object out{{"queueUrls", std::move(urls)}};
  if (!r.next_token.empty()) out["NextToken"] = r.next_token;
  return out;
}

OpResult TagQueue(const json::object& in, const OpEnv& env) {
  BP_ASSIGN_OR_RETURN(auto queue, QueueRef(in, env));
  // JSON: "Tags"; Query: Tag.N.Key/Value, which QueryToInput names "tags".
  const char* member = in.contains("Tags") ? "Tags" : "tags";
  BP_ASSIGN_OR_RETURN(auto tags, StringMap(in, member));
  BP_RETURN_IF_ERROR(env.queues.TagQueue(queue, tags));
  return json::object{};
}

OpResult UntagQueue(const json::object& in, const OpEnv& env) {
  BP_ASSIGN_OR_RETURN(auto queue, QueueRef(in, env));
  BP_ASSIGN_OR_RETURN(auto keys, StringList(in, "TagKeys"));
  BP_RETURN_IF_ERROR(env.queues.UntagQueue(queue, keys));
  return json::object{};
}

OpResult ListQueueTags(const json::object& in, const OpEnv& env) {
  BP_ASSIGN_OR_RETURN(auto queue, QueueRef(in, env));
  BP_ASSIGN_OR_RETURN(auto tags, env.queues.ListQueueTags(queue));
  json::object out;
  if (!tags.empty()) {
    json::object t;
    for (const auto& [k, v] : tags) t[k] = v;
    out["Tags"] = std::move(t);
  }
  return out;
}

OpResult StartMessageMoveTask(const json::object& in, const OpEnv& env) {
  BP_ASSIGN_OR_RETURN(auto source, ReqString(in, "SourceArn"));
  BP_ASSIGN_OR_RETURN(auto destination, OptString(in, "DestinationArn"));
  BP_ASSIGN_OR_RETURN(auto rate, OptInt(in, "MaxNumberOfMessagesPerSecond"));
  BP_ASSIGN_OR_RETURN(auto handle, env.queues.StartMessageMoveTask(source, destination, rate));
  return json::object{{"TaskHandle", handle}};
}

OpResult ListMessageMoveTasks(const json::object& in, const OpEnv& env) {
  BP_ASSIGN_OR_RETURN(auto source, ReqString(in, "SourceArn"));
  BP_ASSIGN_OR_RETURN(auto max, OptInt(in, "MaxResults"));
  BP_ASSIGN_OR_RETURN(auto tasks, env.queues.ListMessageMoveTasks(source, max));
  json::array results;
  for (const auto& t : tasks) {
    json::object o;
    // SQS shows the handle only while the task can still be cancelled.
    if (t.status == "RUNNING") o["TaskHandle"] = t.task_handle;
    o["Status"] = t.status;
    o["SourceArn"] = t.source_arn;
    if (!t.destination_arn.empty()) o["DestinationArn"] = t.destination_arn;
    if (t.max_messages_per_second) o["MaxNumberOfMessagesPerSecond"] = *t.max_messages_per_second;
    o["ApproximateNumberOfMessagesMoved"] = t.moved;
    o["ApproximateNumberOfMessagesToMove"] = t.to_move;
    if (!t.failure_reason.empty()) o["FailureReason"] = t.failure_reason;
    o["StartedTimestamp"] = t.started_millis;
    results.push_back(std::move(o));
  }
  return json::object{{"Results", std::move(results)}};
}

OpResult CancelMessageMoveTask(const json::object& in, const OpEnv& env) {
  BP_ASSIGN_OR_RETURN(auto handle, ReqString(in, "TaskHandle"));
  BP_ASSIGN_OR_RETURN(int64_t moved, env.queues.CancelMessageMoveTask(handle));
  return json::object{{"ApproximateNumberOfMessagesMoved", moved}};
}

}  // namespace

bool RunQueueOperation(std::string_view op, const json::object& input, const OpEnv& env,
                       OpDone done) {
  static const std::unordered_map<std::string_view, SyncHandler> kHandlers = {
      {"ListDeadLetterSourceQueues", ListDeadLetterSourceQueues},
      {"TagQueue", TagQueue},
      {"UntagQueue", UntagQueue},
      {"ListQueueTags", ListQueueTags},
      {"StartMessageMoveTask", StartMessageMoveTask},
      {"ListMessageMoveTasks", ListMessageMoveTasks},
      {"CancelMessageMoveTask", CancelMessageMoveTask},
  };
  auto it = kHandlers.find(op);
  if (it == kHandlers.end()) return false;
  done(it->second(input, env));
  return true;
}

}  // namespace bp::api::sqs
