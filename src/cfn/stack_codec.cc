// JSON encoding of stack records for the store (sealed by the engine before writing).
#include "cfn/intrinsics.h"
#include "cfn/stack_model.h"

namespace bp::cfn {

namespace json = boost::json;

namespace {

std::string S(const json::object& o, std::string_view k) {
  const json::value* v = o.if_contains(k);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}
int64_t I(const json::object& o, std::string_view k) {
  const json::value* v = o.if_contains(k);
  return v && v->is_int64() ? v->as_int64() : 0;
}
json::object O(const json::object& o, std::string_view k) {
  const json::value* v = o.if_contains(k);
  return v && v->is_object() ? v->as_object() : json::object();
}
json::array A(const json::object& o, std::string_view k) {
  const json::value* v = o.if_contains(k);
  return v && v->is_array() ? v->as_array() : json::array();
}

json::object EncodeResource(const ResourceRecord& r) {
  return {{"LogicalId", r.logical_id},
          {"Type", r.type},
          {"Status", r.status},
          {"Reason", r.status_reason},
          {"Name", r.name},
          {"Properties", r.properties},
          {"Ref", r.physical.ref},
          {"Attributes", r.physical.attributes},
          {"State", r.physical.state},
          {"Created", r.created},
          {"Stale", r.stale},
          {"DeletionPolicy", r.deletion_policy},
          {"UpdatedMs", r.updated_ms}};
}

ResourceRecord DecodeResource(const json::object& o) {
  ResourceRecord r;
  r.logical_id = S(o, "LogicalId");
  r.type = S(o, "Type");
  r.status = S(o, "Status");
  r.status_reason = S(o, "Reason");
  r.name = S(o, "Name");
  r.properties = O(o, "Properties");
  r.physical.ref = S(o, "Ref");
  r.physical.attributes = O(o, "Attributes");
  r.physical.state = O(o, "State");
  const json::value* c = o.if_contains("Created");
  r.created = c && c->is_bool() && c->as_bool();
  const json::value* st = o.if_contains("Stale");
  r.stale = st && st->is_bool() && st->as_bool();
  r.deletion_policy = S(o, "DeletionPolicy");
  r.updated_ms = I(o, "UpdatedMs");
  return r;
}

json::object EncodeVersion(const StackVersion& v) {
  json::object resources;
  for (const auto& [id, r] : v.resources) resources[id] = EncodeResource(r);
  json::array imports;
  for (const auto& i : v.imports) imports.push_back(json::string(i));
  return {{"Template", v.template_json}, {"Body", v.template_body},
          {"Parameters", v.parameters},  {"Resources", std::move(resources)},
          {"Outputs", v.outputs},        {"Imports", std::move(imports)}};
}

StackVersion DecodeVersion(const json::object& o) {
  StackVersion v;
  if (const json::value* t = o.if_contains("Template")) v.template_json = *t;
  v.template_body = S(o, "Body");
  v.parameters = A(o, "Parameters");
  for (const auto& kv : O(o, "Resources")) {
    if (kv.value().is_object()) v.resources[kv.key()] = DecodeResource(kv.value().as_object());
  }
  v.outputs = A(o, "Outputs");
  for (const auto& i : A(o, "Imports")) {
    if (i.is_string()) v.imports.insert(std::string(i.as_string()));
  }
  return v;
}

json::object EncodeChangeSet(const ChangeSet& c) {
  return {{"Id", c.id},
          {"Name", c.name},
          {"Type", c.type},
          {"Status", c.status},
          {"ExecutionStatus", c.execution_status},
          {"Reason", c.status_reason},
          {"Description", c.description},
          {"Body", c.template_body},
          {"Parameters", c.parameters},
          {"Capabilities", c.capabilities},
          {"Tags", c.tags},
          {"Changes", c.changes},
          {"CreatedMs", c.created_ms}};
}

ChangeSet DecodeChangeSet(const json::object& o) {
  ChangeSet c;
  c.id = S(o, "Id");
  c.name = S(o, "Name");
  c.type = S(o, "Type");
  c.status = S(o, "Status");
  c.execution_status = S(o, "ExecutionStatus");
  c.status_reason = S(o, "Reason");
  c.description = S(o, "Description");
  c.template_body = S(o, "Body");
  c.parameters = A(o, "Parameters");
  c.capabilities = A(o, "Capabilities");
  c.tags = A(o, "Tags");
  c.changes = A(o, "Changes");
  c.created_ms = I(o, "CreatedMs");
  return c;
}

}  // namespace

json::object EncodeStack(const Stack& s) {
  json::array events;
  for (const auto& e : s.events) events.push_back(e);
  json::object change_sets;
  for (const auto& [name, c] : s.change_sets) change_sets[name] = EncodeChangeSet(c);
  json::object out{{"Id", s.id},
                   {"Name", s.name},
                   {"Status", s.status},
                   {"Reason", s.status_reason},
                   {"Description", s.description},
                   {"CreatedMs", s.created_ms},
                   {"UpdatedMs", s.updated_ms},
                   {"DeletedMs", s.deleted_ms},
                   {"DisableRollback", s.disable_rollback},
                   {"OnFailure", s.on_failure},
                   {"Tags", s.tags},
                   {"Capabilities", s.capabilities},
                   {"BaseUrl", s.base_url},
                   {"ChangeSetId", s.change_set_id},
                   {"Current", EncodeVersion(s.current)},
                   {"Events", std::move(events)},
                   {"ChangeSets", std::move(change_sets)}};
  if (s.previous) out["Previous"] = EncodeVersion(*s.previous);
  return out;
}

StatusOr<Stack> DecodeStack(const json::object& o) {
  Stack s;
  s.id = S(o, "Id");
  s.name = S(o, "Name");
  if (s.id.empty() || s.name.empty()) return Status::Corruption("stack record without id/name");
  s.status = S(o, "Status");
  s.status_reason = S(o, "Reason");
  s.description = S(o, "Description");
  s.created_ms = I(o, "CreatedMs");
  s.updated_ms = I(o, "UpdatedMs");
  s.deleted_ms = I(o, "DeletedMs");
  const json::value* dr = o.if_contains("DisableRollback");
  s.disable_rollback = dr && dr->is_bool() && dr->as_bool();
  s.on_failure = S(o, "OnFailure");
  s.tags = A(o, "Tags");
  s.capabilities = A(o, "Capabilities");
  s.base_url = S(o, "BaseUrl");
  s.change_set_id = S(o, "ChangeSetId");
  s.current = DecodeVersion(O(o, "Current"));
  if (const json::value* p = o.if_contains("Previous"); p && p->is_object()) {
    s.previous = DecodeVersion(p->as_object());
  }
  for (const auto& e : A(o, "Events")) {
    if (e.is_object()) s.events.push_back(e.as_object());
  }
  for (const auto& kv : O(o, "ChangeSets")) {
    if (kv.value().is_object()) s.change_sets[kv.key()] = DecodeChangeSet(kv.value().as_object());
  }
  return s;
}

}  // namespace bp::cfn
