// Event bus permissions: PutPermission / RemovePermission build and edit the bus's resource
// policy as AWS does (Version 2012-10-17, one statement per StatementId), DescribeEventBus and
// ListEventBuses return it as `Policy`. The policy is part of the bus record, so it is persisted
// with it and dropped with it; it is published on the bus's routes for PutEvents (docs/semantics.md
// "Bus permissions" says what is enforced).
#include <boost/json.hpp>

#include "model/validation.h"
#include "registry/registry_internal.h"

namespace bp::registry {

namespace json = boost::json;
using model::Input;
using model::Validator;

namespace {

// AWS's quota for an event bus policy document (characters of its JSON text).
constexpr size_t kMaxPolicyLength = 10240;

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool StatementIdChars(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
  });
}

bool ActionChars(std::string_view s) {
  if (s.substr(0, 7) != "events:" || s.size() == 7) return false;
  return std::all_of(s.begin() + 7, s.end(),
                     [](char c) { return std::isalpha(static_cast<unsigned char>(c)); });
}

// A string or a list of strings; true if any equals one of `wanted` (or the list is absent and
// `absent_matches`).
bool AnyOf(const json::value* v, std::initializer_list<std::string_view> wanted,
           bool absent_matches) {
  if (!v) return absent_matches;
  auto one = [&](const json::value& x) {
    if (!x.is_string()) return false;
    for (auto w : wanted) {
      if (x.as_string() == w) return true;
    }
    return false;
  };
  if (v->is_array()) {
    for (const auto& x : v->as_array()) {
      if (one(x)) return true;
    }
    return false;
  }
  return one(*v);
}

bool PrincipalMatches(const json::value* p, std::string_view account) {
  if (!p) return false;
  if (p->is_string()) return p->as_string() == "*";
  if (!p->is_object()) return false;
  const std::string root = "arn:aws:iam::" + std::string(account) + ":root";
  return AnyOf(p->as_object().if_contains("AWS"), {"*", account, root}, false);
}

// Only StringEquals on aws:PrincipalOrgID can be evaluated; any other condition fails closed.
bool ConditionHolds(const json::value* c, std::string_view organization) {
  if (!c) return true;
  if (!c->is_object()) return false;
  for (const auto& [op, body] : c->as_object()) {
    if (op != "StringEquals" || !body.is_object()) return false;
    for (const auto& [key, value] : body.as_object()) {
      if (key != "aws:PrincipalOrgID" || organization.empty()) return false;
      if (!AnyOf(&value, {organization}, false)) return false;
    }
  }
  return true;
}

StatusOr<json::object> ParsePolicy(std::string_view text) {
  json::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) {
    return Status::Validation("The policy is not valid JSON: it must be a JSON object.");
  }
  const json::value* st = v.as_object().if_contains("Statement");
  if (!st || !st->is_array()) {
    return Status::Validation("The policy is not valid: it must have a Statement list.");
  }
  for (const auto& s : st->as_array()) {
    const json::object* o = s.if_object();
    if (!o || !AnyOf(o->if_contains("Effect"), {"Allow", "Deny"}, false) ||
        !o->contains("Principal") || !o->contains("Action")) {
      return Status::Validation(
          "The policy is not valid: every statement needs Effect (Allow or Deny), Principal "
          "and Action.");
    }
  }
  return std::move(v.as_object());
}

Status CheckLength(const std::string& policy) {
  if (policy.size() > kMaxPolicyLength) {
    return Status(StatusCode::kPolicyLengthExceeded,
                  "The policy is " + std::to_string(policy.size()) +
                      " characters long; an event bus policy may have at most " +
                      std::to_string(kMaxPolicyLength) + ".");
  }
  return Status::Ok();
}

// The statement AWS builds for PutPermission's Action/Principal/StatementId/Condition.
StatusOr<json::object> BuildStatement(const Input& input, const std::string& bus_arn) {
  BP_ASSIGN_OR_RETURN(auto action, input.String("Action"));
  BP_ASSIGN_OR_RETURN(auto principal, input.String("Principal"));
  BP_ASSIGN_OR_RETURN(auto sid, input.String("StatementId"));
  BP_ASSIGN_OR_RETURN(auto condition, input.Object("Condition"));
  Validator v;
  v.NotNull("action", action.has_value());
  v.NotNull("principal", principal.has_value());
  v.NotNull("statementId", sid.has_value());
  if (action) {
    v.Length("action", *action, 1, 64);
    if (v.ok()) v.Pattern("action", *action, ActionChars(*action), "events:[a-zA-Z]+");
  }
  if (principal) {
    v.Length("principal", *principal, 1, 12);
    bool ok = *principal == "*" || (principal->size() == 12 && AllDigits(*principal));
    v.Pattern("principal", *principal, ok, "(\\d{12}|\\*)");
  }
  if (sid) {
    v.Length("statementId", *sid, 1, 64);
    v.Pattern("statementId", *sid, StatementIdChars(*sid), "[a-zA-Z0-9-_]+");
  }
  std::string type, key, value;
  if (condition) {
    type = JsonString(*condition, "Type");
    key = JsonString(*condition, "Key");
    value = JsonString(*condition, "Value");
    v.NotNull("condition.type", condition->contains("Type"));
    v.NotNull("condition.key", condition->contains("Key"));
    v.NotNull("condition.value", condition->contains("Value"));
  }
  BP_RETURN_IF_ERROR(v.Finish());
  if (*action != "events:PutEvents") {
    return Status::Validation("Provided Action '" + *action +
                              "' is not supported: only events:PutEvents can be granted.");
  }
  if (condition && (type != "StringEquals" || key != "aws:PrincipalOrgID" || value.empty())) {
    return Status::Validation(
        "Condition is not valid: Type must be StringEquals, Key aws:PrincipalOrgID and Value an "
        "organization id.");
  }
  json::object st;
  st["Sid"] = *sid;
  st["Effect"] = "Allow";
  if (*principal == "*") {
    st["Principal"] = "*";
  } else {
    st["Principal"] = json::object{{"AWS", "arn:aws:iam::" + *principal + ":root"}};
  }
  st["Action"] = *action;
  st["Resource"] = bus_arn;
  if (condition) {
    st["Condition"] = json::object{{type, json::object{{key, value}}}};
  }
  return st;
}

}  // namespace

bool PolicyAllowsPutEvents(std::string_view policy, std::string_view bus_arn,
                           std::string_view account, std::string_view organization) {
  if (policy.empty()) return false;
  json::error_code ec;
  json::value v = json::parse(policy, ec);
  if (ec || !v.is_object()) return false;
  const json::value* st = v.as_object().if_contains("Statement");
  if (!st || !st->is_array()) return false;
  bool allowed = false;
  const std::string arn(bus_arn);
  for (const auto& s : st->as_array()) {
    const json::object* o = s.if_object();
    if (!o) continue;
    if (!AnyOf(o->if_contains("Action"), {"events:PutEvents", "events:*", "*"}, false)) continue;
    if (!AnyOf(o->if_contains("Resource"), {arn, "*"}, true)) continue;
    if (!PrincipalMatches(o->if_contains("Principal"), account)) continue;
    if (!ConditionHolds(o->if_contains("Condition"), organization)) continue;
    if (AnyOf(o->if_contains("Effect"), {"Deny"}, false)) return false;
    allowed = true;
  }
  return allowed;
}

StatusOr<std::string> Registry::PermissionBus(const json::object& in) const {
  Input input(in);
  BP_ASSIGN_OR_RETURN(auto given, input.String("EventBusName"));
  std::string bus = given.value_or("default");
  Validator v;
  v.Name("eventBusName", bus, 256);
  BP_RETURN_IF_ERROR(v.Finish());
  if (!buses_.count(bus)) return Status::NotFound("Event bus " + bus + " does not exist.");
  return bus;
}

Status Registry::SetBusPolicy(const std::string& bus, const std::string& policy) {
  json::object record = buses_[bus];
  if (policy.empty()) {
    record.erase("Policy");
  } else {
    record["Policy"] = policy;
  }
  record["LastModifiedTime"] = NowSeconds(clock_);
  store::WriteBatch b;
  b.Put(store::Family::kMeta, BusKey(bus), json::serialize(record));
  BP_RETURN_IF_ERROR(Commit(std::move(b)));
  buses_[bus] = std::move(record);
  RebuildBus(bus);
  return Status::Ok();
}

StatusOr<json::object> Registry::PutPermission(const json::object& in) {
  Input input(in);
  BP_ASSIGN_OR_RETURN(auto policy_text, input.String("Policy"));
  if (policy_text) {
    for (const char* k : {"Action", "Principal", "StatementId", "Condition"}) {
      if (input.Has(k)) {
        return Status::Validation(
            "Policy cannot be combined with Action, Principal, StatementId or Condition.");
      }
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  BP_ASSIGN_OR_RETURN(std::string bus, PermissionBus(in));
  std::string policy;
  if (policy_text) {
    BP_ASSIGN_OR_RETURN(json::object parsed, ParsePolicy(*policy_text));
    policy = json::serialize(parsed);
  } else {
    const std::string arn = model::EventBusArn(options_.partition, bus);
    BP_ASSIGN_OR_RETURN(json::object statement, BuildStatement(input, arn));
    json::object doc;
    doc["Version"] = "2012-10-17";
    doc["Statement"] = json::array();
    if (std::string existing = JsonString(buses_[bus], "Policy"); !existing.empty()) {
      json::error_code ec;
      json::value old = json::parse(existing, ec);
      if (!ec && old.is_object()) doc = std::move(old.as_object());
    }
    if (!doc["Statement"].is_array()) doc["Statement"] = json::array();
    json::array& statements = doc["Statement"].as_array();
    const std::string sid = JsonString(statement, "Sid");
    for (const auto& s : statements) {
      if (s.is_object() && JsonString(s.as_object(), "Sid") == sid) {
        return Status::Validation("Statement with the provided id " + sid + " already exists.");
      }
    }
    statements.push_back(std::move(statement));
    policy = json::serialize(doc);
  }
  BP_RETURN_IF_ERROR(CheckLength(policy));
  BP_RETURN_IF_ERROR(SetBusPolicy(bus, policy));
  return json::object();
}

StatusOr<json::object> Registry::RemovePermission(const json::object& in) {
  Input input(in);
  BP_ASSIGN_OR_RETURN(auto sid, input.String("StatementId"));
  BP_ASSIGN_OR_RETURN(auto remove_all, input.Bool("RemoveAllPermissions"));
  Validator v;
  if (sid) {
    v.Length("statementId", *sid, 1, 64);
    v.Pattern("statementId", *sid, StatementIdChars(*sid), "[a-zA-Z0-9-_]+");
  }
  BP_RETURN_IF_ERROR(v.Finish());
  bool all = remove_all.value_or(false);
  if (!all && !sid) {
    return Status::Validation("Either StatementId or RemoveAllPermissions must be specified.");
  }
  if (all && sid) {
    return Status::Validation("StatementId cannot be combined with RemoveAllPermissions.");
  }
  std::lock_guard<std::mutex> lock(mu_);
  BP_ASSIGN_OR_RETURN(std::string bus, PermissionBus(in));
  std::string existing = JsonString(buses_[bus], "Policy");
  if (all) {
    if (existing.empty()) return json::object();
    BP_RETURN_IF_ERROR(SetBusPolicy(bus, ""));
    return json::object();
  }
  json::error_code ec;
  json::value doc = existing.empty() ? json::value() : json::parse(existing, ec);
  json::array* statements = nullptr;
  if (!ec && doc.is_object()) {
    if (auto* s = doc.as_object().if_contains("Statement"); s && s->is_array()) {
      statements = &s->as_array();
    }
  }
  auto it = statements
                ? std::find_if(statements->begin(), statements->end(),
                               [&](const json::value& s) {
                                 return s.is_object() && JsonString(s.as_object(), "Sid") == *sid;
                               })
                : nullptr;
  if (!statements || it == statements->end()) {
    return Status::NotFound("Statement with the provided id does not exist.");
  }
  statements->erase(it);
  BP_RETURN_IF_ERROR(SetBusPolicy(bus, statements->empty() ? "" : json::serialize(doc)));
  return json::object();
}

}  // namespace bp::registry
