// PutEvents: which bus an entry goes to, and whether its caller may put events there.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"
#include "registry/registry.h"

namespace bp::ingest {

// The account that signed the request (from the access key's configuration) and its
// organization. An empty account is the server's own account.
struct Caller {
  std::string account;
  std::string organization;
};

struct EntryBus {
  std::shared_ptr<const registry::BusRoutes> routes;  // null on error
  std::string error_code, error_message;
};

// Resolves an entry's EventBusName (empty: "default"), already checked against the model's
// pattern. A bus ARN of another account or region, or an unknown bus, is ResourceNotFoundException;
// a caller from another account needs the bus's policy (PutPermission) to allow it
// (AccessDeniedException otherwise) and, as on AWS, can name the bus only by its ARN.
EntryBus ResolveEntryBus(std::string_view bus_text, const Caller& caller,
                         const model::Partition& partition, const registry::Registry& registry);

// Whole-request check of every entry's EventBusName against NonPartnerEventBusNameOrArn
// (ValidationException as AWS words it).
[[nodiscard]] Status ValidateEntryBusNames(const boost::json::array& entries);

}  // namespace bp::ingest
