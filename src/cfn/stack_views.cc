// Read-only operations: stacks, events, resources, templates and template summaries.
#include "cfn/stack_engine_impl.h"
#include "cfn/template_parser.h"

namespace bp::cfn {

namespace {

json::object ParameterDecls(const json::value& tmpl) {
  if (!tmpl.is_object()) return {};
  const json::value* p = tmpl.as_object().if_contains("Parameters");
  return p && p->is_object() ? p->as_object() : json::object();
}

bool NoEcho(const json::object& decls, const std::string& key) {
  const json::value* d = decls.if_contains(key);
  if (!d || !d->is_object()) return false;
  const json::value* n = d->as_object().if_contains("NoEcho");
  return n && ScalarText(*n) == "true";
}

json::object ResourceView(const Stack& s, const ResourceRecord& r, std::string_view time_key) {
  json::object o{{"StackName", s.name},
                 {"StackId", s.id},
                 {"LogicalResourceId", r.logical_id},
                 {"PhysicalResourceId", r.physical.ref.empty() ? r.name : r.physical.ref},
                 {"ResourceType", r.type},
                 {time_key, IsoMillis(r.updated_ms)},
                 {"ResourceStatus", r.status},
                 {"DriftInformation", json::object{{"StackResourceDriftStatus", "NOT_CHECKED"}}}};
  if (!r.status_reason.empty()) o["ResourceStatusReason"] = r.status_reason;
  return o;
}

}  // namespace

json::object StackEngine::Impl::StackView(const Stack& s) const {
  json::object decls = ParameterDecls(s.current.template_json);
  json::array params;
  for (const auto& p : s.current.parameters) {
    json::object o = p.as_object();
    if (NoEcho(decls, JStr(o, "ParameterKey"))) {
      o["ParameterValue"] = "****";
      o.erase("ResolvedValue");
    }
    params.push_back(std::move(o));
  }
  json::object v{{"StackId", s.id},
                 {"StackName", s.name},
                 {"Parameters", std::move(params)},
                 {"CreationTime", IsoMillis(s.created_ms)},
                 {"StackStatus", s.status},
                 {"DisableRollback", s.disable_rollback},
                 {"NotificationARNs", json::array()},
                 {"Capabilities", s.capabilities},
                 {"Outputs", s.current.outputs},
                 {"Tags", s.tags},
                 {"EnableTerminationProtection", false},
                 {"DriftInformation", json::object{{"StackDriftStatus", "NOT_CHECKED"}}}};
  if (!s.description.empty()) v["Description"] = s.description;
  if (!s.status_reason.empty()) v["StackStatusReason"] = s.status_reason;
  if (s.updated_ms != s.created_ms) v["LastUpdatedTime"] = IsoMillis(s.updated_ms);
  if (s.deleted_ms) v["DeletionTime"] = IsoMillis(s.deleted_ms);
  if (!s.change_set_id.empty()) v["ChangeSetId"] = s.change_set_id;
  return v;
}

StatusOr<json::object> StackEngine::Impl::DescribeStacks(const json::object& in) {
  std::string name = JStr(in, "StackName");
  std::lock_guard<std::mutex> lock(mu_);
  json::array list;
  if (name.empty()) {
    for (const auto& [id, s] : stacks_) {
      if (s.live()) list.push_back(StackView(s));
    }
  } else {
    Stack* s = FindAny(name);
    if (!s || (!s->live() && s->id != name)) return StackNotFound(name);
    list.push_back(StackView(*s));
  }
  return json::object{{"Stacks", std::move(list)}};
}

StatusOr<json::object> StackEngine::Impl::ListStacks(const json::object& in) {
  std::set<std::string> filter;
  if (const json::value* f = in.if_contains("StackStatusFilter"); f && f->is_array()) {
    for (const auto& x : f->as_array()) filter.insert(ScalarText(x));
  }
  std::lock_guard<std::mutex> lock(mu_);
  json::array list;
  for (const auto& [id, s] : stacks_) {
    if (!filter.empty() && !filter.count(s.status)) continue;
    json::object o{{"StackId", s.id},
                   {"StackName", s.name},
                   {"CreationTime", IsoMillis(s.created_ms)},
                   {"StackStatus", s.status},
                   {"DriftInformation", json::object{{"StackDriftStatus", "NOT_CHECKED"}}}};
    if (!s.description.empty()) o["TemplateDescription"] = s.description;
    if (!s.status_reason.empty()) o["StackStatusReason"] = s.status_reason;
    if (s.updated_ms != s.created_ms) o["LastUpdatedTime"] = IsoMillis(s.updated_ms);
    if (s.deleted_ms) o["DeletionTime"] = IsoMillis(s.deleted_ms);
    list.push_back(std::move(o));
  }
  return json::object{{"StackSummaries", std::move(list)}};
}

StatusOr<json::object> StackEngine::Impl::DescribeStackEvents(const json::object& in) {
  std::string name = JStr(in, "StackName");
  std::lock_guard<std::mutex> lock(mu_);
  Stack* s = FindAny(name);
  if (!s) return StackNotFound(name);
  json::array events;
  for (auto it = s->events.rbegin(); it != s->events.rend(); ++it) events.push_back(*it);
  return json::object{{"StackEvents", std::move(events)}};
}

StatusOr<json::object> StackEngine::Impl::DescribeStackResource(const json::object& in) {
  std::string name = JStr(in, "StackName");
  std::string logical = JStr(in, "LogicalResourceId");
  std::lock_guard<std::mutex> lock(mu_);
  Stack* s = FindAny(name);
  if (!s) return StackNotFound(name);
  auto it = s->current.resources.find(logical);
  if (it == s->current.resources.end()) {
    return ValidationError("Resource " + logical + " does not exist for stack " + s->name);
  }
  json::object detail = ResourceView(*s, it->second, "LastUpdatedTimestamp");
  return json::object{{"StackResourceDetail", std::move(detail)}};
}

StatusOr<json::object> StackEngine::Impl::DescribeStackResources(const json::object& in) {
  std::string name = JStr(in, "StackName");
  std::string logical = JStr(in, "LogicalResourceId");
  std::string physical = JStr(in, "PhysicalResourceId");
  std::lock_guard<std::mutex> lock(mu_);
  Stack* s = nullptr;
  if (!name.empty()) {
    s = FindAny(name);
    if (!s) return StackNotFound(name);
  } else if (!physical.empty()) {
    for (auto& [id, st] : stacks_) {
      for (const auto& [l, r] : st.current.resources) {
        if (st.live() && r.physical.ref == physical) s = &st;
      }
    }
    if (!s) return ValidationError("Stack for " + physical + " does not exist");
  } else {
    return ValidationError("Either StackName or PhysicalResourceId must be specified.");
  }
  json::array list;
  for (const auto& [l, r] : s->current.resources) {
    if (!logical.empty() && l != logical) continue;
    if (!physical.empty() && r.physical.ref != physical) continue;
    list.push_back(ResourceView(*s, r, "Timestamp"));
  }
  return json::object{{"StackResources", std::move(list)}};
}

StatusOr<json::object> StackEngine::Impl::ListStackResources(const json::object& in) {
  std::string name = JStr(in, "StackName");
  std::lock_guard<std::mutex> lock(mu_);
  Stack* s = FindAny(name);
  if (!s) return StackNotFound(name);
  json::array list;
  for (const auto& [l, r] : s->current.resources) {
    json::object o = ResourceView(*s, r, "LastUpdatedTimestamp");
    o.erase("StackName");
    o.erase("StackId");
    list.push_back(std::move(o));
  }
  return json::object{{"StackResourceSummaries", std::move(list)}};
}

StatusOr<json::object> StackEngine::Impl::GetTemplate(const json::object& in) {
  std::string name = JStr(in, "StackName");
  std::string cs = JStr(in, "ChangeSetName");
  std::lock_guard<std::mutex> lock(mu_);
  Stack* s = FindAny(name);
  if (!s) return StackNotFound(name);
  std::string body = s->current.template_body;
  if (!cs.empty()) {
    bool found = false;
    for (const auto& [n, c] : s->change_sets) {
      if (n == cs || c.id == cs) {
        body = c.template_body;
        found = true;
      }
    }
    if (!found) return ChangeSetNotFound(cs);
  }
  return json::object{{"TemplateBody", body},
                      {"StagesAvailable", json::array{"Original", "Processed"}}};
}

StatusOr<json::object> StackEngine::Impl::ValidateTemplate(const json::object& in) {
  if (in.contains("TemplateURL")) {
    return ValidationError("TemplateURL is not supported by Bridgeport: send TemplateBody.");
  }
  BP_ASSIGN_OR_RETURN(json::value tmpl, ParseTemplateBody(JStr(in, "TemplateBody")));
  BP_RETURN_IF_ERROR(CheckTemplateShape(tmpl));
  json::array params;
  for (const auto& kv : ParameterDecls(tmpl)) {
    if (!kv.value().is_object()) continue;
    const json::object& d = kv.value().as_object();
    json::object p{{"ParameterKey", kv.key()},
                   {"NoEcho", NoEcho(ParameterDecls(tmpl), std::string(kv.key()))}};
    if (const json::value* def = d.if_contains("Default")) p["DefaultValue"] = ScalarText(*def);
    if (const json::value* desc = d.if_contains("Description"))
      p["Description"] = ScalarText(*desc);
    params.push_back(std::move(p));
  }
  json::object out{{"Parameters", std::move(params)}, {"DeclaredTransforms", json::array()}};
  std::string desc = JStr(tmpl.as_object(), "Description");
  if (!desc.empty()) out["Description"] = desc;
  json::array caps;
  for (const auto& kv : tmpl.as_object().at("Resources").as_object()) {
    const ResourceType* t = TypeOf(JStr(kv.value().as_object(), "Type"));
    if (t && t->iam && caps.empty()) caps.push_back("CAPABILITY_IAM");
  }
  if (!caps.empty()) {
    out["Capabilities"] = caps;
    out["CapabilitiesReason"] = "The following resource(s) require capabilities: [AWS::IAM::*]";
  }
  return out;
}

StatusOr<json::object> StackEngine::Impl::GetTemplateSummary(const json::object& in) {
  std::string body = JStr(in, "TemplateBody");
  if (body.empty() && in.contains("StackName")) {
    std::lock_guard<std::mutex> lock(mu_);
    Stack* s = FindAny(JStr(in, "StackName"));
    if (!s) return StackNotFound(JStr(in, "StackName"));
    body = s->current.template_body;
  }
  BP_ASSIGN_OR_RETURN(json::object v, ValidateTemplate({{"TemplateBody", body}}));
  BP_ASSIGN_OR_RETURN(json::value tmpl, ParseTemplateBody(body));
  json::object decls = ParameterDecls(tmpl);
  for (auto& p : v["Parameters"].as_array()) {
    json::object& o = p.as_object();
    const json::object& d = decls.at(JStr(o, "ParameterKey")).as_object();
    o["ParameterType"] = JStr(d, "Type");
    json::object constraints;
    if (const json::value* a = d.if_contains("AllowedValues")) constraints["AllowedValues"] = *a;
    o["ParameterConstraints"] = std::move(constraints);
  }
  json::array types;
  std::set<std::string> seen;
  for (const auto& kv : tmpl.as_object().at("Resources").as_object()) {
    std::string t = JStr(kv.value().as_object(), "Type");
    if (seen.insert(t).second) types.push_back(json::string(t));
  }
  v["ResourceTypes"] = std::move(types);
  if (const json::value* ver = tmpl.as_object().if_contains("AWSTemplateFormatVersion")) {
    v["Version"] = ScalarText(*ver);
  }
  if (const json::value* meta = tmpl.as_object().if_contains("Metadata")) {
    v["Metadata"] = json::serialize(*meta);
  }
  v["ResourceIdentifierSummaries"] = json::array();
  return v;
}

}  // namespace bp::cfn
