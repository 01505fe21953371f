#include "queue/queue_errors.h"

#include <array>

namespace bp::queue {
namespace {

constexpr std::array<std::string_view, 19> kNames = {
    "",
    "QueueDoesNotExist",
    "QueueNameExists",
    "InvalidParameterValue",
    "MissingParameter",
    "InvalidAttributeName",
    "InvalidAttributeValue",
    "InvalidMessageContents",
    "UnsupportedOperation",
    "ReceiptHandleIsInvalid",
    "MessageNotInflight",
    "PurgeQueueInProgress",
    "BatchEntryIdsNotDistinct",
    "EmptyBatchRequest",
    "TooManyEntriesInBatchRequest",
    "InvalidBatchEntryId",
    "BatchRequestTooLong",
    "OverLimit",
    "ResourceNotFoundException",
};

}  // namespace

std::string_view ErrorKindName(ErrorKind kind) { return kNames[static_cast<size_t>(kind)]; }

Status QueueError(ErrorKind kind, std::string_view message) {
  StatusCode code = StatusCode::kValidation;
  switch (kind) {
    case ErrorKind::kQueueDoesNotExist:
    case ErrorKind::kResourceNotFound:
      code = StatusCode::kNotFound;
      break;
    case ErrorKind::kQueueNameExists:
      code = StatusCode::kAlreadyExists;
      break;
    case ErrorKind::kPurgeQueueInProgress:
    case ErrorKind::kOverLimit:
      code = StatusCode::kLimitExceeded;
      break;
    default:
      break;
  }
  return Status(code, std::string(message))
      .WithDetail(DetailDomain::kQueue, static_cast<uint16_t>(kind));
}

ErrorKind ErrorKindOf(const Status& status) {
  auto detail = status.Detail(DetailDomain::kQueue);
  if (!detail || *detail >= kNames.size()) return ErrorKind::kNone;
  return static_cast<ErrorKind>(*detail);
}


}  // namespace bp::queue
