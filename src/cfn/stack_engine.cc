#include "cfn/stack_engine.h"

#include "cfn/stack_engine_impl.h"
#include "common/ids.h"
#include "common/log.h"

namespace bp::cfn {

namespace {

constexpr std::string_view kKeyPrefix = "cloudformation/stack/";
constexpr size_t kMaxEvents = 2000;

std::string Key(std::string_view id) { return std::string(kKeyPrefix) + std::string(id); }

}  // namespace

Status ValidationError(std::string message) { return Status::Validation(std::move(message)); }
Status StackNotFound(std::string_view name) {
  return Status::Validation("Stack with id " + std::string(name) + " does not exist");
}
Status AlreadyExists(std::string message) { return Status::AlreadyExists(std::move(message)); }
Status ChangeSetNotFound(std::string_view name) {
  return Status::NotFound("ChangeSet [" + std::string(name) + "] does not exist");
}
// Status codes CloudFormation has no other use for carry its capability and change-set errors.
Status InsufficientCapabilities(std::string message) {
  return {StatusCode::kIllegalStatus, std::move(message)};
}
Status InvalidChangeSetStatus(std::string message) {
  return {StatusCode::kInvalidState, std::move(message)};
}

std::string JStr(const json::object& o, std::string_view k) {
  const json::value* v = o.if_contains(k);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

std::string IsoMillis(int64_t ms) {
  std::string s = FormatIso8601(ms / 1000);  // "...:05Z"
  char frac[8];
  std::snprintf(frac, sizeof(frac), ".%03d", static_cast<int>(ms % 1000));
  return s.substr(0, s.size() - 1) + frac + "Z";
}

std::string_view StackEngine::ErrorCode(const Status& s) {
  switch (s.code()) {
    case StatusCode::kValidation:
    case StatusCode::kSerialization:
      return "ValidationError";
    case StatusCode::kAlreadyExists:
      return "AlreadyExistsException";
    case StatusCode::kNotFound:
      return "ChangeSetNotFound";
    case StatusCode::kIllegalStatus:
      return "InsufficientCapabilitiesException";
    case StatusCode::kInvalidState:
      return "InvalidChangeSetStatus";
    case StatusCode::kLimitExceeded:
      return "LimitExceededException";
    default:
      return "InternalFailure";
  }
}

int StackEngine::HttpStatus(const Status& s) {
  std::string_view code = ErrorCode(s);
  if (code == "InternalFailure") return 500;
  return code == "ChangeSetNotFound" ? 404 : 400;
}

StackEngine::Impl::Impl(StackEngineDeps deps, StackEngineOptions options)
    : deps_(std::move(deps)),
      options_(std::move(options)),
      types_(BuiltinResourceTypes(options_.noop_types)) {}

StackEngine::Impl::~Impl() {
  {
    std::lock_guard<std::mutex> lock(work_mu_);
    stopping_ = true;
  }
  work_cv_.notify_all();
  if (worker_.joinable()) worker_.join();
  if (timer_.joinable()) timer_.join();
  // Whoever still waits gets the result they were promised (their operation is persisted and
  // will be finished by recovery on the next start).
  for (auto& w : waiters_) w.reply(std::move(w.result));
}

Status StackEngine::Impl::Load() {
  std::string begin(kKeyPrefix);
  Status inner = Status::Ok();
  Status scan = deps_.store->Scan(
      store::Family::kMeta, begin, store::PrefixEnd(begin),
      [&](std::string_view key, std::string_view value) {
        auto plain = deps_.sealer.open(value, key);
        json::error_code ec;
        json::value v = plain.ok() ? json::parse(*plain, ec) : json::value();
        if (!plain.ok() || ec || !v.is_object()) {
          inner = Status::Corruption("stack record " + std::string(key) + " cannot be read");
          return false;
        }
        auto stack = DecodeStack(v.as_object());
        if (!stack.ok()) {
          inner = stack.status();
          return false;
        }
        stacks_[stack->id] = std::move(*stack);
        return true;
      });
  BP_RETURN_IF_ERROR(scan);
  return inner;
}

void StackEngine::Impl::Start() {
  worker_ = std::thread([this] { WorkerLoop(); });
  timer_ = std::thread([this] { TimerLoop(); });
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [id, s] : stacks_) {
    if (s.status.ends_with("_IN_PROGRESS") && s.status != "REVIEW_IN_PROGRESS") {
      log::Warn("cloudformation", "finishing a stack operation interrupted by a restart",
                {{"stack", s.name}, {"status", s.status}});
      Enqueue(id, Work::kRecover, nullptr, {});
    }
  }
}

void StackEngine::Impl::Enqueue(const std::string& stack_id, Work work, StackReply reply,
                                json::object result) {
  {
    std::lock_guard<std::mutex> lock(work_mu_);
    work_.push_back({stack_id, work});
    if (reply) {
      waiters_.push_back({stack_id, deps_.clock->NowMillis() + options_.reply_wait_ms,
                          std::move(reply), std::move(result)});
    }
  }
  work_cv_.notify_all();
}

void StackEngine::Impl::Answer(const std::string& stack_id) {
  std::vector<Waiter> done;
  {
    std::lock_guard<std::mutex> lock(work_mu_);
    for (auto it = waiters_.begin(); it != waiters_.end();) {
      if (it->stack_id == stack_id) {
        done.push_back(std::move(*it));
        it = waiters_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& w : done) w.reply(std::move(w.result));
}

void StackEngine::Impl::WorkerLoop() {
  while (true) {
    Pending next;
    {
      std::unique_lock<std::mutex> lock(work_mu_);
      work_cv_.wait(lock, [&] { return stopping_ || !work_.empty(); });
      if (stopping_) return;
      next = std::move(work_.front());
      work_.pop_front();
    }
    Run(next.stack_id, next.work);
    Answer(next.stack_id);
  }
}

void StackEngine::Impl::TimerLoop() {
  std::unique_lock<std::mutex> lock(work_mu_);
  while (!stopping_) {
    work_cv_.wait_for(lock, std::chrono::milliseconds(100));
    int64_t now = deps_.clock->NowMillis();
    std::vector<Waiter> expired;
    for (auto it = waiters_.begin(); it != waiters_.end();) {
      if (it->deadline_ms <= now) {
        expired.push_back(std::move(*it));
        it = waiters_.erase(it);
      } else {
        ++it;
      }
    }
    lock.unlock();
    for (auto& w : expired) w.reply(std::move(w.result));
    lock.lock();
  }
}

Stack* StackEngine::Impl::FindLive(std::string_view name_or_id) {
  for (auto& [id, s] : stacks_) {
    if (!s.live()) continue;
    if (s.name == name_or_id || s.id == name_or_id) return &s;
  }
  return nullptr;
}

Stack* StackEngine::Impl::FindAny(std::string_view name_or_id) {
  if (Stack* s = FindLive(name_or_id)) return s;
  auto it = stacks_.find(std::string(name_or_id));
  return it == stacks_.end() ? nullptr : &it->second;
}

Status StackEngine::Impl::Persist(const Stack& s) {
  store::WriteBatch b;
  std::string key = Key(s.id);
  b.Put(store::Family::kMeta, key, deps_.sealer.seal(json::serialize(EncodeStack(s)), key));
  return deps_.store->Write(std::move(b));
}

void StackEngine::Impl::AddEvent(Stack& s, const std::string& logical, const std::string& physical,
                                 const std::string& type, const std::string& status,
                                 const std::string& reason) {
  json::object e{{"StackId", s.id},
                 {"EventId", NewUuid()},
                 {"StackName", s.name},
                 {"LogicalResourceId", logical},
                 {"PhysicalResourceId", physical},
                 {"ResourceType", type},
                 {"Timestamp", IsoMillis(deps_.clock->NowMillis())},
                 {"ResourceStatus", status}};
  if (!reason.empty()) e["ResourceStatusReason"] = reason;
  s.events.push_back(std::move(e));
  if (s.events.size() > kMaxEvents) s.events.erase(s.events.begin());
}

void StackEngine::Impl::SetStatus(Stack& s, const std::string& status, const std::string& reason) {
  s.status = status;
  s.status_reason = reason;
  s.updated_ms = deps_.clock->NowMillis();
  AddEvent(s, s.name, s.id, "AWS::CloudFormation::Stack", status, reason);
}

std::string StackEngine::Impl::ExporterOf(const std::string& export_name,
                                          const std::string& except_id) {
  for (const auto& [id, s] : stacks_) {
    if (!s.live() || id == except_id) continue;
    for (const auto& o : s.current.outputs) {
      if (JStr(o.as_object(), "ExportName") == export_name) return id;
    }
  }
  return "";
}

StatusOr<json::value> StackEngine::Impl::ImportValue(const std::string& name,
                                                     const std::string& importer_id) {
  std::string exporter = ExporterOf(name, importer_id);
  if (!exporter.empty()) {
    for (const auto& o : stacks_[exporter].current.outputs) {
      if (JStr(o.as_object(), "ExportName") == name) return o.as_object().at("OutputValue");
    }
  }
  return ValidationError("No export named " + name + " found. Rollback requested by user.");
}

bool StackEngine::Impl::Handle(std::string_view op, const json::object& in, const CallContext& ctx,
                               StackReply reply) {
  using Read = StatusOr<json::object> (Impl::*)(const json::object&);
  static const std::map<std::string_view, Read> kReads = {
      {"DescribeStacks", &Impl::DescribeStacks},
      {"ListStacks", &Impl::ListStacks},
      {"DescribeStackEvents", &Impl::DescribeStackEvents},
      {"DescribeStackResource", &Impl::DescribeStackResource},
      {"DescribeStackResources", &Impl::DescribeStackResources},
      {"ListStackResources", &Impl::ListStackResources},
      {"GetTemplate", &Impl::GetTemplate},
      {"ValidateTemplate", &Impl::ValidateTemplate},
      {"GetTemplateSummary", &Impl::GetTemplateSummary},
      {"DescribeChangeSet", &Impl::DescribeChangeSet},
      {"ListChangeSets", &Impl::ListChangeSets},
      {"DeleteChangeSet", &Impl::DeleteChangeSet},
  };
  if (auto it = kReads.find(op); it != kReads.end()) {
    reply((this->*(it->second))(in));
    return true;
  }
  if (op == "CreateChangeSet") {
    reply(CreateChangeSet(in, ctx));
    return true;
  }
  std::string started;
  StatusOr<json::object> result = Status::Internal("unreachable");
  if (op == "CreateStack") {
    result = CreateStack(in, ctx, &started);
  } else if (op == "UpdateStack") {
    result = UpdateStack(in, &started);
  } else if (op == "DeleteStack") {
    result = DeleteStack(in, &started);
  } else if (op == "ExecuteChangeSet") {
    result = ExecuteChangeSet(in, &started);
  } else {
    return false;
  }
  if (!result.ok() || started.empty()) {
    reply(std::move(result));
    return true;
  }
  Work work = op == "DeleteStack" ? Work::kDelete : Work::kCreate;
  if (op == "UpdateStack") work = Work::kUpdate;
  if (op == "ExecuteChangeSet") {
    std::lock_guard<std::mutex> lock(mu_);
    work = stacks_[started].status == "UPDATE_IN_PROGRESS" ? Work::kUpdate : Work::kCreate;
  }
  Enqueue(started, work, std::move(reply), std::move(*result));
  return true;
}

StackEngine::StackEngine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
StackEngine::~StackEngine() = default;

StatusOr<std::unique_ptr<StackEngine>> StackEngine::Open(StackEngineDeps deps,
                                                         StackEngineOptions options) {
  auto impl = std::make_unique<Impl>(std::move(deps), std::move(options));
  BP_RETURN_IF_ERROR(impl->Load());
  impl->Start();
  return std::unique_ptr<StackEngine>(new StackEngine(std::move(impl)));
}

bool StackEngine::Handle(std::string_view op, const json::object& in, const CallContext& ctx,
                         StackReply reply) {
  return impl_->Handle(op, in, ctx, std::move(reply));
}

}  // namespace bp::cfn
