// The SQS Query protocol: flattened form parameters in, XML out; plus base64 and error mapping.
#include <algorithm>
#include <array>
#include <charconv>

#include "api/sqs/sqs_protocol.h"

namespace bp::api::sqs {
namespace {

namespace json = boost::json;

// Query names of list members (`AttributeName.1`) and their JSON member names.
struct Rename {
  std::string_view query, json;
};
constexpr std::array<Rename, 4> kLists = {{
    {"AttributeName", "AttributeNames"},
    {"MessageAttributeName", "MessageAttributeNames"},
    {"MessageSystemAttributeName", "MessageSystemAttributeNames"},
    {"TagKey", "TagKeys"},
}};
// Query names of maps given as `X.N.Name`/`X.N.Value` (or Key/Value) and their JSON names.
constexpr std::array<Rename, 4> kMaps = {{
    {"Attribute", "Attributes"},
    {"MessageAttribute", "MessageAttributes"},
    {"MessageSystemAttribute", "MessageSystemAttributes"},
    {"Tag", "tags"},
}};
constexpr std::array<std::string_view, 3> kEntryLists = {
    "SendMessageBatchRequestEntry", "DeleteMessageBatchRequestEntry",
    "ChangeMessageVisibilityBatchRequestEntry"};

bool IsIndex(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

int IndexOf(std::string_view s) {
  int v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

// The children of an indexed node (`1`, `2`, ...) in index order.
std::vector<const json::value*> Indexed(const json::value& node) {
  std::vector<std::pair<int, const json::value*>> items;
  if (node.is_object()) {
    for (const auto& kv : node.as_object()) {
      if (IsIndex(kv.key())) items.emplace_back(IndexOf(kv.key()), &kv.value());
    }
  }
  std::sort(items.begin(), items.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<const json::value*> out;
  for (const auto& [i, v] : items) out.push_back(v);
  return out;
}

json::value Convert(const json::value& node);

json::object ConvertObject(const json::object& node) {
  json::object out;
  for (const auto& kv : node) {
    std::string_view key = kv.key();
    const json::value& v = kv.value();
    bool done = false;
    for (const auto& r : kLists) {
      if (key != r.query) continue;
      json::array list;
      if (v.is_string()) {
        list.push_back(v);  // `AttributeName=All` without an index
      } else {
        for (const auto* item : Indexed(v)) list.push_back(Convert(*item));
      }
      out[r.json] = std::move(list);
      done = true;
    }
    for (const auto& r : kMaps) {
      if (done || key != r.query) continue;
      json::object map;
      for (const auto* item : Indexed(v)) {
        if (!item->is_object()) continue;
        const auto& e = item->as_object();
        const json::value* name = e.if_contains("Name");
        if (!name) name = e.if_contains("Key");
        const json::value* value = e.if_contains("Value");
        if (name && name->is_string()) {
          map[name->as_string()] = value ? Convert(*value) : json::value("");
        }
      }
      out[r.json] = std::move(map);
      done = true;
    }
    for (auto entry : kEntryLists) {
      if (done || key != entry) continue;
      json::array list;
      for (const auto* item : Indexed(v)) list.push_back(Convert(*item));
      out["Entries"] = std::move(list);
      done = true;
    }
    if (!done) out[key] = Convert(v);
  }
  return out;
}

json::value Convert(const json::value& node) {
  if (node.is_object()) return ConvertObject(node.as_object());
  return node;
}

bool IsAuthParameter(std::string_view k) {
  return k == "Action" || k == "Version" || k == "AWSAccessKeyId" || k == "Signature" ||
         k == "SignatureMethod" || k == "SignatureVersion" || k == "Timestamp" || k == "Expires" ||
         k == "SecurityToken" || k.starts_with("X-Amz-");
}

void AppendEscaped(std::string& out, std::string_view s) {
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      case '\r':
        out += "&#xD;";
        break;  // a raw CR would be normalised away by XML parsers
      default:
        out += c;
    }
  }
}

void AppendScalar(std::string& out, const json::value& v) {
  if (v.is_string()) {
    AppendEscaped(out, v.as_string());
  } else if (v.is_bool()) {
    out += v.as_bool() ? "true" : "false";
  } else {
    out += json::serialize(v);
  }
}

void AppendElement(std::string& out, std::string_view name, const json::value& v,
                   std::string_view op);

// Member names rendered as repeated (flattened) elements, by JSON name.
std::string_view FlatName(std::string_view json_name, std::string_view op) {
  if (json_name == "QueueUrls" || json_name == "queueUrls") return "QueueUrl";
  if (json_name == "Messages") return "Message";
  if (json_name == "Results") return "ListMessageMoveTasksResultEntry";
  if (json_name == "Failed") return "BatchResultErrorEntry";
  if (json_name == "Successful") {
    if (op == "SendMessageBatch") return "SendMessageBatchResultEntry";
    if (op == "DeleteMessageBatch") return "DeleteMessageBatchResultEntry";
    return "ChangeMessageVisibilityBatchResultEntry";
  }
  return json_name;
}

void AppendMembers(std::string& out, const json::object& o, std::string_view op) {
  for (const auto& kv : o) {
    std::string_view key = kv.key();
    const json::value& v = kv.value();
    if (v.is_array()) {
      for (const auto& item : v.as_array()) AppendElement(out, FlatName(key, op), item, op);
    } else if ((key == "Attributes" || key == "MessageAttributes" || key == "Tags") &&
               v.is_object()) {
      std::string_view entry = key == "Attributes"          ? "Attribute"
                               : key == "MessageAttributes" ? "MessageAttribute"
                                                            : "Tag";
      std::string_view name_tag = key == "Tags" ? "Key" : "Name";
      for (const auto& e : v.as_object()) {
        out += "<";
        out += entry;
        out += "><";
        out += name_tag;
        out += ">";
        AppendEscaped(out, e.key());
        out += "</";
        out += name_tag;
        out += ">";
        AppendElement(out, "Value", e.value(), op);
        out += "</";
        out += entry;
        out += ">";
      }
    } else {
      AppendElement(out, key, v, op);
    }
  }
}

void AppendElement(std::string& out, std::string_view name, const json::value& v,
                   std::string_view op) {
  out += "<";
  out += name;
  out += ">";
  if (v.is_object()) {
    AppendMembers(out, v.as_object(), op);
  } else {
    AppendScalar(out, v);
  }
  out += "</";
  out += name;
  out += ">";
}

constexpr std::string_view kB64 =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

}  // namespace

json::object QueryToInput(const std::vector<std::pair<std::string, std::string>>& params) {
  // First build a tree from the dotted names, then rename the flattened shapes.
  json::object tree;
  for (const auto& [key, value] : params) {
    if (IsAuthParameter(key)) continue;
    json::object* node = &tree;
    std::string_view rest = key;
    while (true) {
      size_t dot = rest.find('.');
      std::string_view seg = rest.substr(0, dot);
      if (dot == std::string_view::npos) {
        (*node)[seg] = value;
        break;
      }
      json::value& child = (*node)[seg];
      if (!child.is_object()) child = json::object();
      node = &child.as_object();
      rest.remove_prefix(dot + 1);
    }
  }
  return ConvertObject(tree);
}

std::string ResultToXml(std::string_view op, const json::object& result,
                        std::string_view request_id) {
  std::string out = R"(<?xml version="1.0"?><)";
  out += op;
  out += R"(Response xmlns="http://queue.amazonaws.com/doc/2012-11-05/">)";
  bool has_result = !result.empty() || op == "ReceiveMessage" || op == "ListQueues" ||
                    op == "GetQueueAttributes" || op == "ListDeadLetterSourceQueues" ||
                    op == "ListQueueTags" || op == "ListMessageMoveTasks";
  if (has_result) {
    out += "<";
    out += op;
    out += "Result>";
    AppendMembers(out, result, op);
    out += "</";
    out += op;
    out += "Result>";
  }
  out += "<ResponseMetadata><RequestId>";
  AppendEscaped(out, request_id);
  out += "</RequestId></ResponseMetadata></";
  out += op;
  out += "Response>";
  return out;
}

std::string ErrorToXml(const WireError& e, std::string_view request_id) {
  std::string out =
      R"(<?xml version="1.0"?><ErrorResponse xmlns="http://queue.amazonaws.com/doc/2012-11-05/"><Error><Type>)";
  out += e.sender_fault ? "Sender" : "Receiver";
  out += "</Type><Code>";
  AppendEscaped(out, e.query_code);
  out += "</Code><Message>";
  AppendEscaped(out, e.message);
  out += "</Message><Detail/></Error><RequestId>";
  AppendEscaped(out, request_id);
  out += "</RequestId></ErrorResponse>";
  return out;
}

std::string BatchErrorCode(queue::ErrorKind kind) {
  return ToWireError(queue::QueueError(kind, "")).query_code;
}

WireError ToWireError(const Status& status) {
  using queue::ErrorKind;
  WireError e;
  ErrorKind kind = queue::ErrorKindOf(status);
  e.message = status.message();
  if (kind == ErrorKind::kNone) {
    if (status.code() == StatusCode::kUnavailable || status.code() == StatusCode::kThrottled) {
      e.http_status = 503;
      e.type = e.query_code = "ServiceUnavailable";
    } else {
      e.http_status = 500;
      e.type = e.query_code = "InternalError";
    }
    e.sender_fault = false;
    e.message = "We encountered an internal error. Please try again.";
    return e;
  }
  e.type = std::string(queue::ErrorKindName(kind));
  switch (kind) {
    case ErrorKind::kQueueDoesNotExist:
      e.query_code = "AWS.SimpleQueueService.NonExistentQueue";
      break;
    case ErrorKind::kQueueNameExists:
      e.query_code = "QueueAlreadyExists";
      break;
    case ErrorKind::kUnsupportedOperation:
    case ErrorKind::kMessageNotInflight:
    case ErrorKind::kPurgeQueueInProgress:
    case ErrorKind::kBatchEntryIdsNotDistinct:
    case ErrorKind::kEmptyBatchRequest:
    case ErrorKind::kTooManyEntriesInBatchRequest:
    case ErrorKind::kInvalidBatchEntryId:
    case ErrorKind::kBatchRequestTooLong:
      e.query_code = "AWS.SimpleQueueService." + e.type;
      break;
    default:
      e.query_code = e.type;
  }
  return e;
}

std::string Base64Encode(std::string_view in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t n = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    out += kB64[n >> 18];
    out += kB64[(n >> 12) & 63];
    out += kB64[(n >> 6) & 63];
    out += kB64[n & 63];
  }
  if (i + 1 == in.size()) {
    uint32_t n = uint8_t(in[i]) << 16;
    out += kB64[n >> 18];
    out += kB64[(n >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    uint32_t n = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8);
    out += kB64[n >> 18];
    out += kB64[(n >> 12) & 63];
    out += kB64[(n >> 6) & 63];
    out += '=';
  }
  return out;
}

std::optional<std::string> Base64Decode(std::string_view in) {
  while (!in.empty() && in.back() == '=') in.remove_suffix(1);
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    size_t v = kB64.find(c);
    if (v == std::string_view::npos) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  if (bits >= 6) return std::nullopt;  // a lone trailing character cannot encode a byte
  return out;
}

}  // namespace bp::api::sqs
