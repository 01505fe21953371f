// SQS operation handlers: JSON-shaped input -> QueueService call -> JSON-shaped result.
#include <charconv>
#include <unordered_map>

#include "api/sqs/sqs_protocol.h"
#include "queue/queue_attributes.h"

namespace bp::api::sqs {

namespace json = boost::json;
using queue::ErrorKind;
using queue::QueueError;

Status Missing(std::string_view name) {
  return QueueError(ErrorKind::kMissingParameter,
                    "The request must contain the parameter " + std::string(name) + ".");
}

Status Invalid(std::string_view name, std::string_view reason) {
  return QueueError(
      ErrorKind::kInvalidParameterValue,
      "Value for parameter " + std::string(name) + " is invalid. Reason: " + std::string(reason));
}

StatusOr<std::optional<std::string>> OptString(const json::object& in, std::string_view name) {
  const json::value* v = in.if_contains(name);
  if (!v || v->is_null()) return std::optional<std::string>();
  if (!v->is_string()) return Invalid(name, "must be a string.");
  return std::optional<std::string>(std::string(v->as_string()));
}

StatusOr<std::string> ReqString(const json::object& in, std::string_view name) {
  BP_ASSIGN_OR_RETURN(auto v, OptString(in, name));
  if (!v) return Missing(name);
  return *v;
}

// Integers arrive as JSON numbers (JSON protocol) or decimal strings (Query protocol).
StatusOr<std::optional<int>> OptInt(const json::object& in, std::string_view name) {
  const json::value* v = in.if_contains(name);
  if (!v || v->is_null()) return std::optional<int>();
  if (v->is_int64() && v->as_int64() >= INT32_MIN && v->as_int64() <= INT32_MAX) {
    return std::optional<int>(static_cast<int>(v->as_int64()));
  }
  if (v->is_string()) {
    std::string_view s = v->as_string();
    int out = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    if (ec == std::errc() && p == s.data() + s.size() && !s.empty()) {
      return std::optional<int>(out);
    }
  }
  return Invalid(name, "must be an integer.");
}

StatusOr<std::vector<std::string>> StringList(const json::object& in, std::string_view name) {
  std::vector<std::string> out;
  const json::value* v = in.if_contains(name);
  if (!v || v->is_null()) return out;
  if (!v->is_array()) return Invalid(name, "must be a list of strings.");
  for (const auto& item : v->as_array()) {
    if (!item.is_string()) return Invalid(name, "must be a list of strings.");
    out.emplace_back(item.as_string());
  }
  return out;
}

StatusOr<queue::QueueAttributes> StringMap(const json::object& in, std::string_view name) {
  queue::QueueAttributes out;
  const json::value* v = in.if_contains(name);
  if (!v || v->is_null()) return out;
  if (!v->is_object()) return Invalid(name, "must be a map of strings.");
  for (const auto& kv : v->as_object()) {
    if (!kv.value().is_string()) return Invalid(name, "must be a map of strings.");
    out[std::string(kv.key())] = std::string(kv.value().as_string());
  }
  return out;
}

// The queue addressed by the request: QueueUrl, else the URL path the request was sent to.
StatusOr<std::string> QueueRef(const json::object& in, const OpEnv& env) {
  BP_ASSIGN_OR_RETURN(auto url, OptString(in, "QueueUrl"));
  if (url) return *url;
  if (!env.path_queue.empty()) return env.path_queue;
  return Missing("QueueUrl");
}

namespace {

StatusOr<std::vector<queue::MessageAttribute>> MessageAttributes(const json::object& in) {
  std::vector<queue::MessageAttribute> out;
  const json::value* v = in.if_contains("MessageAttributes");
  if (!v || v->is_null()) return out;
  if (!v->is_object()) return Invalid("MessageAttributes", "must be a map.");
  for (const auto& kv : v->as_object()) {
    if (!kv.value().is_object()) return Invalid("MessageAttributes", "values must be structures.");
    const auto& a = kv.value().as_object();
    queue::MessageAttribute attr;
    attr.name = std::string(kv.key());
    BP_ASSIGN_OR_RETURN(auto type, OptString(a, "DataType"));
    BP_ASSIGN_OR_RETURN(auto str, OptString(a, "StringValue"));
    BP_ASSIGN_OR_RETURN(auto bin, OptString(a, "BinaryValue"));
    if (a.contains("StringListValues") || a.contains("BinaryListValues")) {
      return QueueError(ErrorKind::kUnsupportedOperation,
                        "Message attribute list values are not supported.");
    }
    attr.data_type = type.value_or("");
    attr.string_value = str.value_or("");
    if (bin) {
      auto decoded = Base64Decode(*bin);
      if (!decoded) return Invalid("MessageAttributes", "BinaryValue is not valid base64.");
      attr.binary_value = std::move(*decoded);
    }
    out.push_back(std::move(attr));
  }
  return out;
}

json::object Failed(const queue::BatchEntryError& f) {
  return json::object{{"Id", f.id},
                      {"SenderFault", f.sender_fault},
                      {"Code", BatchErrorCode(f.kind)},
                      {"Message", f.message}};
}

json::object BatchResultJson(const queue::BatchResult& r) {
  json::array ok, failed;
  for (const auto& id : r.successful) ok.push_back(json::object{{"Id", id}});
  for (const auto& f : r.failed) failed.push_back(Failed(f));
  return json::object{{"Successful", std::move(ok)}, {"Failed", std::move(failed)}};
}

StatusOr<queue::SendRequest> SendRequestFrom(const json::object& in) {
  queue::SendRequest r;
  BP_ASSIGN_OR_RETURN(r.body, ReqString(in, "MessageBody"));
  BP_ASSIGN_OR_RETURN(r.delay_seconds, OptInt(in, "DelaySeconds"));
  BP_ASSIGN_OR_RETURN(r.attributes, MessageAttributes(in));
  return r;
}

// Every handler below returns the JSON-shaped result or a Status.
using SyncHandler = OpResult (*)(const json::object&, const OpEnv&);

OpResult CreateQueue(const json::object& in, const OpEnv& env) {
  BP_ASSIGN_OR_RETURN(auto name, ReqString(in, "QueueName"));
  BP_ASSIGN_OR_RETURN(auto attrs, StringMap(in, "Attributes"));
  BP_ASSIGN_OR_RETURN(auto tags, StringMap(in, "tags"));
  BP_ASSIGN_OR_RETURN(auto url, env.queues.CreateQueue(name, attrs, env.base_url, tags));
  return json::object{{"QueueUrl", url}};
}

OpResult GetQueueUrl(const json::object& in, const OpEnv& env) {
  BP_ASSIGN_OR_RETURN(auto name, ReqString(in, "QueueName"));
  BP_ASSIGN_OR_RETURN(auto url, env.queues.GetQueueUrl(name, env.base_url));
  return json::object{{"QueueUrl", url}};
}

OpResult ListQueues(const json::object& in, const OpEnv& env) {
  BP_ASSIGN_OR_RETURN(auto prefix, OptString(in, "QueueNamePrefix"));
  BP_ASSIGN_OR_RETURN(auto max, OptInt(in, "MaxResults"));
  BP_ASSIGN_OR_RETURN(auto token, OptString(in, "NextToken"));
  BP_ASSIGN_OR_RETURN(
      auto r, env.queues.ListQueues(prefix.value_or(""), max, token.value_or(""), env.base_url));
  json::object out;
  if (!r.queue_urls.empty()) {
    json::array urls;
    for (auto& u : r.queue_urls) urls.emplace_back(u);
    out["QueueUrls"] = std::move(urls);
  }
  if (!r.next_token.empty()) out["NextToken"] = r.next_token;
  return out;
}

OpResult GetQueueAttributes(const json::object& in, const OpEnv& env) {
  BP_ASSIGN_OR_RETURN(auto queue, QueueRef(in, env));
  BP_ASSIGN_OR_RETURN(auto names, StringList(in, "AttributeNames"));
  BP_ASSIGN_OR_RETURN(auto attrs, env.queues.GetQueueAttributes(queue, names));
  json::object out;
  if (!attrs.empty()) {
    json::object a;
    for (auto& [k, v] : attrs) a[k] = v;
    out["Attributes"] = std::move(a);
  }
  return out;
}

OpResult SetQueueAttributes(const json::object& in, const OpEnv& env) {
  BP_ASSIGN_OR_RETURN(auto queue, QueueRef(in, env));
  if (!in.contains("Attributes")) return Missing("Attributes");
  BP_ASSIGN_OR_RETURN(auto attrs, StringMap(in, "Attributes"));
  BP_RETURN_IF_ERROR(env.queues.SetQueueAttributes(queue, attrs));
  return json::object{};
}

OpResult DeleteQueue(const json::object& in, const OpEnv& env) {
  BP_ASSIGN_OR_RETURN(auto queue, QueueRef(in, env));
  BP_RETURN_IF_ERROR(env.queues.DeleteQueue(queue));
  return json::object{};
}

OpResult PurgeQueue(const json::object& in, const OpEnv& env) {
  BP_ASSIGN_OR_RETURN(auto queue, QueueRef(in, env));
  BP_RETURN_IF_ERROR(env.queues.PurgeQueue(queue));
  return json::object{};
}

OpResult SendMessage(const json::object& in, const OpEnv& env) {
  BP_ASSIGN_OR_RETURN(auto queue, QueueRef(in, env));
  BP_ASSIGN_OR_RETURN(auto request, SendRequestFrom(in));
  BP_ASSIGN_OR_RETURN(auto r, env.queues.SendMessage(queue, std::move(request)));
  json::object out{{"MD5OfMessageBody", r.md5_of_body}, {"MessageId", r.message_id}};
  if (!r.md5_of_attributes.empty()) out["MD5OfMessageAttributes"] = r.md5_of_attributes;
  return out;
}

StatusOr<const json::array*> Entries(const json::object& in) {
  const json::value* v = in.if_contains("Entries");
  if (!v) return Missing("Entries");
  if (!v->is_array()) return Invalid("Entries", "must be a list.");
  for (const auto& e : v->as_array()) {
    if (!e.is_object()) return Invalid("Entries", "must be a list of structures.");
  }
  return &v->as_array();
}

OpResult SendMessageBatch(const json::object& in, const OpEnv& env) {
  BP_ASSIGN_OR_RETURN(auto queue, QueueRef(in, env));
  BP_ASSIGN_OR_RETURN(const json::array* entries, Entries(in));
  std::vector<queue::SendBatchEntry> batch;
  json::array failed;
  for (const auto& e : *entries) {
    const auto& o = e.as_object();
    BP_ASSIGN_OR_RETURN(auto id, ReqString(o, "Id"));
    auto request = SendRequestFrom(o);
    if (!request.ok()) {
      // Shape errors of one entry fail that entry, like the service's own per-entry checks.
      failed.push_back(Failed({id, queue::ErrorKindOf(request.status()),
                               request.status().message(), true}));
      batch.push_back({id, {"\x01", std::nullopt, {}}});  // keeps id checks; dropped below
      continue;
    }
    batch.push_back({id, std::move(request).value()});
  }
  std::vector<std::string> shape_failed;
  for (const auto& f : failed) shape_failed.emplace_back(f.as_object().at("Id").as_string());
  BP_ASSIGN_OR_RETURN(auto r, env.queues.SendMessageBatch(queue, std::move(batch)));
  json::array ok;
  for (auto& [id, s] : r.successful) {
    json::object o{{"Id", id}, {"MessageId", s.message_id}, {"MD5OfMessageBody", s.md5_of_body}};
    if (!s.md5_of_attributes.empty()) o["MD5OfMessageAttributes"] = s.md5_of_attributes;
    ok.push_back(std::move(o));
  }
  for (const auto& f : r.failed) {
    if (std::find(shape_failed.begin(), shape_failed.end(), f.id) == shape_failed.end()) {
      failed.push_back(Failed(f));
    }
  }
  return json::object{{"Successful", std::move(ok)}, {"Failed", std::move(failed)}};
}

StatusOr<std::vector<queue::ReceiptEntry>> ReceiptEntries(const json::object& in,
                                                          bool with_visibility) {
  BP_ASSIGN_OR_RETURN(const json::array* entries, Entries(in));
  std::vector<queue::ReceiptEntry> out;
  for (const auto& e : *entries) {
    const auto& o = e.as_object();
    queue::ReceiptEntry entry;
    BP_ASSIGN_OR_RETURN(entry.id, ReqString(o, "Id"));
    BP_ASSIGN_OR_RETURN(entry.receipt_handle, ReqString(o, "ReceiptHandle"));
    if (with_visibility) {
      BP_ASSIGN_OR_RETURN(auto v, OptInt(o, "VisibilityTimeout"));
      entry.visibility_timeout = v.value_or(0);
    }
    out.push_back(std::move(entry));
  }
  return out;
}

OpResult DeleteMessage(const json::object& in, const OpEnv& env) {
  BP_ASSIGN_OR_RETURN(auto queue, QueueRef(in, env));
  BP_ASSIGN_OR_RETURN(auto handle, ReqString(in, "ReceiptHandle"));
  BP_RETURN_IF_ERROR(env.queues.DeleteMessage(queue, handle));
  return json::object{};
}

OpResult DeleteMessageBatch(const json::object& in, const OpEnv& env) {
  BP_ASSIGN_OR_RETURN(auto queue, QueueRef(in, env));
  BP_ASSIGN_OR_RETURN(auto entries, ReceiptEntries(in, false));
  BP_ASSIGN_OR_RETURN(auto r, env.queues.DeleteMessageBatch(queue, std::move(entries)));
  return BatchResultJson(r);
}

OpResult ChangeMessageVisibility(const json::object& in, const OpEnv& env) {
  BP_ASSIGN_OR_RETURN(auto queue, QueueRef(in, env));
  BP_ASSIGN_OR_RETURN(auto handle, ReqString(in, "ReceiptHandle"));
  BP_ASSIGN_OR_RETURN(auto timeout, OptInt(in, "VisibilityTimeout"));
  if (!timeout) return Missing("VisibilityTimeout");
  BP_RETURN_IF_ERROR(env.queues.ChangeMessageVisibility(queue, handle, *timeout));
  return json::object{};
}

OpResult ChangeMessageVisibilityBatch(const json::object& in, const OpEnv& env) {
  BP_ASSIGN_OR_RETURN(auto queue, QueueRef(in, env));
  BP_ASSIGN_OR_RETURN(auto entries, ReceiptEntries(in, true));
  BP_ASSIGN_OR_RETURN(auto r, env.queues.ChangeMessageVisibilityBatch(queue, std::move(entries)));
  return BatchResultJson(r);
}

json::object MessageJson(queue::ReceivedMessage& m) {
  json::object o{{"MessageId", m.message_id},
                 {"ReceiptHandle", m.receipt_handle},
                 {"MD5OfBody", m.md5_of_body},
                 {"Body", std::move(m.body)}};
  if (!m.attributes.empty()) {
    json::object a;
    for (auto& [k, v] : m.attributes) a[k] = v;
    o["Attributes"] = std::move(a);
  }
  if (!m.message_attributes.empty()) {
    o["MD5OfMessageAttributes"] = m.md5_of_message_attributes;
    json::object attrs;
    for (auto& a : m.message_attributes) {
      json::object v{{"DataType", a.data_type}};
      if (a.IsBinary()) {
        v["BinaryValue"] = Base64Encode(a.binary_value);
      } else {
        v["StringValue"] = a.string_value;
      }
      attrs[a.name] = std::move(v);
    }
    o["MessageAttributes"] = std::move(attrs);
  }
  return o;
}

// ReceiveMessage's attribute names: MessageSystemAttributeNames take botocore's
// MessageSystemAttributeName enum; the older AttributeNames take QueueAttributeName values too
// (which SQS accepts there and ignores for messages).
Status CheckReceiveAttributeNames(const std::vector<std::string>& names, bool queue_names_too) {
  static constexpr std::string_view kSystem[] = {"All",
                                                 "SenderId",
                                                 "SentTimestamp",
                                                 "ApproximateReceiveCount",
                                                 "ApproximateFirstReceiveTimestamp",
                                                 "SequenceNumber",
                                                 "MessageDeduplicationId",
                                                 "MessageGroupId",
                                                 "AWSTraceHeader",
                                                 "DeadLetterQueueSourceArn"};
  for (const auto& n : names) {
    bool ok = std::find(std::begin(kSystem), std::end(kSystem), n) != std::end(kSystem);
    if (!ok && queue_names_too) ok = queue::IsKnownQueueAttributeName(n);
    if (!ok) return QueueError(ErrorKind::kInvalidAttributeName, "Unknown Attribute " + n + ".");
  }
  return Status::Ok();
}

void ReceiveMessage(const json::object& in, const OpEnv& env, OpDone done) {
  auto request = [&]() -> StatusOr<queue::ReceiveRequest> {
    queue::ReceiveRequest r;
    BP_ASSIGN_OR_RETURN(r.queue, QueueRef(in, env));
    BP_ASSIGN_OR_RETURN(auto max, OptInt(in, "MaxNumberOfMessages"));
    r.max_messages = max.value_or(1);
    BP_ASSIGN_OR_RETURN(r.visibility_timeout, OptInt(in, "VisibilityTimeout"));
    BP_ASSIGN_OR_RETURN(r.wait_seconds, OptInt(in, "WaitTimeSeconds"));
    BP_ASSIGN_OR_RETURN(r.attribute_names, StringList(in, "AttributeNames"));
    BP_ASSIGN_OR_RETURN(auto system_names, StringList(in, "MessageSystemAttributeNames"));
    BP_RETURN_IF_ERROR(CheckReceiveAttributeNames(r.attribute_names, true));
    BP_RETURN_IF_ERROR(CheckReceiveAttributeNames(system_names, false));
    r.attribute_names.insert(r.attribute_names.end(), system_names.begin(), system_names.end());
    BP_ASSIGN_OR_RETURN(r.message_attribute_names, StringList(in, "MessageAttributeNames"));
    return r;
  }();
  if (!request.ok()) {
    done(request.status());
    return;
  }
  env.queues.ReceiveMessage(std::move(request).value(), [done = std::move(done)](auto result) {
    if (!result.ok()) {
      done(result.status());
      return;
    }
    json::object out;
    if (!result->empty()) {
      json::array messages;
      for (auto& m : *result) messages.push_back(MessageJson(m));
      out["Messages"] = std::move(messages);
    }
    done(std::move(out));
  });
}

}  // namespace

bool RunOperation(std::string_view op, const json::object& input, const OpEnv& env, OpDone done) {
  static const std::unordered_map<std::string_view, SyncHandler> kHandlers = {
      {"CreateQueue", CreateQueue},
      {"GetQueueUrl", GetQueueUrl},
      {"ListQueues", ListQueues},
      {"GetQueueAttributes", GetQueueAttributes},
      {"SetQueueAttributes", SetQueueAttributes},
      {"DeleteQueue", DeleteQueue},
      {"PurgeQueue", PurgeQueue},
      {"SendMessage", SendMessage},
      {"SendMessageBatch", SendMessageBatch},
      {"DeleteMessage", DeleteMessage},
      {"DeleteMessageBatch", DeleteMessageBatch},
      {"ChangeMessageVisibility", ChangeMessageVisibility},
      {"ChangeMessageVisibilityBatch", ChangeMessageVisibilityBatch},
  };
  if (op == "ReceiveMessage") {
    ReceiveMessage(input, env, std::move(done));
    return true;
  }
  auto it = kHandlers.find(op);
  if (it == kHandlers.end()) return RunQueueOperation(op, input, env, std::move(done));
  done(it->second(input, env));
  return true;
}

}  // namespace bp::api::sqs
