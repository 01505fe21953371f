// The worker's side of the stack engine: create/update forward passes, cleanup, rollback, delete
// and crash recovery. Each resource call happens without mu_ held; the record is persisted before
// and after it.
#include "cfn/stack_engine_impl.h"
#include "common/log.h"

namespace bp::cfn {

namespace {

constexpr std::string_view kRestartReason =
    "Bridgeport restarted while this stack operation was in progress.";

}  // namespace

ProviderEnv StackEngine::Impl::Env(const std::string& base_url) const {
  ProviderEnv env;
  env.events = deps_.events;
  env.queues = deps_.queues;
  env.secrets = deps_.secrets;
  env.pipes = deps_.pipes;
  env.region = options_.region;
  env.account = options_.account;
  env.base_url = base_url.empty() ? "http://127.0.0.1:4010" : base_url;
  return env;
}

void StackEngine::Impl::Mutate(const std::string& stack_id, const std::function<void(Stack&)>& f) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = stacks_.find(stack_id);
  if (it == stacks_.end()) return;
  f(it->second);
  Status s = Persist(it->second);
  if (!s.ok()) {
    log::Error("cloudformation", "cannot persist stack",
               {{"stack", it->second.name}, {"error", s.ToString()}});
  }
}

void StackEngine::Impl::FinishChangeSet(Stack& s, bool ok) {
  for (auto& [name, c] : s.change_sets) {
    if (c.id == s.change_set_id) c.execution_status = ok ? "EXECUTE_COMPLETE" : "EXECUTE_FAILED";
  }
}

void StackEngine::Impl::Run(const std::string& stack_id, Work work) {
  std::string status;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = stacks_.find(stack_id);
    if (it == stacks_.end()) return;
    status = it->second.status;
  }
  switch (work) {
    case Work::kCreate:
      return RunCreateOrUpdate(stack_id, false);
    case Work::kUpdate:
      return RunCreateOrUpdate(stack_id, true);
    case Work::kDelete:
      return RunDelete(stack_id);
    case Work::kRecover:
      break;
  }
  std::string reason(kRestartReason);
  if (status == "CREATE_IN_PROGRESS" || status == "ROLLBACK_IN_PROGRESS") {
    Mutate(stack_id, [&](Stack& s) {
      if (s.status == "CREATE_IN_PROGRESS") SetStatus(s, "ROLLBACK_IN_PROGRESS", reason);
    });
    RunRollback(stack_id, reason);
  } else if (status == "UPDATE_IN_PROGRESS" || status == "UPDATE_ROLLBACK_IN_PROGRESS" ||
             status == "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS") {
    Mutate(stack_id, [&](Stack& s) {
      if (s.status == "UPDATE_IN_PROGRESS") SetStatus(s, "UPDATE_ROLLBACK_IN_PROGRESS", reason);
    });
    RunRollback(stack_id, reason);
  } else if (status == "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS") {
    RunCleanup(stack_id);
  } else if (status == "DELETE_IN_PROGRESS") {
    RunDelete(stack_id);
  }
}

void StackEngine::Impl::RunCreateOrUpdate(const std::string& stack_id, bool update) {
  std::string body, name;
  json::array params;
  bool disable_rollback = false;
  std::string on_failure;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const Stack& s = stacks_.at(stack_id);
    body = s.current.template_body;
    params = s.current.parameters;
    name = s.name;
    disable_rollback = s.disable_rollback;
    on_failure = s.on_failure;
  }
  std::string failed;
  auto prepared = Prepare(body, params, nullptr, name, stack_id);
  Status st = prepared.status();
  if (st.ok()) st = Forward(stack_id, *prepared, update, &failed);
  std::set<std::string> imports;
  json::array outputs;
  if (st.ok()) {
    auto out = EvaluateOutputs(stack_id, *prepared, &imports);
    if (out.ok()) {
      outputs = std::move(*out);
    } else {
      st = out.status();
    }
  }
  if (st.ok()) {
    Mutate(stack_id, [&](Stack& s) {
      s.current.outputs = outputs;
      s.current.imports.insert(imports.begin(), imports.end());
      for (auto& [id, r] : s.current.resources) {
        r.stale =
            std::find(prepared->order.begin(), prepared->order.end(), id) == prepared->order.end();
      }
      if (update) {
        SetStatus(s, "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", "");
      } else {
        SetStatus(s, "CREATE_COMPLETE", "");
        FinishChangeSet(s, true);
      }
    });
    if (update) RunCleanup(stack_id);
    return;
  }
  std::string reason = failed.empty()
                           ? st.message()
                           : "The following resource(s) failed to " +
                                 std::string(update ? "update" : "create") + ": [" + failed + "]. ";
  if (disable_rollback || (!update && on_failure == "DO_NOTHING")) {
    Mutate(stack_id, [&](Stack& s) {
      SetStatus(s, update ? "UPDATE_FAILED" : "CREATE_FAILED", reason);
      s.previous.reset();
      FinishChangeSet(s, false);
    });
    return;
  }
  Mutate(stack_id, [&](Stack& s) {
    SetStatus(s, update ? "UPDATE_ROLLBACK_IN_PROGRESS" : "ROLLBACK_IN_PROGRESS",
              reason + (update ? "" : "Rollback requested by user."));
  });
  RunRollback(stack_id, reason);
}

Status StackEngine::Impl::Forward(const std::string& stack_id, Prepared& p, bool update,
                                  std::string* failed) {
  (void)update;
  for (const auto& logical : p.order) {
    Status s = Step(stack_id, p, logical);
    if (!s.ok()) {
      *failed = logical;
      return s;
    }
  }
  return Status::Ok();
}

StatusOr<json::array> StackEngine::Impl::EvaluateOutputs(const std::string& stack_id, Prepared& p,
                                                         std::set<std::string>* imports) {
  const json::value* outs = p.tmpl.as_object().if_contains("Outputs");
  json::array result;
  if (!outs) return result;
  std::lock_guard<std::mutex> lock(mu_);
  const Stack& stack = stacks_.at(stack_id);
  EvalContext ctx = ResourceContext(p, stack.current.resources, stack_id, imports);
  Evaluator ev(ctx);
  for (const auto& kv : outs->as_object()) {
    if (!kv.value().is_object()) continue;
    const json::object& o = kv.value().as_object();
    if (const json::value* c = o.if_contains("Condition")) {
      auto it = ctx.conditions.find(ScalarText(*c));
      if (it != ctx.conditions.end() && !it->second) continue;
    }
    json::object out{{"OutputKey", kv.key()}};
    if (const json::value* v = o.if_contains("Value")) {
      BP_ASSIGN_OR_RETURN(auto value, ev.Eval(*v));
      out["OutputValue"] = value ? ScalarText(*value) : "";
    }
    if (const json::value* d = o.if_contains("Description")) out["Description"] = ScalarText(*d);
    if (const json::value* e = o.if_contains("Export"); e && e->is_object()) {
      if (const json::value* n = e->as_object().if_contains("Name")) {
        BP_ASSIGN_OR_RETURN(auto name, ev.Eval(*n));
        std::string export_name = name ? ScalarText(*name) : "";
        std::string other = ExporterOf(export_name, stack_id);
        if (!other.empty()) {
          return ValidationError("Export with name " + export_name +
                                 " is already exported by stack " + stacks_.at(other).name);
        }
        out["ExportName"] = export_name;
      }
    }
    result.push_back(std::move(out));
  }
  return result;
}

}  // namespace bp::cfn
