// Template preparation: parameters (with the built-in parameter store), pseudo parameters,
// conditions, rules, capability checks and the dependency order of resources.
#include <regex>

#include "cfn/stack_engine_impl.h"
#include "cfn/template_parser.h"

namespace bp::cfn {

namespace {

// CDK's bootstrap stack version parameter, so `cdk synth` output passes CheckBootstrapVersion.
constexpr std::string_view kCdkBootstrapPrefix = "/cdk-bootstrap/";
constexpr std::string_view kCdkBootstrapVersion = "21";

json::array SplitList(const std::string& s) {
  json::array out;
  size_t pos = 0;
  while (true) {
    size_t comma = s.find(',', pos);
    std::string item = s.substr(pos, comma - pos);
    while (!item.empty() && item.front() == ' ') item.erase(item.begin());
    out.push_back(json::string(item));
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  return out;
}

bool IsTrue(const json::value* v) {
  return v && ((v->is_bool() && v->as_bool()) || (v->is_string() && v->as_string() == "true"));
}

// Checks one value against the parameter's constraints.
Status CheckConstraints(const std::string& key, const json::object& decl, const std::string& value,
                        const std::string& type) {
  auto describe = [&](std::string what) {
    std::string d = JStr(decl, "ConstraintDescription");
    return ValidationError("Parameter '" + key + "' " + (d.empty() ? what : d));
  };
  if (const json::value* allowed = decl.if_contains("AllowedValues");
      allowed && allowed->is_array()) {
    bool ok = false;
    for (const auto& a : allowed->as_array()) ok |= ScalarText(a) == value;
    if (!ok) return describe("must be one of AllowedValues");
  }
  if (const json::value* pattern = decl.if_contains("AllowedPattern")) {
    try {
      if (!std::regex_match(value, std::regex(ScalarText(*pattern)))) {
        return describe("must match pattern " + ScalarText(*pattern));
      }
    } catch (const std::regex_error&) {
      return ValidationError("Parameter '" + key + "' has an invalid AllowedPattern");
    }
  }
  if (const json::value* min = decl.if_contains("MinLength")) {
    if (static_cast<int64_t>(value.size()) < std::atoll(ScalarText(*min).c_str())) {
      return describe("must contain at least " + ScalarText(*min) + " characters");
    }
  }
  if (const json::value* max = decl.if_contains("MaxLength")) {
    if (static_cast<int64_t>(value.size()) > std::atoll(ScalarText(*max).c_str())) {
      return describe("must contain at most " + ScalarText(*max) + " characters");
    }
  }
  if (type == "Number") {
    char* end = nullptr;
    double d = std::strtod(value.c_str(), &end);
    if (value.empty() || *end != '\0') return describe("must be a number");
    if (const json::value* min = decl.if_contains("MinValue")) {
      if (d < std::strtod(ScalarText(*min).c_str(), nullptr)) return describe("is below MinValue");
    }
    if (const json::value* max = decl.if_contains("MaxValue")) {
      if (d > std::strtod(ScalarText(*max).c_str(), nullptr)) return describe("is above MaxValue");
    }
  }
  return Status::Ok();
}

}  // namespace

StatusOr<std::string> StackEngine::Impl::ResolveSsm(const std::string& name) {
  if (auto it = options_.ssm_parameters.find(name); it != options_.ssm_parameters.end()) {
    return it->second;
  }
  if (name.starts_with(kCdkBootstrapPrefix) && name.ends_with("/version")) {
    return std::string(kCdkBootstrapVersion);
  }
  return ValidationError("Unable to fetch parameters [" + name +
                         "] from parameter store for this account.");
}

StatusOr<std::string> StackEngine::Impl::ResolveDynamic(std::string_view service,
                                                        std::string_view reference) {
  if (service == "ssm" || service == "ssm-secure") {
    std::string name(reference.substr(0, reference.find(':')));
    return ResolveSsm(name);
  }
  if (service != "secretsmanager") {
    return ValidationError("Dynamic references to " + std::string(service) +
                           " are not supported by Bridgeport.");
  }
  // secret-id[:SecretString[:json-key[:version-stage[:version-id]]]]; an ARN id has 7 parts.
  std::vector<std::string> parts;
  size_t pos = 0;
  while (true) {
    size_t colon = reference.find(':', pos);
    parts.emplace_back(reference.substr(pos, colon - pos));
    if (colon == std::string_view::npos) break;
    pos = colon + 1;
  }
  std::string id = parts[0];
  size_t next = 1;
  if (id == "arn" && parts.size() >= 7) {
    for (size_t i = 1; i < 7; ++i) id += ":" + parts[i];
    next = 7;
  }
  auto part = [&](size_t i) { return next + i < parts.size() ? parts[next + i] : std::string(); };
  if (!part(0).empty() && part(0) != "SecretString") {
    return ValidationError(
        "Dynamic reference {{resolve:secretsmanager:...}} supports only "
        "SecretString.");
  }
  auto value = deps_.secrets->ResolveValue(id, part(1), part(2), part(3));
  if (!value.ok()) {
    return ValidationError("Could not resolve the secret " + id + ": " + value.status().message());
  }
  return value;
}

const ResourceType* StackEngine::Impl::TypeOf(std::string_view type) const {
  for (const auto& t : types_) {
    if (t.type == type) return &t;
  }
  return nullptr;
}

std::vector<std::string> StackEngine::Impl::DependencyOrder(const json::value& tmpl,
                                                            const std::vector<std::string>& ids,
                                                            std::string* cycle) const {
  std::set<std::string> present(ids.begin(), ids.end());
  std::map<std::string, std::set<std::string>> deps;
  const json::object* resources = nullptr;
  if (tmpl.is_object()) {
    if (const json::value* r = tmpl.as_object().if_contains("Resources"); r && r->is_object()) {
      resources = &r->as_object();
    }
  }
  for (const auto& id : ids) {
    std::set<std::string> refs;
    const json::value* def = resources ? resources->if_contains(id) : nullptr;
    if (def && def->is_object()) {
      if (const json::value* p = def->as_object().if_contains("Properties"))
        CollectReferences(*p, refs);
      if (const json::value* d = def->as_object().if_contains("DependsOn")) {
        if (d->is_string()) refs.insert(std::string(d->as_string()));
        if (d->is_array()) {
          for (const auto& x : d->as_array()) refs.insert(ScalarText(x));
        }
      }
    }
    for (const auto& r : refs) {
      if (present.count(r) && r != id) deps[id].insert(r);
    }
  }
  std::vector<std::string> order;
  std::set<std::string> done;
  bool progress = true;
  while (order.size() < ids.size() && progress) {
    progress = false;
    for (const auto& id : ids) {
      if (done.count(id)) continue;
      bool ready = true;
      for (const auto& d : deps[id]) ready &= done.count(d) > 0;
      if (!ready) continue;
      order.push_back(id);
      done.insert(id);
      progress = true;
    }
  }
  for (const auto& id : ids) {
    if (done.count(id)) continue;
    order.push_back(id);
    if (cycle) *cycle += (cycle->empty() ? "" : ", ") + id;
  }
  return order;
}

StatusOr<Prepared> StackEngine::Impl::Prepare(std::string_view body, const json::array& params_in,
                                              const json::array* previous,
                                              const std::string& stack_name,
                                              const std::string& stack_id) {
  Prepared p;
  p.body = std::string(body);
  BP_ASSIGN_OR_RETURN(p.tmpl, ParseTemplateBody(body));
  BP_RETURN_IF_ERROR(CheckTemplateShape(p.tmpl));
  const json::object& t = p.tmpl.as_object();
  p.description = JStr(t, "Description");
  EvalContext& ctx = p.ctx;
  ctx.region = options_.region;
  ctx.pseudo = {{"AWS::AccountId", json::string(options_.account)},
                {"AWS::Region", json::string(options_.region)},
                {"AWS::StackName", json::string(stack_name)},
                {"AWS::StackId", json::string(stack_id)},
                {"AWS::Partition", json::string("aws")},
                {"AWS::URLSuffix", json::string("amazonaws.com")},
                {"AWS::NotificationARNs", json::array()}};
  if (const json::value* m = t.if_contains("Mappings")) ctx.mappings = m->as_object();

  // Parameters.
  json::object decls;
  if (const json::value* d = t.if_contains("Parameters")) decls = d->as_object();
  std::map<std::string, std::string> given;
  for (const auto& item : params_in) {
    if (!item.is_object()) continue;
    const json::object& o = item.as_object();
    std::string key = JStr(o, "ParameterKey");
    if (!decls.contains(key)) {
      return ValidationError("Parameters: [" + key + "] do not exist in the template");
    }
    if (IsTrue(o.if_contains("UsePreviousValue"))) {
      std::optional<std::string> prev_value;
      if (previous) {
        for (const auto& prev : *previous) {
          const json::object& po = prev.as_object();
          if (JStr(po, "ParameterKey") == key) prev_value = JStr(po, "ParameterValue");
        }
      }
      if (!prev_value) {
        return ValidationError("Invalid input for parameter key " + key +
                               ". Cannot specify usePreviousValue as true for a parameter key "
                               "not in the previous template");
      }
      given[key] = *prev_value;
    } else {
      given[key] = JStr(o, "ParameterValue");
    }
  }
  std::vector<std::string> missing;
  for (const auto& kv : decls) {
    std::string key(kv.key());
    if (!kv.value().is_object()) return ValidationError("Parameter " + key + " must be an object");
    const json::object& decl = kv.value().as_object();
    std::string type = JStr(decl, "Type");
    std::string value;
    if (auto g = given.find(key); g != given.end()) {
      value = g->second;
    } else if (const json::value* def = decl.if_contains("Default")) {
      value = ScalarText(*def);
    } else {
      missing.push_back(key);
      continue;
    }
    BP_RETURN_IF_ERROR(CheckConstraints(key, decl, value, type));
    json::object stored{{"ParameterKey", key}, {"ParameterValue", value}};
    if (type.starts_with("AWS::SSM::Parameter::Value<")) {
      BP_ASSIGN_OR_RETURN(std::string resolved, ResolveSsm(value));
      stored["ResolvedValue"] = resolved;
      ctx.parameters[key] = type.find("List<") != std::string::npos ||
                                    type.find("CommaDelimitedList") != std::string::npos
                                ? json::value(SplitList(resolved))
                                : json::value(json::string(resolved));
    } else if (type == "CommaDelimitedList" || type.starts_with("List<")) {
      ctx.parameters[key] = SplitList(value);
    } else {
      ctx.parameters[key] = json::string(value);
    }
    p.parameters.push_back(std::move(stored));
  }
  if (!missing.empty()) {
    std::string list;
    for (const auto& m : missing) list += (list.empty() ? "" : ", ") + m;
    return ValidationError("Parameters: [" + list + "] must have values");
  }
  return FinishPrepare(std::move(p));
}

namespace {

// The template's Rules: every assertion of a rule whose RuleCondition holds must hold.
Status CheckTemplateRules(const json::object& rules, Evaluator& ev) {
  for (const auto& rule : rules) {
    if (!rule.value().is_object()) return ValidationError("Every Rules member must be an object");
    const json::object& r = rule.value().as_object();
    if (const json::value* cond = r.if_contains("RuleCondition")) {
      BP_ASSIGN_OR_RETURN(bool applies, ev.Condition(*cond));
      if (!applies) continue;
    }
    const json::value* asserts = r.if_contains("Assertions");
    if (!asserts || !asserts->is_array()) continue;
    for (const auto& a : asserts->as_array()) {
      if (!a.is_object() || !a.as_object().contains("Assert")) continue;
      BP_ASSIGN_OR_RETURN(bool ok, ev.Condition(a.as_object().at("Assert")));
      if (!ok) {
        std::string d = JStr(a.as_object(), "AssertDescription");
        return ValidationError(d.empty() ? "Template rule " + std::string(rule.key()) + " failed"
                                         : d);
      }
    }
  }
  return Status::Ok();
}

}  // namespace

StatusOr<Prepared> StackEngine::Impl::FinishPrepare(Prepared p) {
  const json::object& t = p.tmpl.as_object();
  EvalContext& ctx = p.ctx;
  if (const json::value* c = t.if_contains("Conditions")) {
    BP_ASSIGN_OR_RETURN(ctx.conditions, EvaluateConditions(c->as_object(), ctx));
  }
  Evaluator ev(ctx);
  if (const json::value* rules = t.if_contains("Rules")) {
    BP_RETURN_IF_ERROR(CheckTemplateRules(rules->as_object(), ev));
  }
  // Resources: conditions, references, capabilities.
  std::vector<std::string> ids;
  std::set<std::string> all_ids;
  for (const auto& kv : p.resources()) all_ids.insert(std::string(kv.key()));
  bool iam = false, named_iam = false;
  for (const auto& kv : p.resources()) {
    std::string id(kv.key());
    const json::object& def = kv.value().as_object();
    if (const json::value* cond = def.if_contains("Condition")) {
      auto it = ctx.conditions.find(ScalarText(*cond));
      if (it == ctx.conditions.end()) {
        return ValidationError("Template format error: Unresolved dependencies [" +
                               ScalarText(*cond) +
                               "]. Cannot reference resources in the "
                               "Conditions block of the template");
      }
      if (!it->second) continue;
    }
    std::set<std::string> refs;
    if (const json::value* props = def.if_contains("Properties")) CollectReferences(*props, refs);
    if (const json::value* d = def.if_contains("DependsOn")) {
      if (d->is_string()) refs.insert(std::string(d->as_string()));
      if (d->is_array()) {
        for (const auto& x : d->as_array()) refs.insert(ScalarText(x));
      }
    }
    for (const auto& r : refs) {
      if (!all_ids.count(r) && !ctx.parameters.count(r) && !ctx.pseudo.count(r) &&
          r != "AWS::NoValue") {
        return ValidationError("Template format error: Unresolved resource dependencies [" + r +
                               "] in the Resources block of the template");
      }
    }
    const ResourceType* type = TypeOf(JStr(def, "Type"));
    if (type && type->iam) {
      iam = true;
      const json::value* props = def.if_contains("Properties");
      if (!type->name_property.empty() && props && props->is_object() &&
          props->as_object().contains(type->name_property)) {
        named_iam = true;
      }
    }
    ids.push_back(id);
  }
  std::string cycle;
  p.order = DependencyOrder(p.tmpl, ids, &cycle);
  if (!cycle.empty()) {
    return ValidationError("Circular dependency between resources: [" + cycle + "]");
  }
  if (named_iam) {
    p.capabilities_needed.push_back("CAPABILITY_NAMED_IAM");
  } else if (iam) {
    p.capabilities_needed.push_back("CAPABILITY_IAM");
  }
  return p;
}

StatusOr<json::value> StackEngine::Impl::AttributeOf(const ResourceRecord& r,
                                                     const std::string& attribute) const {
  if (const json::value* v = r.physical.attributes.if_contains(attribute)) return *v;
  const ResourceType* t = TypeOf(r.type);
  if (t && t->any_attribute) return json::value(json::string(r.physical.ref));
  return ValidationError("Template error: resource " + r.logical_id +
                         " does not support attribute type " + attribute + " in Fn::GetAtt");
}

}  // namespace bp::cfn
