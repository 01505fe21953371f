// AWS::Events::* resource types, planned as EventBridge control-plane calls.
#include <boost/json.hpp>

#include "cfn/intrinsics.h"
#include "cfn/resource_types.h"

namespace bp::cfn {

namespace json = boost::json;

namespace {

// A delete that finds nothing to delete has done its job (rollback after a crash may repeat it).
Status IgnoreMissing(StatusOr<json::object> r) {
  if (r.ok() || r.status().code() == StatusCode::kNotFound) return Status::Ok();
  return r.status();
}

// EventPattern may be given as an object (CloudFormation's usual form) or as a JSON string.
void PatternToString(json::object& in) {
  if (json::value* p = in.if_contains("EventPattern"); p && !p->is_string()) {
    *p = json::string(json::serialize(*p));
  }
}

std::string Str(const json::object& o, std::string_view k) { return PropString(o, k); }

// ---- AWS::Events::EventBus ----
StatusOr<Physical> CreateBus(const ProviderEnv& env, const std::string& name,
                             const json::object& props) {
  json::object in = Pick(
      props, {"Description", "DeadLetterConfig", "KmsKeyIdentifier", "Tags", "EventSourceName"});
  in["Name"] = name;
  BP_ASSIGN_OR_RETURN(json::object r, CallEvents(env, "CreateEventBus", in));
  Physical p;
  p.ref = name;
  p.attributes["Arn"] = r["EventBusArn"];
  p.attributes["Name"] = name;
  p.attributes["Policy"] = "";
  p.state["Name"] = name;
  return p;
}

StatusOr<Physical> UpdateBus(const ProviderEnv& env, const Physical& cur, const json::object&,
                             const json::object& props) {
  json::object in = Pick(props, {"Description", "DeadLetterConfig", "KmsKeyIdentifier"});
  in["Name"] = cur.ref;
  BP_ASSIGN_OR_RETURN(json::object r, CallEvents(env, "UpdateEventBus", in));
  return cur;
}

Status DeleteBus(const ProviderEnv& env, const Physical& cur) {
  return IgnoreMissing(CallEvents(env, "DeleteEventBus", {{"Name", cur.ref}}));
}

// ---- AWS::Events::Rule ----
Status PutTargets(const ProviderEnv& env, const std::string& rule, const std::string& bus,
                  const json::array& targets) {
  if (targets.empty()) return Status::Ok();
  json::object in{{"Rule", rule}, {"EventBusName", bus}, {"Targets", targets}};
  BP_ASSIGN_OR_RETURN(json::object r, CallEvents(env, "PutTargets", in));
  const json::value* failed = r.if_contains("FailedEntries");
  if (failed && failed->is_array() && !failed->as_array().empty()) {
    const json::object& f = failed->as_array()[0].as_object();
    return Status::Validation("Target " + Str(f, "TargetId") + " failed: " + Str(f, "ErrorCode") +
                              " " + Str(f, "ErrorMessage"));
  }
  return Status::Ok();
}

StatusOr<std::string> PutRule(const ProviderEnv& env, const std::string& name,
                              const json::object& props) {
  json::object in = Pick(props, {"EventPattern", "ScheduleExpression", "State", "Description",
                                 "RoleArn", "EventBusName"});
  in["Name"] = name;
  PatternToString(in);
  BP_ASSIGN_OR_RETURN(json::object r, CallEvents(env, "PutRule", in));
  return Str(r, "RuleArn");
}

std::string BusOf(const json::object& props) {
  std::string bus = PropString(props, "EventBusName");
  if (bus.starts_with("arn:")) bus = bus.substr(bus.rfind('/') + 1);
  return bus.empty() ? "default" : bus;
}

Status DeleteRule(const ProviderEnv& env, const Physical& cur);

StatusOr<Physical> CreateRule(const ProviderEnv& env, const std::string& name,
                              const json::object& props) {
  std::string bus = BusOf(props);
  BP_ASSIGN_OR_RETURN(std::string arn, PutRule(env, name, props));
  Physical p;
  p.ref = bus == "default" ? name : bus + "|" + name;
  p.attributes["Arn"] = arn;
  p.state["Name"] = name;
  p.state["EventBusName"] = bus;
  if (const json::value* t = props.if_contains("Targets"); t && t->is_array()) {
    Status s = PutTargets(env, name, bus, t->as_array());
    if (!s.ok()) {
      // A failed create leaves nothing behind: the rule goes again.
      DeleteRule(env, p).IgnoreError();
      return s;
    }
  }
  return p;
}

json::array TargetsOf(const json::object& props) {
  const json::value* t = props.if_contains("Targets");
  return t && t->is_array() ? t->as_array() : json::array();
}

StatusOr<Physical> UpdateRule(const ProviderEnv& env, const Physical& cur,
                              const json::object& old_props, const json::object& props) {
  std::string name = Str(cur.state, "Name"), bus = Str(cur.state, "EventBusName");
  BP_ASSIGN_OR_RETURN(std::string arn, PutRule(env, name, props));
  json::array old_targets = TargetsOf(old_props), new_targets = TargetsOf(props);
  json::array removed, changed;
  for (const auto& o : old_targets) {
    std::string id = Str(o.as_object(), "Id");
    bool kept = std::any_of(new_targets.begin(), new_targets.end(),
                            [&](const json::value& n) { return Str(n.as_object(), "Id") == id; });
    if (!kept) removed.push_back(json::string(id));
  }
  for (const auto& n : new_targets) {
    bool same = std::any_of(old_targets.begin(), old_targets.end(),
                            [&](const json::value& o) { return o == n; });
    if (!same) changed.push_back(n);
  }
  if (!removed.empty()) {
    json::object in{{"Rule", name}, {"EventBusName", bus}, {"Ids", removed}};
    BP_ASSIGN_OR_RETURN(json::object r, CallEvents(env, "RemoveTargets", in));
  }
  BP_RETURN_IF_ERROR(PutTargets(env, name, bus, changed));
  Physical p = cur;
  p.attributes["Arn"] = arn;
  return p;
}

Status DeleteRule(const ProviderEnv& env, const Physical& cur) {
  std::string name = Str(cur.state, "Name"), bus = Str(cur.state, "EventBusName");
  auto list = CallEvents(env, "ListTargetsByRule", {{"Rule", name}, {"EventBusName", bus}});
  if (!list.ok()) return IgnoreMissing(list);
  json::array ids;
  if (const json::value* t = list->if_contains("Targets"); t && t->is_array()) {
    for (const auto& target : t->as_array()) ids.push_back(target.as_object().at("Id"));
  }
  if (!ids.empty()) {
    BP_RETURN_IF_ERROR(IgnoreMissing(
        CallEvents(env, "RemoveTargets", {{"Rule", name}, {"EventBusName", bus}, {"Ids", ids}})));
  }
  return IgnoreMissing(CallEvents(env, "DeleteRule", {{"Name", name}, {"EventBusName", bus}}));
}

// ---- AWS::Events::Connection ----
StatusOr<Physical> CreateConnection(const ProviderEnv& env, const std::string& name,
                                    const json::object& props) {
  json::object in = Pick(props, {"Description", "AuthorizationType", "AuthParameters",
                                 "InvocationConnectivityParameters", "KmsKeyIdentifier"});
  in["Name"] = name;
  BP_ASSIGN_OR_RETURN(json::object r, CallEvents(env, "CreateConnection", in));
  BP_ASSIGN_OR_RETURN(json::object d, CallEvents(env, "DescribeConnection", {{"Name", name}}));
  Physical p;
  p.ref = name;
  p.attributes["Arn"] = r["ConnectionArn"];
  p.attributes["ArnForPolicy"] = r["ConnectionArn"];
  p.attributes["SecretArn"] = json::string(Str(d, "SecretArn"));
  p.state["Name"] = name;
  return p;
}

StatusOr<Physical> UpdateConnection(const ProviderEnv& env, const Physical& cur,
                                    const json::object&, const json::object& props) {
  json::object in = Pick(props, {"Description", "AuthorizationType", "AuthParameters",
                                 "InvocationConnectivityParameters"});
  in["Name"] = cur.ref;
  BP_ASSIGN_OR_RETURN(json::object r, CallEvents(env, "UpdateConnection", in));
  return cur;
}

Status DeleteConnection(const ProviderEnv& env, const Physical& cur) {
  return IgnoreMissing(CallEvents(env, "DeleteConnection", {{"Name", cur.ref}}));
}

// ---- AWS::Events::ApiDestination ----
StatusOr<Physical> CreateDestination(const ProviderEnv& env, const std::string& name,
                                     const json::object& props) {
  json::object in = Pick(props, {"Description", "ConnectionArn", "InvocationEndpoint", "HttpMethod",
                                 "InvocationRateLimitPerSecond"});
  in["Name"] = name;
  BP_ASSIGN_OR_RETURN(json::object r, CallEvents(env, "CreateApiDestination", in));
  Physical p;
  p.ref = name;
  p.attributes["Arn"] = r["ApiDestinationArn"];
  p.attributes["ArnForPolicy"] = r["ApiDestinationArn"];
  p.state["Name"] = name;
  return p;
}

StatusOr<Physical> UpdateDestination(const ProviderEnv& env, const Physical& cur,
                                     const json::object&, const json::object& props) {
  json::object in = Pick(props, {"Description", "ConnectionArn", "InvocationEndpoint", "HttpMethod",
                                 "InvocationRateLimitPerSecond"});
  in["Name"] = cur.ref;
  BP_ASSIGN_OR_RETURN(json::object r, CallEvents(env, "UpdateApiDestination", in));
  return cur;
}

Status DeleteDestination(const ProviderEnv& env, const Physical& cur) {
  return IgnoreMissing(CallEvents(env, "DeleteApiDestination", {{"Name", cur.ref}}));
}

// ---- AWS::Events::Archive (through the archive API when this build has it) ----
StatusOr<Physical> CreateArchive(const ProviderEnv& env, const std::string& name,
                                 const json::object& props) {
  if (!env.events->Has("CreateArchive")) {
    return Status::Validation(
        "AWS::Events::Archive needs the archive API (CreateArchive), "
        "which this Bridgeport server does not provide.");
  }
  json::object in = Pick(props, {"Description", "EventPattern", "RetentionDays"});
  in["ArchiveName"] = name;
  in["EventSourceArn"] = json::string(PropString(props, "SourceArn"));
  PatternToString(in);
  BP_ASSIGN_OR_RETURN(json::object r, CallEvents(env, "CreateArchive", in));
  Physical p;
  p.ref = name;
  p.attributes["Arn"] = r["ArchiveArn"];
  p.state["Name"] = name;
  return p;
}

StatusOr<Physical> UpdateArchive(const ProviderEnv& env, const Physical& cur, const json::object&,
                                 const json::object& props) {
  json::object in = Pick(props, {"Description", "EventPattern", "RetentionDays"});
  in["ArchiveName"] = cur.ref;
  PatternToString(in);
  BP_ASSIGN_OR_RETURN(json::object r, CallEvents(env, "UpdateArchive", in));
  return cur;
}

Status DeleteArchive(const ProviderEnv& env, const Physical& cur) {
  if (!env.events->Has("DeleteArchive")) return Status::Ok();
  return IgnoreMissing(CallEvents(env, "DeleteArchive", {{"ArchiveName", cur.ref}}));
}

}  // namespace

void AddEventsTypes(std::vector<ResourceType>& out) {
  out.push_back({.type = "AWS::Events::EventBus",
                 .name_property = "Name",
                 .name_max = 256,
                 .replace_on = {"Name", "EventSourceName"},
                 .create = CreateBus,
                 .update = UpdateBus,
                 .remove = DeleteBus});
  out.push_back({.type = "AWS::Events::Rule",
                 .name_property = "Name",
                 .name_max = 64,
                 .replace_on = {"Name", "EventBusName"},
                 .create = CreateRule,
                 .update = UpdateRule,
                 .remove = DeleteRule});
  out.push_back({.type = "AWS::Events::Connection",
                 .name_property = "Name",
                 .name_max = 64,
                 .replace_on = {"Name"},
                 .create = CreateConnection,
                 .update = UpdateConnection,
                 .remove = DeleteConnection});
  out.push_back({.type = "AWS::Events::ApiDestination",
                 .name_property = "Name",
                 .name_max = 64,
                 .replace_on = {"Name"},
                 .create = CreateDestination,
                 .update = UpdateDestination,
                 .remove = DeleteDestination});
  out.push_back({.type = "AWS::Events::Archive",
                 .name_property = "ArchiveName",
                 .name_max = 48,
                 .replace_on = {"ArchiveName", "SourceArn"},
                 .create = CreateArchive,
                 .update = UpdateArchive,
                 .remove = DeleteArchive});
}

}  // namespace bp::cfn
