#include "api/control_plane_handlers.h"

#include <boost/json.hpp>

#include "model/validation.h"
#include "pattern/pattern.h"

namespace bp::api {

namespace json = boost::json;

namespace {

using Method = StatusOr<json::object> (registry::Registry::*)(const json::object&);

void Add(EventsApi& api, registry::Registry& registry, const char* op, Method method) {
  api.Register(op, [&registry, method](const json::object& in, const RequestContext&,
                                       JsonReply reply) { reply((registry.*method)(in)); });
}

// TestEventPattern: {EventPattern, Event} -> {Result}. The event must carry the envelope fields
// AWS requires (id, account, source, time, region, detail-type); `resources` and `detail` may be
// absent, as on AWS. It may nest as deeply as an event PutEvents accepts.
StatusOr<json::object> TestEventPattern(const json::object& in) {
  model::Input input(in);
  BP_ASSIGN_OR_RETURN(auto pattern, input.String("EventPattern"));
  BP_ASSIGN_OR_RETURN(auto event, input.String("Event"));
  model::Validator v;
  v.NotNull("eventPattern", pattern.has_value());
  v.NotNull("event", event.has_value());
  if (pattern) v.Length("eventPattern", *pattern, 0, 4096);  // botocore's EventPattern shape
  BP_RETURN_IF_ERROR(v.Finish());
  json::parse_options opts;
  opts.max_depth = 1002;
  json::error_code ec;
  json::value ev = json::parse(*event, ec, {}, opts);
  if (ec || !ev.is_object()) return Status::Validation("Parameter Event is not valid.");
  for (const char* field : {"id", "account", "source", "time", "region", "detail-type"}) {
    if (!ev.as_object().contains(field)) {
      return Status::Validation("Parameter Event is not valid: the event must contain the field " +
                                std::string(field) + ".");
    }
  }
  BP_ASSIGN_OR_RETURN(bool matched, pattern::MatchesOne(*pattern, *event));
  json::object out;
  out["Result"] = matched;
  return out;
}

}  // namespace

void RegisterControlPlane(EventsApi& api, registry::Registry& r) {
  using R = registry::Registry;
  Add(api, r, "CreateEventBus", &R::CreateEventBus);
  Add(api, r, "DescribeEventBus", &R::DescribeEventBus);
  Add(api, r, "ListEventBuses", &R::ListEventBuses);
  Add(api, r, "DeleteEventBus", &R::DeleteEventBus);
  Add(api, r, "UpdateEventBus", &R::UpdateEventBus);
  Add(api, r, "PutRule", &R::PutRule);
  Add(api, r, "DescribeRule", &R::DescribeRule);
  Add(api, r, "ListRules", &R::ListRules);
  Add(api, r, "DeleteRule", &R::DeleteRule);
  Add(api, r, "EnableRule", &R::EnableRule);
  Add(api, r, "DisableRule", &R::DisableRule);
  Add(api, r, "ListRuleNamesByTarget", &R::ListRuleNamesByTarget);
  Add(api, r, "PutTargets", &R::PutTargets);
  Add(api, r, "RemoveTargets", &R::RemoveTargets);
  Add(api, r, "ListTargetsByRule", &R::ListTargetsByRule);
  Add(api, r, "CreateConnection", &R::CreateConnection);
  Add(api, r, "UpdateConnection", &R::UpdateConnection);
  Add(api, r, "DescribeConnection", &R::DescribeConnection);
  Add(api, r, "ListConnections", &R::ListConnections);
  Add(api, r, "DeleteConnection", &R::DeleteConnection);
  Add(api, r, "DeauthorizeConnection", &R::DeauthorizeConnection);
  Add(api, r, "CreateApiDestination", &R::CreateApiDestination);
  Add(api, r, "UpdateApiDestination", &R::UpdateApiDestination);
  Add(api, r, "DescribeApiDestination", &R::DescribeApiDestination);
  Add(api, r, "ListApiDestinations", &R::ListApiDestinations);
  Add(api, r, "DeleteApiDestination", &R::DeleteApiDestination);
  Add(api, r, "TagResource", &R::TagResource);
  Add(api, r, "UntagResource", &R::UntagResource);
  Add(api, r, "ListTagsForResource", &R::ListTagsForResource);
  Add(api, r, "PutPermission", &R::PutPermission);
  Add(api, r, "RemovePermission", &R::RemovePermission);
  api.Register("TestEventPattern", [](const json::object& in, const RequestContext&,
                                      JsonReply reply) { reply(TestEventPattern(in)); });
}

}  // namespace bp::api
