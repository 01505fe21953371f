// AWS::Pipes::Pipe, planned as calls on the Pipes service (which does every validation), and
// AWS::Events::EventBusPolicy through PutPermission/RemovePermission.
#include <boost/json.hpp>
#include <chrono>
#include <thread>

#include "cfn/intrinsics.h"
#include "cfn/resource_types.h"
#include "common/ids.h"
#include "pipes/pipe_service.h"

namespace bp::cfn {

namespace json = boost::json;

namespace {

// How long a pipe may stay in a transitional state before the resource fails. The control thread
// settles a transition in milliseconds; the bound only keeps a stuck pipe from hanging the stack.
constexpr auto kSettleDeadline = std::chrono::seconds(60);
constexpr auto kPollInterval = std::chrono::milliseconds(50);

// The pipe members a template passes on unchanged (their names match the Pipes API).
constexpr std::string_view kPipeMembers[] = {
    "Description",      "DesiredState",    "Enrichment",       "EnrichmentParameters",
    "Target",           "RoleArn",         "TargetParameters", "SourceParameters",
    "LogConfiguration", "KmsKeyIdentifier"};

bool Transitional(std::string_view state) {
  return state == "CREATING" || state == "UPDATING" || state == "DELETING" || state == "STARTING" ||
         state == "STOPPING";
}

std::string TimeText(const json::value* v) {
  if (v == nullptr || !v->is_number()) return "";
  return FormatIso8601(static_cast<int64_t>(v->to_number<double>()));
}

Status NeedPipes(const ProviderEnv& env) {
  if (env.pipes != nullptr) return Status::Ok();
  return Status::Validation("AWS::Pipes::Pipe needs the Pipes service, which is not running.");
}

// Polls DescribePipe until the pipe leaves its transitional state. NotFound is returned as is
// (the caller decides whether a vanished pipe is success).
StatusOr<json::object> Settle(const ProviderEnv& env, const std::string& name) {
  auto deadline = std::chrono::steady_clock::now() + kSettleDeadline;
  for (;;) {
    BP_ASSIGN_OR_RETURN(json::object d, env.pipes->DescribePipe(name));
    std::string state = PropString(d, "CurrentState");
    if (!Transitional(state)) return d;
    if (std::chrono::steady_clock::now() >= deadline) {
      return Status::Unavailable("Pipe " + name + " stayed in state " + state + ".");
    }
    std::this_thread::sleep_for(kPollInterval);
  }
}

// A settled pipe as Ref/GetAtt values; a *_FAILED state is the resource's failure.
StatusOr<Physical> PipePhysical(const std::string& name, const json::object& d) {
  std::string state = PropString(d, "CurrentState");
  if (state.ends_with("_FAILED")) {
    std::string reason = PropString(d, "StateReason");
    return Status::Validation("Pipe " + name + " is " + state +
                              (reason.empty() ? "." : ": " + reason));
  }
  Physical p;
  p.ref = name;
  p.attributes["Arn"] = json::string(PropString(d, "Arn"));
  p.attributes["CurrentState"] = json::string(state);
  p.attributes["StateReason"] = json::string(PropString(d, "StateReason"));
  p.attributes["CreationTime"] = json::string(TimeText(d.if_contains("CreationTime")));
  p.attributes["LastModifiedTime"] = json::string(TimeText(d.if_contains("LastModifiedTime")));
  p.state["Name"] = name;
  return p;
}

Status DeleteAndWait(const ProviderEnv& env, const std::string& name) {
  auto r = env.pipes->DeletePipe(name);
  if (!r.ok() && r.status().code() != StatusCode::kNotFound) return r.status();
  auto settled = Settle(env, name);
  if (!settled.ok() && settled.status().code() == StatusCode::kNotFound) return Status::Ok();
  if (!settled.ok()) return settled.status();
  return Status::Internal("Pipe " + name + " was not deleted.");
}

StatusOr<Physical> CreatePipe(const ProviderEnv& env, const std::string& name,
                              const json::object& props) {
  BP_RETURN_IF_ERROR(NeedPipes(env));
  json::object body;
  for (auto k : kPipeMembers) {
    if (const json::value* v = props.if_contains(k)) body[k] = *v;
  }
  for (auto k : {"Source", "Tags"}) {
    if (const json::value* v = props.if_contains(k)) body[k] = *v;
  }
  BP_ASSIGN_OR_RETURN(json::object created, env.pipes->CreatePipe(name, body));
  (void)created;
  StatusOr<json::object> settled = Settle(env, name);
  StatusOr<Physical> p =
      settled.ok() ? PipePhysical(name, *settled) : StatusOr<Physical>(settled.status());
  if (!p.ok()) {
    // The engine only deletes what was created; a pipe left in CREATE_FAILED goes now.
    (void)DeleteAndWait(env, name);
  }
  return p;
}

const json::object* TagsOf(const json::object& props) {
  const json::value* t = props.if_contains("Tags");
  return t && t->is_object() ? &t->as_object() : nullptr;
}

// Tags are not part of UpdatePipe: the difference goes through TagResource/UntagResource.
Status UpdateTags(const ProviderEnv& env, const std::string& arn, const json::object& old_props,
                  const json::object& props) {
  static const json::object kNone;
  const json::object* old_tags = TagsOf(old_props);
  const json::object* new_tags = TagsOf(props);
  if (!old_tags) old_tags = &kNone;
  if (!new_tags) new_tags = &kNone;
  std::vector<std::string> removed;
  for (const auto& kv : *old_tags) {
    if (!new_tags->contains(kv.key())) removed.emplace_back(kv.key());
  }
  if (!removed.empty()) {
    BP_ASSIGN_OR_RETURN(json::object r, env.pipes->UntagResource(arn, removed));
  }
  if (!new_tags->empty() && *new_tags != *old_tags) {
    BP_ASSIGN_OR_RETURN(json::object r, env.pipes->TagResource(arn, {{"tags", *new_tags}}));
  }
  return Status::Ok();
}

StatusOr<Physical> UpdatePipe(const ProviderEnv& env, const Physical& cur,
                              const json::object& old_props, const json::object& props) {
  BP_RETURN_IF_ERROR(NeedPipes(env));
  json::object body;
  for (auto k : kPipeMembers) {
    if (const json::value* v = props.if_contains(k)) body[k] = *v;
  }
  BP_ASSIGN_OR_RETURN(json::object updated, env.pipes->UpdatePipe(cur.ref, body));
  (void)updated;
  BP_ASSIGN_OR_RETURN(json::object settled, Settle(env, cur.ref));
  BP_RETURN_IF_ERROR(UpdateTags(env, PropString(settled, "Arn"), old_props, props));
  return PipePhysical(cur.ref, settled);
}

Status DeletePipe(const ProviderEnv& env, const Physical& cur) {
  BP_RETURN_IF_ERROR(NeedPipes(env));
  return DeleteAndWait(env, cur.ref);
}

// ---- AWS::Events::EventBusPolicy ----
std::string PolicyBus(const json::object& props) {
  std::string bus = PropString(props, "EventBusName");
  return bus.empty() ? "default" : bus;
}

// The Statement form: the statement joins the bus's current policy under Sid = StatementId, and
// the whole document goes back through PutPermission's Policy member.
Status PutStatement(const ProviderEnv& env, const std::string& bus, const std::string& sid,
                    const json::value& statement) {
  if (!statement.is_object()) return Status::Validation("Statement must be a JSON object.");
  BP_ASSIGN_OR_RETURN(json::object d, CallEvents(env, "DescribeEventBus", {{"Name", bus}}));
  json::object doc{{"Version", "2012-10-17"}, {"Statement", json::array()}};
  if (std::string existing = PropString(d, "Policy"); !existing.empty()) {
    json::error_code ec;
    json::value old = json::parse(existing, ec);
    if (!ec && old.is_object()) doc = std::move(old.as_object());
  }
  if (!doc["Statement"].is_array()) doc["Statement"] = json::array();
  json::array& list = doc["Statement"].as_array();
  for (const auto& s : list) {
    if (s.is_object() && PropString(s.as_object(), "Sid") == sid) {
      return Status::AlreadyExists("Statement with the provided id " + sid + " already exists.");
    }
  }
  json::object st = statement.as_object();
  st["Sid"] = sid;
  list.push_back(std::move(st));
  BP_ASSIGN_OR_RETURN(
      json::object r,
      CallEvents(env, "PutPermission", {{"EventBusName", bus}, {"Policy", json::serialize(doc)}}));
  return Status::Ok();
}

StatusOr<Physical> CreateBusPolicy(const ProviderEnv& env, const std::string& name,
                                   const json::object& props) {
  std::string bus = PolicyBus(props);
  if (const json::value* statement = props.if_contains("Statement")) {
    for (auto k : {"Action", "Principal", "Condition"}) {
      if (props.contains(k)) {
        return Status::Validation(
            "Statement cannot be combined with Action, Principal or "
            "Condition.");
      }
    }
    BP_RETURN_IF_ERROR(PutStatement(env, bus, name, *statement));
  } else {
    json::object in = Pick(props, {"Action", "Principal", "Condition"});
    in["EventBusName"] = bus;
    in["StatementId"] = name;
    BP_ASSIGN_OR_RETURN(json::object r, CallEvents(env, "PutPermission", in));
  }
  Physical p;
  p.ref = name;
  p.state["Name"] = name;
  p.state["EventBusName"] = bus;
  return p;
}

Status DeleteBusPolicy(const ProviderEnv& env, const Physical& cur) {
  std::string bus = PropString(cur.state, "EventBusName");
  auto r = CallEvents(env, "RemovePermission",
                      {{"EventBusName", bus.empty() ? "default" : bus}, {"StatementId", cur.ref}});
  if (r.ok() || r.status().code() == StatusCode::kNotFound) return Status::Ok();
  return r.status();
}

// An update re-puts the statement: remove the old one, then add the new one.
StatusOr<Physical> UpdateBusPolicy(const ProviderEnv& env, const Physical& cur, const json::object&,
                                   const json::object& props) {
  BP_RETURN_IF_ERROR(DeleteBusPolicy(env, cur));
  return CreateBusPolicy(env, cur.ref, props);
}

}  // namespace

void AddPipeTypes(std::vector<ResourceType>& out) {
  out.push_back({.type = "AWS::Pipes::Pipe",
                 .name_property = "Name",
                 .name_max = 64,
                 .replace_on = {"Name", "Source", "KmsKeyIdentifier"},
                 .create = CreatePipe,
                 .update = UpdatePipe,
                 .remove = DeletePipe});
  out.push_back({.type = "AWS::Events::EventBusPolicy",
                 .name_property = "StatementId",
                 .name_max = 64,
                 .replace_on = {"StatementId", "EventBusName"},
                 .create = CreateBusPolicy,
                 .update = UpdateBusPolicy,
                 .remove = DeleteBusPolicy});
}

}  // namespace bp::cfn
