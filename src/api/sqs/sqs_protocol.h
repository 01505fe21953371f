// Internals of the SQS frontend shared by its .cc files: operation handlers working on JSON-shaped
// input, the Query <-> JSON-shape conversions, and the error mapping.
#pragma once

#include <boost/json.hpp>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "queue/queue_service.h"

namespace bp::api::sqs {

// Operation input/output in the AWS JSON 1.0 shape; Query requests are converted into it and
// results are rendered from it as XML.
using OpResult = StatusOr<boost::json::object>;
using OpDone = std::function<void(OpResult)>;

struct OpEnv {
  queue::QueueService& queues;
  std::string base_url;    // "{scheme}://{host}"
  std::string path_queue;  // queue URL taken from the request path, used when QueueUrl is absent
};

// Runs operation `op` and calls `done` exactly once. Returns false (without calling `done`) if the
// operation is unknown.
bool RunOperation(std::string_view op, const boost::json::object& input, const OpEnv& env,
                  OpDone done);

// Typed access to request members (sqs_operations.cc); errors are SQS's MissingParameter and
// InvalidParameterValue. Integers may arrive as JSON numbers or (Query) decimal strings.
Status Missing(std::string_view name);
Status Invalid(std::string_view name, std::string_view reason);
StatusOr<std::optional<std::string>> OptString(const boost::json::object& in,
                                               std::string_view name);
StatusOr<std::string> ReqString(const boost::json::object& in, std::string_view name);
StatusOr<std::optional<int>> OptInt(const boost::json::object& in, std::string_view name);
StatusOr<std::vector<std::string>> StringList(const boost::json::object& in, std::string_view name);
StatusOr<queue::QueueAttributes> StringMap(const boost::json::object& in, std::string_view name);
// The queue addressed by the request: QueueUrl, else the URL path the request was sent to.
StatusOr<std::string> QueueRef(const boost::json::object& in, const OpEnv& env);

// Tags, message move tasks and ListDeadLetterSourceQueues (sqs_queue_ops.cc). Returns false if
// `op` is not one of them.
bool RunQueueOperation(std::string_view op, const boost::json::object& input, const OpEnv& env,
                       OpDone done);

struct WireError {
  int http_status = 400;
  std::string type;        // JSON `__type` suffix after "com.amazonaws.sqs#"
  std::string query_code;  // Query <Code> and x-amzn-query-error
  bool sender_fault = true;
  std::string message;
};

WireError ToWireError(const Status& status);
// Code used in a batch result's Failed entry.
std::string BatchErrorCode(queue::ErrorKind kind);

// Converts Query parameters (`Attribute.1.Name=...`, `SendMessageBatchRequestEntry.2.Id=...`)
// into the JSON protocol's input shape. Action, Version and auth parameters are dropped.
boost::json::object QueryToInput(const std::vector<std::pair<std::string, std::string>>& params);

std::string ResultToXml(std::string_view op, const boost::json::object& result,
                        std::string_view request_id);
std::string ErrorToXml(const WireError& error, std::string_view request_id);

std::string Base64Encode(std::string_view in);
std::optional<std::string> Base64Decode(std::string_view in);

}  // namespace bp::api::sqs
