#include "pipes/pipe_service.h"

#include <boost/json.hpp>

#include "common/log.h"

namespace bp::pipes {

namespace json = boost::json;

namespace {

constexpr std::string_view kKeyPrefix = "pipe/";
constexpr int64_t kStopGraceMicros = 10'000'000;
constexpr std::string_view kStates[] = {
    "RUNNING",  "STOPPED",       "CREATING",      "UPDATING",     "DELETING",   "STARTING",
    "STOPPING", "CREATE_FAILED", "UPDATE_FAILED", "START_FAILED", "STOP_FAILED"};

std::string Key(std::string_view name) { return std::string(kKeyPrefix) + std::string(name); }

std::string StrOf(const json::object& o, std::string_view k) {
  auto it = o.find(k);
  return it != o.end() && it->value().is_string() ? std::string(it->value().as_string())
                                                  : std::string();
}

bool IsTransitional(std::string_view s) {
  return s == "CREATING" || s == "STARTING" || s == "STOPPING" || s == "UPDATING" ||
         s == "DELETING";
}

// The members CreatePipe/UpdatePipe accept and DescribePipe shows.
constexpr std::string_view kMembers[] = {
    "Description",          "DesiredState",    "Source",           "SourceParameters", "Enrichment",
    "EnrichmentParameters", "Target",          "TargetParameters", "RoleArn",          "Tags",
    "LogConfiguration",     "KmsKeyIdentifier"};

json::object Short(const json::object& r) {
  json::object out;
  for (const char* k :
       {"Arn", "Name", "DesiredState", "CurrentState", "CreationTime", "LastModifiedTime"}) {
    if (auto it = r.find(k); it != r.end()) out[k] = it->value();
  }
  if (StrOf(r, "CurrentState") == "DELETING") out["DesiredState"] = "DELETED";
  return out;
}

}  // namespace

PipeService::PipeService(PipeDeps deps, PipeServiceOptions options)
    : d_(std::move(deps)), options_(options) {}

StatusOr<std::unique_ptr<PipeService>> PipeService::Open(PipeDeps deps,
                                                         PipeServiceOptions options) {
  std::unique_ptr<PipeService> s(new PipeService(std::move(deps), options));
  BP_RETURN_IF_ERROR(s->Load());
  s->control_ = std::thread([p = s.get()] { p->ControlLoop(); });
  return s;
}

PipeService::~PipeService() { Stop(); }

Status PipeService::Load() {
  std::lock_guard<std::mutex> lock(mu_);
  Status s = d_.store->Scan(store::Family::kMeta, kKeyPrefix, store::PrefixEnd(kKeyPrefix),
                            [&](std::string_view, std::string_view value) {
                              boost::system::error_code ec;
                              json::value v = json::parse(value, ec);
                              if (ec || !v.is_object()) {
                                log::Error("pipes", "skipping an undecodable pipe record");
                                return true;
                              }
                              auto e = std::make_unique<Entry>();
                              e->record = std::move(v.as_object());
                              std::string name = StrOf(e->record, "Name");
                              SetStateGauges(name, StrOf(e->record, "CurrentState"));
                              pending_.insert(name);
                              pipes_[name] = std::move(e);
                              return true;
                            });
  if (s.ok()) log::Info("pipes", "pipes loaded", {{"pipes", static_cast<int64_t>(pipes_.size())}});
  return s;
}

void PipeService::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    stopping_ = true;
    cv_.notify_all();
  }
  if (control_.joinable()) control_.join();
  std::vector<std::unique_ptr<PipeRunner>> runners;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [name, e] : pipes_) {
      if (e->runner) runners.push_back(std::move(e->runner));
    }
  }
  // Runners finish their batch in progress if they can do so within the grace period; the rest
  // give up their outstanding call and release their batch.
  for (auto& r : runners) r->RequestStop();
  int64_t deadline = d_.clock->MonotonicMicros() + kStopGraceMicros;
  auto all_finished = [&] {
    for (auto& r : runners) {
      if (!r->finished()) return false;
    }
    return true;
  };
  while (!all_finished() && d_.clock->MonotonicMicros() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  for (auto& r : runners) r->Abandon();
  for (auto& r : runners) r->Join();
}

void PipeService::SetStateGauges(const std::string& name, std::string_view state) {
  for (auto s : kStates) {
    d_.metrics
        ->GetGauge("bridgeport_pipe_state", "1 for the pipe's current state, 0 otherwise",
                   {{"pipe", name}, {"state", std::string(s)}})
        .Set(s == state ? 1 : 0);
  }
}

Status PipeService::Persist(const Json& record) {
  store::WriteBatch b;
  b.Put(store::Family::kMeta, Key(StrOf(record, "Name")), json::serialize(record));
  BP_RETURN_IF_ERROR(d_.store->Write(std::move(b)));
  SetStateGauges(StrOf(record, "Name"), StrOf(record, "CurrentState"));
  return Status::Ok();
}

PipeService::Entry* PipeService::Find(const std::string& name) {
  auto it = pipes_.find(name);
  return it == pipes_.end() ? nullptr : it->second.get();
}

StatusOr<PipeService::Entry*> PipeService::FindForChange(const std::string& name) {
  Entry* e = Find(name);
  if (!e) return Status::NotFound("Pipe " + name + " does not exist.");
  std::string state = StrOf(e->record, "CurrentState");
  if (IsTransitional(state)) {
    return Status(StatusCode::kConcurrentModification,
                  "Pipe " + name + " is " + state + "; retry once it is no longer changing.");
  }
  return e;
}

void PipeService::Poke(const std::string& name) {
  pending_.insert(name);
  cv_.notify_all();
}

void PipeService::ControlLoop() {
  for (;;) {
    std::set<std::string> work;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait_for(lock, std::chrono::seconds(1), [&] { return stopping_ || !pending_.empty(); });
      if (stopping_) return;
      work.swap(pending_);
    }
    for (const auto& name : work) Advance(name);
  }
}

void PipeService::Advance(const std::string& name) {
  std::unique_ptr<PipeRunner> old;
  Json record;
  std::string state, desired;
  {
    std::lock_guard<std::mutex> lock(mu_);
    Entry* e = Find(name);
    if (!e || stopping_) return;
    state = StrOf(e->record, "CurrentState");
    desired = StrOf(e->record, "DesiredState");
    bool resume = state == "RUNNING" && desired == "RUNNING" && !e->runner;
    if (!IsTransitional(state) && !resume) return;
    old = std::move(e->runner);
    record = e->record;
  }
  if (old) {
    old->RequestStop();
    old->Join();
    old.reset();
  }
  std::unique_ptr<PipeRunner> runner;
  std::string next = "STOPPED", reason;
  if (state == "DELETING") {
    std::lock_guard<std::mutex> lock(mu_);
    store::WriteBatch b;
    b.Delete(store::Family::kMeta, Key(name));
    Status s = d_.store->Write(std::move(b));
    if (!s.ok()) {
      log::Error("pipes", "cannot delete a pipe; will retry",
                 {{"pipe", name}, {"error", s.ToString()}});
      pending_.insert(name);
      return;
    }
    SetStateGauges(name, "");
    pipes_.erase(name);
    log::Info("pipes", "pipe deleted", {{"pipe", name}});
    return;
  }
  if (desired == "RUNNING") {
    auto plan = CompilePipe(record, d_.partition, d_.resolver);
    if (plan.ok()) {
      runner = std::make_unique<PipeRunner>(d_, std::move(*plan));
      next = "RUNNING";
    } else {
      next = state == "CREATING"   ? "CREATE_FAILED"
             : state == "UPDATING" ? "UPDATE_FAILED"
                                   : "START_FAILED";
      reason = plan.status().message();
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  Entry* e = Find(name);
  if (!e || stopping_) return;
  e->record["CurrentState"] = next;
  if (reason.empty()) {
    e->record.erase("StateReason");
  } else {
    e->record["StateReason"] = reason.substr(0, 512);
  }
  Status s = Persist(e->record);
  if (!s.ok())
    log::Error("pipes", "cannot record a pipe state", {{"pipe", name}, {"error", s.ToString()}});
  log::Info("pipes", "pipe state changed", {{"pipe", name}, {"from", state}, {"state", next}});
  if (runner) {
    runner->Start();
    e->runner = std::move(runner);
  }
}

StatusOr<PipeService::Json> PipeService::CreatePipe(const std::string& name, const Json& body) {
  Json record;
  for (auto k : kMembers) {
    if (auto it = body.find(k); it != body.end() && !it->value().is_null()) record[k] = it->value();
  }
  record["Name"] = name;
  BP_ASSIGN_OR_RETURN(PipePlan plan, CompilePipe(record, d_.partition, d_.resolver));
  std::lock_guard<std::mutex> lock(mu_);
  if (Find(name)) return Status::AlreadyExists("Pipe " + name + " already exists.");
  if (static_cast<int>(pipes_.size()) >= options_.max_pipes) {
    return Status::LimitExceeded("The number of pipes is limited to " +
                                 std::to_string(options_.max_pipes) + ".");
  }
  double now = static_cast<double>(d_.clock->NowMillis()) / 1000.0;
  record["Arn"] = plan.arn;
  if (!record.contains("DesiredState")) record["DesiredState"] = "RUNNING";
  record["CurrentState"] = "CREATING";
  record["CreationTime"] = now;
  record["LastModifiedTime"] = now;
  BP_RETURN_IF_ERROR(Persist(record));
  auto e = std::make_unique<Entry>();
  e->record = record;
  pipes_[name] = std::move(e);
  Poke(name);
  log::Info("pipes", "pipe created",
            {{"pipe", name}, {"source", plan.source_arn}, {"target", plan.target_arn}});
  return Short(record);
}

StatusOr<PipeService::Json> PipeService::DescribePipe(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  Entry* e = Find(name);
  if (!e) return Status::NotFound("Pipe " + name + " does not exist.");
  Json out = e->record;
  if (StrOf(out, "CurrentState") == "DELETING") out["DesiredState"] = "DELETED";
  return out;
}

StatusOr<PipeService::Json> PipeService::UpdatePipe(const std::string& name, const Json& body) {
  std::lock_guard<std::mutex> lock(mu_);
  BP_ASSIGN_OR_RETURN(Entry * e, FindForChange(name));
  Json update;
  for (auto k : kMembers) {
    if (k == "Source" || k == "Tags") continue;
    if (auto it = body.find(k); it != body.end() && !it->value().is_null()) update[k] = it->value();
  }
  if (body.contains("Source")) {
    return Status::Validation(
        "Source cannot be changed by UpdatePipe; delete and recreate the pipe.");
  }
  Json merged = MergeUpdate(e->record, update);
  BP_ASSIGN_OR_RETURN(PipePlan plan, CompilePipe(merged, d_.partition, d_.resolver));
  (void)plan;
  merged["CurrentState"] = "UPDATING";
  merged["LastModifiedTime"] = static_cast<double>(d_.clock->NowMillis()) / 1000.0;
  merged.erase("StateReason");
  return CommitChange(name, *e, std::move(merged));
}

StatusOr<PipeService::Json> PipeService::CommitChange(const std::string& name, Entry& e,
                                                      Json record) {
  BP_RETURN_IF_ERROR(Persist(record));
  e.record = std::move(record);
  Poke(name);
  return Short(e.record);
}

StatusOr<PipeService::Json> PipeService::DeletePipe(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  BP_ASSIGN_OR_RETURN(Entry * e, FindForChange(name));
  Json r = e->record;
  r["CurrentState"] = "DELETING";
  return CommitChange(name, *e, std::move(r));
}

StatusOr<PipeService::Json> PipeService::StartPipe(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  BP_ASSIGN_OR_RETURN(Entry * e, FindForChange(name));
  Json r = e->record;
  r["DesiredState"] = "RUNNING";
  if (StrOf(r, "CurrentState") != "RUNNING") {
    r["CurrentState"] = "STARTING";
    r.erase("StateReason");
  }
  r["LastModifiedTime"] = static_cast<double>(d_.clock->NowMillis()) / 1000.0;
  return CommitChange(name, *e, std::move(r));
}

StatusOr<PipeService::Json> PipeService::StopPipe(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  BP_ASSIGN_OR_RETURN(Entry * e, FindForChange(name));
  Json r = e->record;
  r["DesiredState"] = "STOPPED";
  if (StrOf(r, "CurrentState") != "STOPPED") r["CurrentState"] = "STOPPING";
  r["LastModifiedTime"] = static_cast<double>(d_.clock->NowMillis()) / 1000.0;
  return CommitChange(name, *e, std::move(r));
}

}  // namespace bp::pipes
