#include "common/delivery_error_code.h"

namespace bp {

std::string_view DeliveryErrorCodeName(DeliveryErrorCode code) {
  switch (code) {
    case DeliveryErrorCode::kNone:
      return "";
    case DeliveryErrorCode::kErrorFromTarget:
      return "ERROR_FROM_TARGET";
    case DeliveryErrorCode::kTimeout:
      return "TIMEOUT";
    case DeliveryErrorCode::kConnectionFailure:
      return "CONNECTION_FAILURE";
    case DeliveryErrorCode::kInternal:
      return "INTERNAL_ERROR";
    case DeliveryErrorCode::kEgressDenied:
      return "EGRESS_DENIED";
    case DeliveryErrorCode::kInvalidJson:
      return "INVALID_JSON";
    case DeliveryErrorCode::kInvalidParameter:
      return "INVALID_PARAMETER";
    case DeliveryErrorCode::kNoPermissions:
      return "NO_PERMISSIONS";
    case DeliveryErrorCode::kThrottling:
      return "THROTTLING";
    case DeliveryErrorCode::kNoResource:
      return "NO_RESOURCE";
    case DeliveryErrorCode::kResourceLimitExceeded:
      return "RESOURCE_LIMIT_EXCEEDED";
  }
  return "INTERNAL_ERROR";
}

}  // namespace bp
