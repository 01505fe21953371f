// Why a delivery failed: the ERROR_CODE attribute of a dead-letter message (SPEC §9), the
// error_code of an attempt record and of the delivery metrics. One enum for every module that
// fails deliveries (transform when a payload or request cannot be built, delivery, pipes); a
// Status carries it as its DetailDomain::kDelivery detail (transform::MakeDeliveryError).
#pragma once

#include <cstdint>
#include <string_view>

namespace bp {

enum class DeliveryErrorCode : uint16_t {
  kNone = 0,               // "" (success)
  kErrorFromTarget,        // ERROR_FROM_TARGET: the endpoint answered with an error status
  kTimeout,                // TIMEOUT: no complete response within the destination's timeout
  kConnectionFailure,      // CONNECTION_FAILURE: DNS, connect, TLS or a reset connection
  kInternal,               // INTERNAL_ERROR
  kEgressDenied,           // [ext] EGRESS_DENIED: the egress policy refused the address
  kInvalidJson,            // INVALID_JSON: an InputTemplate rendered text that is not JSON
  kInvalidParameter,       // INVALID_PARAMETER: the payload, URL or headers cannot be built
  kNoPermissions,          // NO_PERMISSIONS: the connection is not authorized
  kThrottling,             // THROTTLING: the rate limit held the event beyond its maximum age
  kNoResource,             // NO_RESOURCE: the destination, queue or bus no longer exists
  kResourceLimitExceeded,  // RESOURCE_LIMIT_EXCEEDED: more than 5 bus-to-bus hops
};

// "ERROR_FROM_TARGET", ... ("" for kNone).
std::string_view DeliveryErrorCodeName(DeliveryErrorCode code);

}  // namespace bp
