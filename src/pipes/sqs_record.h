// The record a pipe makes of one SQS message, as AWS Pipes builds it for an SQS source.
#pragma once

#include <string>

#include "queue/queue_service.h"

namespace bp::pipes {

struct SqsRecord {
  std::string message_id;
  std::string receipt_handle;
  // What targets and `<aws.pipes.event>` see: the body as the original string.
  std::string event_json;
  // What filters, `$.` paths and `<aws.pipes.event.json>` see: a body that is a JSON object or
  // array is decoded in place (implicit body parsing).
  std::string view_json;
};

SqsRecord MakeSqsRecord(const queue::ReceivedMessage& m, const std::string& queue_arn,
                        const std::string& region);

}  // namespace bp::pipes
