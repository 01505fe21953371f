// SQS error kinds carried inside bp::Status.
//
// The queue module has one error model: bp::Status. SQS distinguishes many more client errors than
// StatusCode has, so a queue error is a Status whose typed detail (DetailDomain::kQueue) is its
// ErrorKind; the api/sqs layer recovers the kind with ErrorKindOf() and maps it to AWS's JSON and
// Query error codes. A Status without that detail (store failures) has kind kNone and is an
// internal error.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace bp::queue {

enum class ErrorKind {
  kNone = 0,  // not a queue error (e.g. the store failed)
  kQueueDoesNotExist,
  kQueueNameExists,
  kInvalidParameterValue,
  kMissingParameter,
  kInvalidAttributeName,
  kInvalidAttributeValue,
  kInvalidMessageContents,
  kUnsupportedOperation,
  kReceiptHandleIsInvalid,
  kMessageNotInflight,
  kPurgeQueueInProgress,
  kBatchEntryIdsNotDistinct,
  kEmptyBatchRequest,
  kTooManyEntriesInBatchRequest,
  kInvalidBatchEntryId,
  kBatchRequestTooLong,
  kOverLimit,
  kResourceNotFound,  // ResourceNotFoundException (message move tasks)
};

// The SQS shape name, e.g. "QueueDoesNotExist" (empty for kNone).
std::string_view ErrorKindName(ErrorKind kind);

// Builds a queue error. The Status code is kNotFound for kQueueDoesNotExist, kAlreadyExists for
// kQueueNameExists, kLimitExceeded for kPurgeQueueInProgress/kOverLimit, else kValidation.
Status QueueError(ErrorKind kind, std::string_view message);

ErrorKind ErrorKindOf(const Status& status);

}  // namespace bp::queue
