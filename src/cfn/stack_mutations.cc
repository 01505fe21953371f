// API handlers that create, update or delete stacks and change sets (the worker does the rest).
#include <regex>

#include "cfn/stack_engine_impl.h"
#include "cfn/template_parser.h"
#include "common/ids.h"

namespace bp::cfn {

namespace {

bool IsTrue(const json::object& in, std::string_view k) {
  const json::value* v = in.if_contains(k);
  return v && ((v->is_bool() && v->as_bool()) || (v->is_string() && v->as_string() == "true"));
}

json::array ArrayOf(const json::object& in, std::string_view k) {
  const json::value* v = in.if_contains(k);
  return v && v->is_array() ? v->as_array() : json::array();
}

Status CheckName(const std::string& name, std::string_view field) {
  static const std::regex kName("[a-zA-Z][-a-zA-Z0-9]{0,127}");
  if (name.empty()) {
    return ValidationError("1 validation error detected: Value null at '" + std::string(field) +
                           "' failed to satisfy constraint: Member must not be null");
  }
  if (!std::regex_match(name, kName)) {
    return ValidationError("1 validation error detected: Value '" + name + "' at '" +
                           std::string(field) +
                           "' failed to satisfy constraint: Member must satisfy regular "
                           "expression pattern: [a-zA-Z][-a-zA-Z0-9]*");
  }
  return Status::Ok();
}

Status CheckCapabilities(const Prepared& p, const json::array& given) {
  for (const auto& need : p.capabilities_needed) {
    bool ok = false;
    for (const auto& g : given) {
      ok |= ScalarText(g) == need ||
            (need == "CAPABILITY_IAM" && ScalarText(g) == "CAPABILITY_NAMED_IAM");
    }
    if (!ok) return InsufficientCapabilities("Requires capabilities : [" + need + "]");
  }
  return Status::Ok();
}

StatusOr<std::string> TemplateBody(const json::object& in, const std::string* previous) {
  if (IsTrue(in, "UsePreviousTemplate")) {
    if (!previous) return ValidationError("UsePreviousTemplate needs an existing stack");
    return *previous;
  }
  if (in.contains("TemplateURL")) {
    return ValidationError(
        "TemplateURL is not supported by Bridgeport: send the template in "
        "TemplateBody (aws cloudformation deploy does so for templates up to "
        "51,200 bytes).");
  }
  std::string body = JStr(in, "TemplateBody");
  if (body.empty())
    return ValidationError("Either Template URL or Template Body must be specified.");
  return body;
}

bool Stable(const std::string& status) {
  return status == "CREATE_COMPLETE" || status == "UPDATE_COMPLETE" ||
         status == "UPDATE_ROLLBACK_COMPLETE";
}

bool SameParameters(const json::array& a, const json::array& b) {
  auto key = [](const json::array& x) {
    std::map<std::string, std::string> m;
    for (const auto& p : x)
      m[JStr(p.as_object(), "ParameterKey")] = JStr(p.as_object(), "ParameterValue");
    return m;
  };
  return key(a) == key(b);
}

}  // namespace

StatusOr<json::object> StackEngine::Impl::CreateStack(const json::object& in,
                                                      const CallContext& ctx,
                                                      std::string* started) {
  std::string name = JStr(in, "StackName");
  BP_RETURN_IF_ERROR(CheckName(name, "stackName"));
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (FindLive(name)) return AlreadyExists("Stack [" + name + "] already exists");
  }
  BP_ASSIGN_OR_RETURN(std::string body, TemplateBody(in, nullptr));
  std::string id = "arn:aws:cloudformation:" + options_.region + ":" + options_.account +
                   ":stack/" + name + "/" + NewUuid();
  BP_ASSIGN_OR_RETURN(Prepared p, Prepare(body, ArrayOf(in, "Parameters"), nullptr, name, id));
  BP_RETURN_IF_ERROR(CheckCapabilities(p, ArrayOf(in, "Capabilities")));
  std::lock_guard<std::mutex> lock(mu_);
  if (FindLive(name)) return AlreadyExists("Stack [" + name + "] already exists");
  Stack s;
  s.id = id;
  s.name = name;
  s.description = p.description;
  s.created_ms = s.updated_ms = deps_.clock->NowMillis();
  s.on_failure = JStr(in, "OnFailure").empty() ? "ROLLBACK" : JStr(in, "OnFailure");
  s.disable_rollback = IsTrue(in, "DisableRollback") || s.on_failure == "DO_NOTHING";
  s.tags = ArrayOf(in, "Tags");
  s.capabilities = ArrayOf(in, "Capabilities");
  s.base_url = ctx.base_url;
  s.current.template_json = p.tmpl;
  s.current.template_body = body;
  s.current.parameters = p.parameters;
  SetStatus(s, "CREATE_IN_PROGRESS", "User Initiated");
  BP_RETURN_IF_ERROR(Persist(s));
  stacks_[id] = std::move(s);
  *started = id;
  return json::object{{"StackId", id}};
}

StatusOr<json::object> StackEngine::Impl::UpdateStack(const json::object& in,
                                                      std::string* started) {
  std::string name = JStr(in, "StackName");
  std::string body_prev, id;
  json::array params_prev;
  {
    std::lock_guard<std::mutex> lock(mu_);
    Stack* s = FindLive(name);
    if (!s) return StackNotFound(name);
    if (!Stable(s->status)) {
      return ValidationError("Stack:" + s->id + " is in " + s->status +
                             " state and can not be updated.");
    }
    body_prev = s->current.template_body;
    params_prev = s->current.parameters;
    id = s->id;
    name = s->name;
  }
  BP_ASSIGN_OR_RETURN(std::string body, TemplateBody(in, &body_prev));
  BP_ASSIGN_OR_RETURN(Prepared p, Prepare(body, ArrayOf(in, "Parameters"), &params_prev, name, id));
  BP_RETURN_IF_ERROR(CheckCapabilities(p, ArrayOf(in, "Capabilities")));
  if (body == body_prev && SameParameters(p.parameters, params_prev)) {
    return ValidationError("No updates are to be performed.");
  }
  std::lock_guard<std::mutex> lock(mu_);
  Stack* s = FindLive(id);
  if (!s || !Stable(s->status)) return ValidationError("Stack:" + id + " changed meanwhile.");
  s->previous = s->current;
  s->current.template_json = p.tmpl;
  s->current.template_body = body;
  s->current.parameters = p.parameters;
  s->description = p.description;
  if (in.contains("Capabilities")) s->capabilities = ArrayOf(in, "Capabilities");
  if (in.contains("Tags")) s->tags = ArrayOf(in, "Tags");
  s->disable_rollback = IsTrue(in, "DisableRollback");
  SetStatus(*s, "UPDATE_IN_PROGRESS", "User Initiated");
  BP_RETURN_IF_ERROR(Persist(*s));
  *started = id;
  return json::object{{"StackId", id}};
}

StatusOr<json::object> StackEngine::Impl::DeleteStack(const json::object& in,
                                                      std::string* started) {
  std::string name = JStr(in, "StackName");
  std::lock_guard<std::mutex> lock(mu_);
  Stack* s = FindLive(name);
  if (!s || s->status == "DELETE_IN_PROGRESS") return json::object{};  // idempotent, as in AWS
  if (s->status.ends_with("_IN_PROGRESS") && s->status != "REVIEW_IN_PROGRESS") {
    return ValidationError("Stack [" + s->name + "] cannot be deleted while in status " +
                           s->status);
  }
  if (s->status == "REVIEW_IN_PROGRESS") {
    SetStatus(*s, "DELETE_COMPLETE", "");
    s->deleted_ms = deps_.clock->NowMillis();
    s->change_sets.clear();
    BP_RETURN_IF_ERROR(Persist(*s));
    return json::object{};
  }
  SetStatus(*s, "DELETE_IN_PROGRESS", "User Initiated");
  BP_RETURN_IF_ERROR(Persist(*s));
  *started = s->id;
  return json::object{};
}

StatusOr<json::object> StackEngine::Impl::CreateChangeSet(const json::object& in,
                                                          const CallContext& ctx) {
  std::string name = JStr(in, "StackName");
  std::string cs_name = JStr(in, "ChangeSetName");
  std::string type = JStr(in, "ChangeSetType").empty() ? "UPDATE" : JStr(in, "ChangeSetType");
  BP_RETURN_IF_ERROR(CheckName(name, "stackName"));
  BP_RETURN_IF_ERROR(CheckName(cs_name, "changeSetName"));
  if (type != "CREATE" && type != "UPDATE") {
    return ValidationError("ChangeSetType must be CREATE or UPDATE (IMPORT is not supported).");
  }
  std::string id, body_prev;
  json::array params_prev;
  bool exists = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    Stack* s = FindLive(name);
    if (type == "CREATE" && s && s->status != "REVIEW_IN_PROGRESS") {
      return AlreadyExists("Stack [" + name +
                           "] already exists and cannot be created again with "
                           "the changeSet [" +
                           cs_name + "].");
    }
    if (type == "UPDATE" && !s) return ValidationError("Stack [" + name + "] does not exist");
    if (type == "UPDATE" && !Stable(s->status)) {
      return ValidationError("Stack:" + s->id + " is in " + s->status +
                             " state and can not be updated.");
    }
    if (s && s->change_sets.count(cs_name)) {
      return AlreadyExists("ChangeSet " + cs_name + " already exists for stack " + name);
    }
    exists = s != nullptr;
    if (s) {
      id = s->id;
      body_prev = s->current.template_body;
      params_prev = s->current.parameters;
    } else {
      id = "arn:aws:cloudformation:" + options_.region + ":" + options_.account + ":stack/" + name +
           "/" + NewUuid();
    }
  }
  BP_ASSIGN_OR_RETURN(std::string body, TemplateBody(in, exists ? &body_prev : nullptr));
  BP_ASSIGN_OR_RETURN(Prepared p, Prepare(body, ArrayOf(in, "Parameters"),
                                          exists ? &params_prev : nullptr, name, id));
  BP_RETURN_IF_ERROR(CheckCapabilities(p, ArrayOf(in, "Capabilities")));
  std::lock_guard<std::mutex> lock(mu_);
  if (!exists) {
    if (FindLive(name)) return AlreadyExists("Stack [" + name + "] already exists");
    Stack s;
    s.id = id;
    s.name = name;
    s.created_ms = s.updated_ms = deps_.clock->NowMillis();
    s.base_url = ctx.base_url;
    SetStatus(s, "REVIEW_IN_PROGRESS", "User Initiated");
    stacks_[id] = std::move(s);
  }
  Stack& s = stacks_.at(id);
  ChangeSet cs;
  cs.id = "arn:aws:cloudformation:" + options_.region + ":" + options_.account + ":changeSet/" +
          cs_name + "/" + NewUuid();
  cs.name = cs_name;
  cs.type = type;
  cs.description = JStr(in, "Description");
  cs.template_body = body;
  cs.parameters = p.parameters;
  cs.capabilities = ArrayOf(in, "Capabilities");
  cs.tags = ArrayOf(in, "Tags");
  cs.created_ms = deps_.clock->NowMillis();
  cs.changes = PreviewChanges(s, p);
  if (type == "UPDATE" && cs.changes.empty() && body == body_prev &&
      SameParameters(p.parameters, params_prev)) {
    cs.status = "FAILED";
    cs.execution_status = "UNAVAILABLE";
    cs.status_reason =
        "The submitted information didn't contain changes. Submit different "
        "information to create a change set.";
  } else {
    cs.status = "CREATE_COMPLETE";
    cs.execution_status = "AVAILABLE";
  }
  s.change_sets[cs_name] = cs;
  BP_RETURN_IF_ERROR(Persist(s));
  return json::object{{"Id", cs.id}, {"StackId", id}};
}

}  // namespace bp::cfn
