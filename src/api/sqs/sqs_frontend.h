// SqsFrontend: the SQS wire protocols in front of queue::QueueService.
//
// Speaks AWS JSON 1.0 (`X-Amz-Target: AmazonSQS.<Op>`, to "/" or a queue URL) and the SQS Query
// protocol (form `Action=<Op>&Version=2012-11-05`, XML replies). Both decode into the same
// operation handlers. Errors are AWS-shaped: JSON `__type` + `x-amzn-query-error`, or Query
// `<ErrorResponse>`; every reply carries `x-amzn-RequestId`. SigV4 is verified before Handle.
//
// Threads: Handle may be called on any io thread concurrently. Most operations reply before
// Handle returns (after their store write is durable); a long-polling ReceiveMessage replies
// later from the queue service's threads, without blocking the io thread.
#pragma once

#include <string>

#include "http/server.h"
#include "queue/queue_service.h"

namespace bp::api::sqs {

struct SqsContext {
  std::string region = "us-east-1";
  std::string account = "000000000000";
};

class SqsFrontend {
 public:
  SqsFrontend(queue::QueueService& queues, SqsContext context)
      : queues_(queues), context_(std::move(context)) {}

  // True if the request is for the SQS API: `X-Amz-Target: AmazonSQS.*`, or a form-encoded body
  // (or GET query string) with an `Action` parameter.
  static bool Accepts(const http::Request& request);

  // Calls `respond` exactly once.
  void Handle(http::Request&& request, std::string request_id, http::Responder respond);

 private:
  queue::QueueService& queues_;
  const SqsContext context_;
};

}  // namespace bp::api::sqs
