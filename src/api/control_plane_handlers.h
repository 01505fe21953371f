// Registers the control-plane operations (buses, rules, targets, connections, destinations, tags)
// and TestEventPattern on an EventsApi.
#pragma once

#include "api/events_api.h"
#include "registry/registry.h"

namespace bp::api {

void RegisterControlPlane(EventsApi& api, registry::Registry& registry);

}  // namespace bp::api
