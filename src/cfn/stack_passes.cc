// Whole-stack passes run by the worker after a forward pass: update cleanup, rollback, delete.
#include "cfn/stack_engine_impl.h"

namespace bp::cfn {

namespace {

bool Retained(const ResourceRecord& r) {
  return r.deletion_policy == "Retain" || r.deletion_policy == "RetainExceptOnCreate";
}

std::vector<std::string> Keys(const std::map<std::string, ResourceRecord>& m) {
  std::vector<std::string> out;
  for (const auto& [k, v] : m) out.push_back(k);
  return out;
}

}  // namespace

void StackEngine::Impl::RunCleanup(const std::string& stack_id) {
  StackVersion prev, cur;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const Stack& s = stacks_.at(stack_id);
    if (s.previous) prev = *s.previous;
    cur = s.current;
  }
  std::vector<std::string> order = DependencyOrder(prev.template_json, Keys(prev.resources));
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    const ResourceRecord& old = prev.resources.at(*it);
    auto now = cur.resources.find(*it);
    bool gone = now == cur.resources.end() || now->second.stale ||
                now->second.physical.ref != old.physical.ref;
    if (!gone) continue;
    // A failure here does not fail the update (as in CloudFormation): the event records it.
    if (old.created && !Retained(old)) DeleteResource(stack_id, old).IgnoreError();
    if (now != cur.resources.end() && now->second.stale) {
      Mutate(stack_id, [&](Stack& s) { s.current.resources.erase(*it); });
    }
  }
  Mutate(stack_id, [&](Stack& s) {
    s.previous.reset();
    SetStatus(s, "UPDATE_COMPLETE", "");
    FinishChangeSet(s, true);
  });
}

Status StackEngine::Impl::RollbackOne(const std::string& stack_id, const ResourceRecord& r,
                                      const ResourceRecord* old) {
  bool is_new = !old || !old->created || old->type != r.type ||
                (r.created && old->physical.ref != r.physical.ref) ||
                (!r.created && r.name != old->name);
  if (is_new) {
    if (!r.created && !r.status.ends_with("IN_PROGRESS")) return Status::Ok();  // never created
    return DeleteResource(stack_id, r);
  }
  if (r.properties == old->properties && !r.status.ends_with("IN_PROGRESS") &&
      !r.status.ends_with("FAILED")) {
    return Status::Ok();
  }
  const ResourceType* type = TypeOf(r.type);
  if (!type || !type->update) return Status::Ok();
  std::string base_url;
  Mutate(stack_id, [&](Stack& s) {
    base_url = s.base_url;
    AddEvent(s, r.logical_id, r.physical.ref, r.type, "UPDATE_IN_PROGRESS", "");
  });
  json::value resolved = old->properties;
  Status st = ResolveDynamicReferences(
      resolved,
      [this](std::string_view svc, std::string_view ref) { return ResolveDynamic(svc, ref); });
  if (st.ok()) {
    auto result = type->update(Env(base_url), old->physical, r.properties, resolved.as_object());
    st = result.status();
  }
  Mutate(stack_id, [&](Stack& s) {
    AddEvent(s, r.logical_id, r.physical.ref, r.type, st.ok() ? "UPDATE_COMPLETE" : "UPDATE_FAILED",
             st.ok() ? "" : st.message());
  });
  return st;
}

void StackEngine::Impl::RunRollback(const std::string& stack_id, const std::string& reason) {
  StackVersion cur;
  std::optional<StackVersion> prev;
  std::string on_failure;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const Stack& s = stacks_.at(stack_id);
    cur = s.current;
    prev = s.previous;
    on_failure = s.on_failure;
  }
  bool update = prev.has_value();
  bool ok = true;
  std::vector<std::string> order = DependencyOrder(cur.template_json, Keys(cur.resources));
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    const ResourceRecord& r = cur.resources.at(*it);
    const ResourceRecord* old = nullptr;
    if (update) {
      auto o = prev->resources.find(*it);
      if (o != prev->resources.end()) old = &o->second;
    }
    if (!update && Retained(r) && r.deletion_policy == "Retain") continue;
    if (!RollbackOne(stack_id, r, old).ok()) ok = false;
  }
  Mutate(stack_id, [&](Stack& s) {
    FinishChangeSet(s, false);
    if (update) {
      s.current = std::move(*s.previous);
      s.previous.reset();
      if (ok) {
        SetStatus(s, "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS", "");
        SetStatus(s, "UPDATE_ROLLBACK_COMPLETE", "");
      } else {
        SetStatus(s, "UPDATE_ROLLBACK_FAILED", reason);
      }
      return;
    }
    if (!ok) {
      SetStatus(s, "ROLLBACK_FAILED", reason);
      return;
    }
    s.current.resources.clear();
    SetStatus(s, "ROLLBACK_COMPLETE", "");
    if (on_failure == "DELETE") {
      SetStatus(s, "DELETE_COMPLETE", "");
      s.deleted_ms = deps_.clock->NowMillis();
    }
  });
}

void StackEngine::Impl::RunDelete(const std::string& stack_id) {
  StackVersion cur;
  std::string blocked;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const Stack& s = stacks_.at(stack_id);
    cur = s.current;
    for (const auto& o : s.current.outputs) {
      std::string name = JStr(o.as_object(), "ExportName");
      if (name.empty()) continue;
      for (const auto& [id, other] : stacks_) {
        if (id != stack_id && other.live() && other.current.imports.count(name)) {
          blocked = "Export " + name + " cannot be deleted as it is in use by " + other.name;
        }
      }
    }
  }
  if (!blocked.empty()) {
    Mutate(stack_id, [&](Stack& s) { SetStatus(s, "DELETE_FAILED", blocked); });
    return;
  }
  std::vector<std::string> order = DependencyOrder(cur.template_json, Keys(cur.resources));
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    const ResourceRecord& r = cur.resources.at(*it);
    if (Retained(r)) {
      Mutate(stack_id, [&](Stack& s) {
        AddEvent(s, r.logical_id, r.physical.ref, r.type, "DELETE_SKIPPED", "");
        s.current.resources.erase(r.logical_id);
      });
      continue;
    }
    if (r.created || r.status.ends_with("IN_PROGRESS")) {
      if (!DeleteResource(stack_id, r).ok()) {
        Mutate(stack_id, [&](Stack& s) {
          s.current.resources[r.logical_id].status = "DELETE_FAILED";
          SetStatus(s, "DELETE_FAILED",
                    "The following resource(s) failed to delete: [" + r.logical_id + "]. ");
        });
        return;
      }
    }
    Mutate(stack_id, [&](Stack& s) { s.current.resources.erase(r.logical_id); });
  }
  Mutate(stack_id, [&](Stack& s) {
    SetStatus(s, "DELETE_COMPLETE", "");
    s.deleted_ms = deps_.clock->NowMillis();
    s.change_sets.clear();
  });
}

}  // namespace bp::cfn
