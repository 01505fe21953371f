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
  std::string text = "[";
  text += ErrorKindName(kind);
  text += "] ";
  text += message;
  return Status(code, std::move(text));
}

ErrorKind ErrorKindOf(const Status& status) {
  std::string_view m = status.message();
  if (status.ok() || m.size() < 3 || m[0] != '[') return ErrorKind::kNone;
  size_t close = m.find("] ");
  if (close == std::string_view::npos) return ErrorKind::kNone;
  std::string_view name = m.substr(1, close - 1);
  for (size_t i = 1; i < kNames.size(); ++i) {
    if (kNames[i] == name) return static_cast<ErrorKind>(i);
  }
  return ErrorKind::kNone;
}

std::string_view ErrorMessageOf(const Status& status) {
  std::string_view m = status.message();
  if (ErrorKindOf(status) == ErrorKind::kNone) return m;
  return m.substr(m.find("] ") + 2);
}

}  // namespace bp::queue
