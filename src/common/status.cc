#include "common/status.h"

namespace bp {

std::string_view StatusCodeName(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return "OK";
    case StatusCode::kValidation:
      return "Validation";
    case StatusCode::kSerialization:
      return "Serialization";
    case StatusCode::kNotFound:
      return "NotFound";
    case StatusCode::kAlreadyExists:
      return "AlreadyExists";
    case StatusCode::kLimitExceeded:
      return "LimitExceeded";
    case StatusCode::kInvalidEventPattern:
      return "InvalidEventPattern";
    case StatusCode::kConcurrentModification:
      return "ConcurrentModification";
    case StatusCode::kIllegalStatus:
      return "IllegalStatus";
    case StatusCode::kInvalidState:
      return "InvalidState";
    case StatusCode::kOperationDisabled:
      return "OperationDisabled";
    case StatusCode::kPolicyLengthExceeded:
      return "PolicyLengthExceeded";
    case StatusCode::kThrottled:
      return "Throttled";
    case StatusCode::kUnavailable:
      return "Unavailable";
    case StatusCode::kIoError:
      return "IoError";
    case StatusCode::kCorruption:
      return "Corruption";
    case StatusCode::kInternal:
      return "Internal";
  }
  return "Unknown";
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  std::string out(StatusCodeName(code_));
  out += ": ";
  out += message_;
  return out;
}

}  // namespace bp
