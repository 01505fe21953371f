// Change sets: locating them, previewing changes, executing and deleting them.
#include "cfn/stack_engine_impl.h"
#include "cfn/template_parser.h"

namespace bp::cfn {

namespace {

constexpr std::string_view kPending = "{{bridgeport:pending}}";

bool HasPending(const json::value& v) {
  if (v.is_string()) return v.as_string().find(kPending) != json::string::npos;
  if (v.is_array()) {
    for (const auto& i : v.as_array()) {
      if (HasPending(i)) return true;
    }
  }
  if (v.is_object()) {
    for (const auto& kv : v.as_object()) {
      if (HasPending(kv.value())) return true;
    }
  }
  return false;
}

json::object Change(const std::string& action, const std::string& logical,
                    const std::string& physical, const std::string& type,
                    const std::string& replacement, json::array details) {
  json::object rc{{"Action", action},
                  {"LogicalResourceId", logical},
                  {"ResourceType", type},
                  {"Scope", action == "Modify" ? json::array{"Properties"} : json::array()},
                  {"Details", std::move(details)}};
  if (!physical.empty()) rc["PhysicalResourceId"] = physical;
  if (!replacement.empty()) rc["Replacement"] = replacement;
  return {{"Type", "Resource"}, {"ResourceChange", std::move(rc)}};
}

}  // namespace

// Callers hold mu_.
json::array StackEngine::Impl::PreviewChanges(const Stack& stack, const Prepared& p) {
  json::array changes;
  const auto& resources = stack.current.resources;
  EvalContext ctx = p.ctx;
  ctx.resource_ref = [&](const std::string& l) -> StatusOr<json::value> {
    auto it = resources.find(l);
    if (it == resources.end() || !it->second.created) return json::value(json::string(kPending));
    return json::value(json::string(it->second.physical.ref));
  };
  ctx.get_att = [&](const std::string& l, const std::string& a) -> StatusOr<json::value> {
    auto it = resources.find(l);
    if (it == resources.end() || !it->second.created) return json::value(json::string(kPending));
    if (const json::value* v = it->second.physical.attributes.if_contains(a)) return *v;
    return json::value(json::string(kPending));
  };
  ctx.import_value = [&](const std::string& name) { return ImportValue(name, stack.id); };
  Evaluator ev(ctx);
  for (const auto& logical : p.order) {
    const json::object& def = p.resources().at(logical).as_object();
    std::string type = JStr(def, "Type");
    auto old = resources.find(logical);
    if (old == resources.end() || !old->second.created) {
      changes.push_back(Change("Add", logical, "", type, "", {}));
      continue;
    }
    const ResourceRecord& r = old->second;
    if (r.type != type) {
      changes.push_back(Change("Modify", logical, r.physical.ref, type, "True", {}));
      continue;
    }
    json::object props;
    bool unknown = false;
    if (const json::value* raw = def.if_contains("Properties")) {
      auto v = ev.Eval(*raw);
      if (v.ok() && *v && (*v)->is_object()) {
        props = (*v)->as_object();
      } else {
        unknown = true;
      }
    }
    if (!unknown && props == r.properties) continue;
    const ResourceType* rt = TypeOf(type);
    std::string replacement = unknown || HasPending(props) ? "Conditional" : "False";
    json::array details;
    std::set<std::string> names;
    for (const auto& kv : props) names.insert(std::string(kv.key()));
    for (const auto& kv : r.properties) names.insert(std::string(kv.key()));
    for (const auto& n : names) {
      const json::value* a = r.properties.if_contains(n);
      const json::value* b = props.if_contains(n);
      if (a && b && *a == *b) continue;
      bool recreate = rt && (std::find(rt->replace_on.begin(), rt->replace_on.end(), n) !=
                                 rt->replace_on.end() ||
                             !rt->update);
      if (recreate) replacement = "True";
      details.push_back(json::object{
          {"Target", json::object{{"Attribute", "Properties"},
                                  {"Name", n},
                                  {"RequiresRecreation", recreate ? "Always" : "Never"}}},
          {"Evaluation", "Static"},
          {"ChangeSource", "DirectModification"}});
    }
    changes.push_back(Change("Modify", logical, r.physical.ref, type, replacement, details));
  }
  for (const auto& [logical, r] : resources) {
    if (std::find(p.order.begin(), p.order.end(), logical) == p.order.end()) {
      changes.push_back(Change("Remove", logical, r.physical.ref, r.type, "", {}));
    }
  }
  return changes;
}

// Callers hold mu_. `name` is a change set ARN, or a name with `stack`.
static std::pair<Stack*, ChangeSet*> Locate(std::map<std::string, Stack>& stacks,
                                            const std::string& name, const std::string& stack) {
  for (auto& [id, s] : stacks) {
    if (!s.live()) continue;
    for (auto& [n, c] : s.change_sets) {
      if (c.id == name) return {&s, &c};
      if (n == name && (s.name == stack || s.id == stack)) return {&s, &c};
    }
  }
  return {nullptr, nullptr};
}

StatusOr<json::object> StackEngine::Impl::ExecuteChangeSet(const json::object& in,
                                                           std::string* started) {
  std::string name = JStr(in, "ChangeSetName");
  std::lock_guard<std::mutex> lock(mu_);
  auto [s, cs] = Locate(stacks_, name, JStr(in, "StackName"));
  if (!s) return ChangeSetNotFound(name);
  if (cs->execution_status != "AVAILABLE") {
    return InvalidChangeSetStatus("ChangeSet [" + cs->id +
                                  "] cannot be executed in its current status of [" + cs->status +
                                  "]");
  }
  bool create = cs->type == "CREATE";
  if (create ? s->status != "REVIEW_IN_PROGRESS"
             : !(s->status == "CREATE_COMPLETE" || s->status == "UPDATE_COMPLETE" ||
                 s->status == "UPDATE_ROLLBACK_COMPLETE")) {
    return InvalidChangeSetStatus("Stack " + s->name + " is in " + s->status +
                                  " state and the change set cannot be executed.");
  }
  auto tmpl = ParseTemplateBody(cs->template_body);
  if (!tmpl.ok()) return tmpl.status();
  if (!create) s->previous = s->current;
  s->current.template_json = std::move(*tmpl);
  s->current.template_body = cs->template_body;
  s->current.parameters = cs->parameters;
  s->capabilities = cs->capabilities;
  if (create || !cs->tags.empty()) s->tags = cs->tags;
  const json::value* dr = in.if_contains("DisableRollback");
  s->disable_rollback =
      dr && ((dr->is_bool() && dr->as_bool()) || (dr->is_string() && dr->as_string() == "true"));
  if (auto d = s->current.template_json.as_object().if_contains("Description")) {
    s->description = ScalarText(*d);
  }
  cs->execution_status = "EXECUTE_IN_PROGRESS";
  s->change_set_id = cs->id;
  ChangeSet executed = *cs;
  s->change_sets.clear();  // executing one change set removes the stack's others
  s->change_sets[executed.name] = executed;
  SetStatus(*s, create ? "CREATE_IN_PROGRESS" : "UPDATE_IN_PROGRESS", "User Initiated");
  BP_RETURN_IF_ERROR(Persist(*s));
  *started = s->id;
  return json::object{};
}

StatusOr<json::object> StackEngine::Impl::DeleteChangeSet(const json::object& in) {
  std::string name = JStr(in, "ChangeSetName");
  std::lock_guard<std::mutex> lock(mu_);
  auto [s, cs] = Locate(stacks_, name, JStr(in, "StackName"));
  if (!s) return ChangeSetNotFound(name);
  if (cs->execution_status == "EXECUTE_IN_PROGRESS") {
    return InvalidChangeSetStatus("ChangeSet [" + cs->id +
                                  "] cannot be deleted while it is "
                                  "being executed");
  }
  s->change_sets.erase(cs->name);
  BP_RETURN_IF_ERROR(Persist(*s));
  return json::object{};
}

StatusOr<json::object> StackEngine::Impl::DescribeChangeSet(const json::object& in) {
  std::string name = JStr(in, "ChangeSetName");
  std::lock_guard<std::mutex> lock(mu_);
  auto [s, cs] = Locate(stacks_, name, JStr(in, "StackName"));
  if (!s) return ChangeSetNotFound(name);
  json::object out{{"ChangeSetName", cs->name},
                   {"ChangeSetId", cs->id},
                   {"StackId", s->id},
                   {"StackName", s->name},
                   {"Parameters", cs->parameters},
                   {"CreationTime", IsoMillis(cs->created_ms)},
                   {"ExecutionStatus", cs->execution_status},
                   {"Status", cs->status},
                   {"NotificationARNs", json::array()},
                   {"Capabilities", cs->capabilities},
                   {"Tags", cs->tags},
                   {"Changes", cs->changes},
                   {"IncludeNestedStacks", false}};
  if (!cs->description.empty()) out["Description"] = cs->description;
  if (!cs->status_reason.empty()) out["StatusReason"] = cs->status_reason;
  return out;
}

StatusOr<json::object> StackEngine::Impl::ListChangeSets(const json::object& in) {
  std::string name = JStr(in, "StackName");
  std::lock_guard<std::mutex> lock(mu_);
  Stack* s = FindLive(name);
  if (!s) return StackNotFound(name);
  json::array list;
  for (const auto& [n, c] : s->change_sets) {
    json::object o{{"StackId", s->id},
                   {"StackName", s->name},
                   {"ChangeSetId", c.id},
                   {"ChangeSetName", c.name},
                   {"ExecutionStatus", c.execution_status},
                   {"Status", c.status},
                   {"CreationTime", IsoMillis(c.created_ms)}};
    if (!c.status_reason.empty()) o["StatusReason"] = c.status_reason;
    if (!c.description.empty()) o["Description"] = c.description;
    list.push_back(std::move(o));
  }
  return json::object{{"Summaries", std::move(list)}};
}

}  // namespace bp::cfn
