// One resource at a time: create/replace/update steps, deletes, rollback and cleanup passes.
#include <random>

#include "cfn/stack_engine_impl.h"

namespace bp::cfn {

namespace {

std::string RandomSuffix() {
  static constexpr std::string_view kChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  std::random_device rd;
  std::string out;
  for (int i = 0; i < 12; ++i) out += kChars[rd() % kChars.size()];
  return out;
}

// "{stack}-{logicalId}-{RANDOM}", shortened to fit `max` as CloudFormation does.
std::string GenerateName(const std::string& stack, const std::string& logical, size_t max) {
  std::string suffix = "-" + RandomSuffix();
  std::string a = stack, b = logical;
  while (a.size() + 1 + b.size() + suffix.size() > max && (a.size() > 1 || b.size() > 1)) {
    if (a.size() >= b.size()) {
      a.pop_back();
    } else {
      b.pop_back();
    }
  }
  return (a + "-" + b + suffix).substr(0, max);
}

std::string HandlerReason(const Status& s) {
  std::string code = "GeneralServiceException";
  switch (s.code()) {
    case StatusCode::kValidation:
    case StatusCode::kSerialization:
    case StatusCode::kInvalidEventPattern:
      code = "InvalidRequest";
      break;
    case StatusCode::kNotFound:
      code = "NotFound";
      break;
    case StatusCode::kAlreadyExists:
      code = "AlreadyExists";
      break;
    case StatusCode::kLimitExceeded:
      code = "ServiceLimitExceeded";
      break;
    default:
      break;
  }
  return "Resource handler returned message: \"" + s.message() + "\" (HandlerErrorCode: " + code +
         ")";
}

// What a resource that may or may not have been created is, by its planned name.
Physical Provisional(const ResourceRecord& r) {
  if (r.created) return r.physical;
  Physical p;
  p.ref = r.name;
  p.state["Name"] = r.name;
  std::string bus = JStr(r.properties, "EventBusName");
  if (bus.starts_with("arn:")) bus = bus.substr(bus.rfind('/') + 1);
  p.state["EventBusName"] = bus.empty() ? "default" : bus;
  return p;
}

// The template's name for a resource, or a generated one.
std::string PhysicalName(const ResourceType& type, const json::object& props,
                         const std::string& stack, const std::string& logical) {
  if (!type.name_property.empty() && props.contains(type.name_property)) {
    return ScalarText(props.at(type.name_property));
  }
  return GenerateName(stack, logical, type.name_max);
}

enum class Action { kNone, kCreate, kReplace, kUpdate };

// What an existing resource needs for its new properties.
Action PlanAction(const ResourceType& type, const ResourceRecord& old, const std::string& type_name,
                  const json::object& props) {
  if (old.type == type_name && old.properties == props && !old.stale) return Action::kNone;
  if (old.type != type_name || !type.update) return Action::kReplace;
  for (const auto& prop : type.replace_on) {
    const json::value* a = old.properties.if_contains(prop);
    const json::value* b = props.if_contains(prop);
    if ((a == nullptr) != (b == nullptr) || (a && *a != *b)) return Action::kReplace;
  }
  return Action::kUpdate;
}

}  // namespace

EvalContext StackEngine::Impl::ResourceContext(const Prepared& p,
                                               const std::map<std::string, ResourceRecord>& res,
                                               const std::string& stack_id,
                                               std::set<std::string>* imports) {
  EvalContext ctx = p.ctx;
  ctx.resource_ref = [&res](const std::string& l) -> StatusOr<json::value> {
    auto it = res.find(l);
    if (it == res.end() || !it->second.created) {
      return ValidationError("Template error: resource " + l + " is not available");
    }
    return json::value(json::string(it->second.physical.ref));
  };
  ctx.get_att = [this, &res](const std::string& l, const std::string& a) -> StatusOr<json::value> {
    auto it = res.find(l);
    if (it == res.end() || !it->second.created) {
      return ValidationError("Template error: resource " + l + " is not available");
    }
    return AttributeOf(it->second, a);
  };
  ctx.import_value = [this, stack_id, imports](const std::string& name) {
    if (imports) {  // the caller holds mu_
      imports->insert(name);
      return ImportValue(name, stack_id);
    }
    std::lock_guard<std::mutex> lock(mu_);
    stacks_.at(stack_id).current.imports.insert(name);
    return ImportValue(name, stack_id);
  };
  return ctx;
}

Status StackEngine::Impl::FailResource(const std::string& stack_id, const std::string& logical,
                                       const std::string& type, const std::string& status,
                                       const std::string& reason, const std::string& physical) {
  Mutate(stack_id, [&](Stack& s) {
    auto it = s.current.resources.find(logical);
    if (it != s.current.resources.end()) {
      it->second.status = status;
      it->second.status_reason = reason;
    }
    AddEvent(s, logical, physical, type, status, reason);
  });
  return Status::Validation(reason);
}

Status StackEngine::Impl::Step(const std::string& stack_id, Prepared& p,
                               const std::string& logical) {
  const json::object& def = p.resources().at(logical).as_object();
  std::string type_name = JStr(def, "Type");
  std::map<std::string, ResourceRecord> snapshot;
  std::string stack_name, base_url;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const Stack& s = stacks_.at(stack_id);
    snapshot = s.current.resources;
    stack_name = s.name;
    base_url = s.base_url;
  }
  auto fail = [&](const std::string& status, const std::string& reason, std::string physical) {
    return FailResource(stack_id, logical, type_name, status, reason, physical);
  };
  const ResourceType* type = TypeOf(type_name);
  auto existing = snapshot.find(logical);
  bool have = existing != snapshot.end() && existing->second.created;
  std::string failed_status = have ? "UPDATE_FAILED" : "CREATE_FAILED";
  if (!type) {
    return fail(failed_status,
                "Resource type " + type_name +
                    " is not supported by Bridgeport. An operator can "
                    "accept it as a recorded no-op with the cloudformation_noop_types setting.",
                "");
  }
  EvalContext ctx = ResourceContext(p, snapshot, stack_id, nullptr);
  json::object props;
  if (const json::value* raw = def.if_contains("Properties")) {
    auto v = Evaluator(ctx).Eval(*raw);
    if (!v.ok()) return fail(failed_status, v.status().message(), "");
    if (*v && (*v)->is_object()) props = (*v)->as_object();
  }
  Action action = have ? PlanAction(*type, existing->second, type_name, props) : Action::kCreate;
  if (action == Action::kNone) return Status::Ok();
  ResourceRecord rec = have ? existing->second : ResourceRecord{};
  rec.logical_id = logical;
  rec.type = type_name;
  rec.deletion_policy = JStr(def, "DeletionPolicy");
  rec.stale = false;
  rec.updated_ms = deps_.clock->NowMillis();
  std::string started_reason;
  if (action != Action::kUpdate) {
    std::string name = PhysicalName(*type, props, stack_name, logical);
    if (action == Action::kReplace && name == existing->second.name) {
      return fail("UPDATE_FAILED",
                  "CloudFormation cannot update a stack when a custom-named resource requires "
                  "replacing. Rename " +
                      name + " and update the stack again.",
                  existing->second.physical.ref);
    }
    rec.name = name;
    rec.physical = Physical{};
    rec.created = false;
    if (action == Action::kReplace) {
      started_reason =
          "Requested update requires the creation of a new physical resource; hence creating one.";
    }
  }
  rec.properties = props;
  std::string in_progress = action == Action::kCreate ? "CREATE_IN_PROGRESS" : "UPDATE_IN_PROGRESS";
  std::string complete = action == Action::kCreate ? "CREATE_COMPLETE" : "UPDATE_COMPLETE";
  rec.status = in_progress;
  rec.status_reason = started_reason;
  Mutate(stack_id, [&](Stack& s) {
    s.current.resources[logical] = rec;
    AddEvent(s, logical, action == Action::kUpdate ? rec.physical.ref : "", type_name, in_progress,
             started_reason);
  });
  json::value resolved = props;
  Status rs = ResolveDynamicReferences(
      resolved,
      [this](std::string_view svc, std::string_view ref) { return ResolveDynamic(svc, ref); });
  if (!rs.ok()) return fail(failed_status, rs.message(), rec.physical.ref);
  ProviderEnv env = Env(base_url);
  StatusOr<Physical> result = action == Action::kUpdate
                                  ? type->update(env, existing->second.physical,
                                                 existing->second.properties, resolved.as_object())
                                  : type->create(env, rec.name, resolved.as_object());
  if (!result.ok()) {
    return fail(action == Action::kCreate ? "CREATE_FAILED" : "UPDATE_FAILED",
                HandlerReason(result.status()), rec.physical.ref);
  }
  Mutate(stack_id, [&](Stack& s) {
    ResourceRecord& r = s.current.resources[logical];
    r.physical = std::move(*result);
    r.created = true;
    r.status = complete;
    r.status_reason.clear();
    r.updated_ms = deps_.clock->NowMillis();
    AddEvent(s, logical, r.physical.ref, type_name, complete, "");
  });
  return Status::Ok();
}

Status StackEngine::Impl::DeleteResource(const std::string& stack_id, const ResourceRecord& r) {
  Physical phys = Provisional(r);
  std::string base_url;
  Mutate(stack_id, [&](Stack& s) {
    base_url = s.base_url;
    AddEvent(s, r.logical_id, phys.ref, r.type, "DELETE_IN_PROGRESS", "");
  });
  const ResourceType* type = TypeOf(r.type);
  Status st = type ? type->remove(Env(base_url), phys) : Status::Ok();
  Mutate(stack_id, [&](Stack& s) {
    AddEvent(s, r.logical_id, phys.ref, r.type, st.ok() ? "DELETE_COMPLETE" : "DELETE_FAILED",
             st.ok() ? "" : HandlerReason(st));
  });
  return st;
}

}  // namespace bp::cfn
