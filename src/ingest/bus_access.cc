#include "ingest/bus_access.h"

#include <boost/json.hpp>

#include "model/arn.h"
#include "model/arn_patterns.h"
#include "model/validation.h"

namespace bp::ingest {

namespace {

constexpr std::string_view kNonPartnerPattern =
    "(arn:aws[\\w-]*:events:[a-z]+-[a-z]+-[\\w-]+:[0-9]{12}:event-bus\\/)?[\\.\\-_A-Za-z0-9]+";

// NonPartnerEventBusNameOrArn: EventBusNameOrArn without '/' in the bus name.
bool IsNonPartnerBusNameOrArn(std::string_view v) {
  if (!model::IsEventBusNameOrArn(v)) return false;
  std::string_view name = v;
  if (v.rfind("arn:", 0) == 0) name = v.substr(v.find(":event-bus/") + 11);
  return name.find('/') == std::string_view::npos;
}

}  // namespace

Status ValidateEntryBusNames(const boost::json::array& entries) {
  model::Validator v;
  for (size_t i = 0; i < entries.size(); ++i) {
    const auto* o = entries[i].if_object();
    const boost::json::value* b = o ? o->if_contains("EventBusName") : nullptr;
    if (!b || !b->is_string()) continue;
    std::string_view name = b->as_string();
    const std::string field = "entries." + std::to_string(i + 1) + ".member.eventBusName";
    v.Length(field, name, 1, 1600);
    if (!name.empty() && name.size() <= 1600) {
      v.Pattern(field, name, IsNonPartnerBusNameOrArn(name), kNonPartnerPattern);
    }
  }
  return v.Finish();
}

EntryBus ResolveEntryBus(std::string_view bus_text, const Caller& caller,
                         const model::Partition& partition, const registry::Registry& registry) {
  EntryBus out;
  const bool foreign = !caller.account.empty() && caller.account != partition.account;
  std::string bus = bus_text.empty() ? "default" : std::string(bus_text);
  if (bus.rfind("arn:", 0) == 0) {
    auto parsed = model::ParseArn(bus);
    if (!parsed || parsed->account != partition.account || parsed->region != partition.region) {
      out.error_code = "ResourceNotFoundException";
      out.error_message = "Event bus " + bus + " does not exist.";
      return out;
    }
    bus = parsed->rest;
  } else if (foreign) {
    // A plain name is a bus of the caller's own account, which this server does not hold.
    out.error_code = "ResourceNotFoundException";
    out.error_message = "Event bus " + bus + " does not exist in account " + caller.account + ".";
    return out;
  }
  out.routes = registry.Routes(bus);
  if (!out.routes) {
    out.error_code = "ResourceNotFoundException";
    out.error_message = "Event bus " + bus + " does not exist.";
    return out;
  }
  if (foreign && !registry::PolicyAllowsPutEvents(out.routes->policy, out.routes->arn,
                                                  caller.account, caller.organization)) {
    out.error_code = "AccessDeniedException";
    out.error_message =
        "User: arn:aws:iam::" + caller.account +
        ":root is not authorized to perform: events:PutEvents on resource: " + out.routes->arn +
        " because no resource-based policy allows it.";
    out.routes.reset();
  }
  return out;
}

}  // namespace bp::ingest
