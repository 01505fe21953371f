// Internals of StackEngine shared by its .cc files.
#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "cfn/intrinsics.h"
#include "cfn/stack_engine.h"
#include "cfn/stack_model.h"

namespace bp::cfn {

namespace json = boost::json;

// Error statuses with CloudFormation's codes (see StackEngine::ErrorCode).
Status ValidationError(std::string message);  // ValidationError
Status StackNotFound(std::string_view name);  // ValidationError "Stack with id X does not exist"
Status AlreadyExists(std::string message);    // AlreadyExistsException
Status ChangeSetNotFound(std::string_view name);  // ChangeSetNotFound (404)
Status InsufficientCapabilities(std::string message);
Status InvalidChangeSetStatus(std::string message);

std::string JStr(const json::object& o, std::string_view k);
std::string IsoMillis(int64_t ms);

// A template made ready to run: parameters resolved, conditions evaluated, resources ordered.
struct Prepared {
  json::value tmpl;
  std::string body;
  json::array parameters;          // [{ParameterKey, ParameterValue}] for the stack record
  EvalContext ctx;                 // without resource callbacks
  std::vector<std::string> order;  // resources whose Condition holds, in dependency order
  std::vector<std::string> capabilities_needed;
  std::string description;
  const json::object& resources() const { return tmpl.as_object().at("Resources").as_object(); }
};

// What the worker does to a stack.
enum class Work { kCreate, kUpdate, kDelete, kRecover };

class StackEngine::Impl {
 public:
  Impl(StackEngineDeps deps, StackEngineOptions options);
  ~Impl();
  Status Load();
  void Start();

  bool Handle(std::string_view op, const json::object& in, const CallContext& ctx,
              StackReply reply);

  // --- stack_prepare.cc ---
  // `previous`: parameters of the stack being updated (UsePreviousValue).
  StatusOr<Prepared> Prepare(std::string_view body, const json::array& params_in,
                             const json::array* previous, const std::string& stack_name,
                             const std::string& stack_id);
  // Conditions, Rules, reference and capability checks, dependency order.
  StatusOr<Prepared> FinishPrepare(Prepared p);
  StatusOr<std::string> ResolveSsm(const std::string& name);
  StatusOr<std::string> ResolveDynamic(std::string_view service, std::string_view reference);
  const ResourceType* TypeOf(std::string_view type) const;
  // `ids` in dependency order (Ref, Fn::GetAtt, Fn::Sub, DependsOn). Resources on a cycle go
  // last, and `cycle` (if given) names them.
  std::vector<std::string> DependencyOrder(const json::value& tmpl,
                                           const std::vector<std::string>& ids,
                                           std::string* cycle = nullptr) const;
  // Fn::GetAtt of a created resource.
  StatusOr<json::value> AttributeOf(const ResourceRecord& r, const std::string& attribute) const;

  // --- stack_mutations.cc (API handlers that start work) ---
  StatusOr<json::object> CreateStack(const json::object& in, const CallContext& ctx,
                                     std::string* started);
  StatusOr<json::object> UpdateStack(const json::object& in, std::string* started);
  StatusOr<json::object> DeleteStack(const json::object& in, std::string* started);
  StatusOr<json::object> CreateChangeSet(const json::object& in, const CallContext& ctx);
  StatusOr<json::object> ExecuteChangeSet(const json::object& in, std::string* started);
  StatusOr<json::object> DeleteChangeSet(const json::object& in);
  json::array PreviewChanges(const Stack& stack, const Prepared& p);

  // --- stack_views.cc (read-only operations) ---
  StatusOr<json::object> DescribeStacks(const json::object& in);
  StatusOr<json::object> ListStacks(const json::object& in);
  StatusOr<json::object> DescribeStackEvents(const json::object& in);
  StatusOr<json::object> DescribeStackResource(const json::object& in);
  StatusOr<json::object> DescribeStackResources(const json::object& in);
  StatusOr<json::object> ListStackResources(const json::object& in);
  StatusOr<json::object> GetTemplate(const json::object& in);
  StatusOr<json::object> ValidateTemplate(const json::object& in);
  StatusOr<json::object> GetTemplateSummary(const json::object& in);
  StatusOr<json::object> DescribeChangeSet(const json::object& in);
  StatusOr<json::object> ListChangeSets(const json::object& in);
  json::object StackView(const Stack& s) const;

  // --- stack_run.cc (worker) ---
  void Run(const std::string& stack_id, Work work);
  void RunCreateOrUpdate(const std::string& stack_id, bool update);
  void RunDelete(const std::string& stack_id);
  void RunRollback(const std::string& stack_id, const std::string& reason);
  void RunCleanup(const std::string& stack_id);
  Status Forward(const std::string& stack_id, Prepared& p, bool update, std::string* failed);
  StatusOr<json::array> EvaluateOutputs(const std::string& stack_id, Prepared& p,
                                        std::set<std::string>* imports);
  Status DeleteResource(const std::string& stack_id, const ResourceRecord& r);
  // Creates, replaces or updates one resource of the template (Forward's step).
  Status Step(const std::string& stack_id, Prepared& p, const std::string& logical);
  // Marks a resource failed (record and event); returns the reason as an error.
  Status FailResource(const std::string& stack_id, const std::string& logical,
                      const std::string& type, const std::string& status, const std::string& reason,
                      const std::string& physical);
  Status RollbackOne(const std::string& stack_id, const ResourceRecord& r,
                     const ResourceRecord* old);
  // Runs `f` on the stack under mu_ and persists it.
  void Mutate(const std::string& stack_id, const std::function<void(Stack&)>& f);
  void FinishChangeSet(Stack& s, bool ok);
  ProviderEnv Env(const std::string& base_url) const;
  // An evaluation context whose Ref/Fn::GetAtt read `resources` (which must outlive it).
  // `imports`: where Fn::ImportValue records names when the caller holds mu_; null: the context
  // takes mu_ itself and records them on the stack.
  EvalContext ResourceContext(const Prepared& p,
                              const std::map<std::string, ResourceRecord>& resources,
                              const std::string& stack_id, std::set<std::string>* imports);

  // --- stack_engine.cc (shared state) ---
  // Callers hold mu_.
  Stack* FindLive(std::string_view name_or_id);
  Stack* FindAny(std::string_view name_or_id);
  Status Persist(const Stack& s);
  void AddEvent(Stack& s, const std::string& logical, const std::string& physical,
                const std::string& type, const std::string& status, const std::string& reason);
  void SetStatus(Stack& s, const std::string& status, const std::string& reason);
  // Lookups across stacks for Fn::ImportValue. Callers hold mu_.
  StatusOr<json::value> ImportValue(const std::string& name, const std::string& importer_id);
  std::string ExporterOf(const std::string& export_name, const std::string& except_id);

  // Queues `work` for the worker; `reply` (may be empty) is answered when it is done or after
  // the reply wait.
  void Enqueue(const std::string& stack_id, Work work, StackReply reply, json::object result);

  const StackEngineDeps deps_;
  const StackEngineOptions options_;
  std::vector<ResourceType> types_;

  std::mutex mu_;
  std::map<std::string, Stack> stacks_;  // by stack id; GUARDED_BY(mu_)

 private:
  struct Pending {
    std::string stack_id;
    Work work;
  };
  struct Waiter {
    std::string stack_id;
    int64_t deadline_ms;
    StackReply reply;
    json::object result;
  };
  void WorkerLoop();
  void TimerLoop();
  void Answer(const std::string& stack_id);

  std::mutex work_mu_;
  std::condition_variable work_cv_;
  std::deque<Pending> work_;     // GUARDED_BY(work_mu_)
  std::vector<Waiter> waiters_;  // GUARDED_BY(work_mu_)
  bool stopping_ = false;        // GUARDED_BY(work_mu_)
  std::thread worker_, timer_;
};

}  // namespace bp::cfn
