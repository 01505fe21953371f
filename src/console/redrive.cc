// Redrive jobs: creation, durable progress, paced steps on the worker thread, cancellation.
#include "console/redrive.h"

#include <algorithm>
#include <chrono>

#include "common/ids.h"
#include "common/log.h"
#include "delivery/engine.h"
#include "registry/registry.h"
#include "store/store.h"

namespace bp::console {

namespace {

constexpr std::string_view kJobPrefix = "redrive/";

uint64_t Num(const json::object& o, const char* k) {
  auto it = o.find(k);
  return it != o.end() && it->value().is_number() ? it->value().to_number<uint64_t>() : 0;
}
std::string Str(const json::object& o, const char* k) {
  auto it = o.find(k);
  return it != o.end() && it->value().is_string() ? std::string(it->value().as_string()) : "";
}

}  // namespace

json::object RedriveJob::ToJson() const {
  json::object o;
  o["id"] = id;
  o["queue"] = queue;
  json::object f = filter.ToJson();
  o["filter"] = std::move(f);
  o["max_seq"] = filter.max_seq;
  o["rate"] = rate;
  o["state"] = state;
  o["total"] = total;
  o["redriven"] = redriven;
  o["skipped"] = skipped;
  uint64_t done = redriven + skipped;
  o["remaining"] = state == "RUNNING" && total > done ? total - done : 0;
  o["cursor"] = cursor;
  o["created"] = FormatIso8601(created_ms / 1000);
  o["created_ms"] = created_ms;
  o["updated_ms"] = updated_ms;
  if (!last_error.empty()) o["last_error"] = last_error;
  return o;
}

std::optional<RedriveJob> RedriveJob::FromJson(const json::value& v) {
  if (!v.is_object()) return std::nullopt;
  const json::object& o = v.as_object();
  RedriveJob j;
  j.id = Str(o, "id");
  j.queue = Str(o, "queue");
  if (auto it = o.find("filter"); it != o.end() && it->value().is_object()) {
    auto f = DeadLetterFilter::FromJson(it->value().as_object());
    if (!f.ok()) return std::nullopt;
    j.filter = std::move(*f);
  }
  j.filter.max_seq = Num(o, "max_seq");
  j.rate = static_cast<int>(Num(o, "rate"));
  j.state = Str(o, "state");
  j.total = Num(o, "total");
  j.redriven = Num(o, "redriven");
  j.skipped = Num(o, "skipped");
  j.cursor = Num(o, "cursor");
  j.created_ms = static_cast<int64_t>(Num(o, "created_ms"));
  j.updated_ms = static_cast<int64_t>(Num(o, "updated_ms"));
  j.last_error = Str(o, "last_error");
  if (j.id.empty() || j.queue.empty() || j.rate < 1) return std::nullopt;
  return j;
}

Status Redriver::Start() {
  std::vector<RedriveJob> loaded;
  BP_RETURN_IF_ERROR(d_.store->Scan(store::Family::kMeta, kJobPrefix, store::PrefixEnd(kJobPrefix),
                                    [&](std::string_view, std::string_view value) {
                                      json::error_code ec;
                                      auto job = RedriveJob::FromJson(json::parse(value, ec));
                                      if (!ec && job) loaded.push_back(std::move(*job));
                                      return true;
                                    }));
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& j : loaded) jobs_[j.id] = std::move(j);
  }
  thread_ = std::thread([this] { Loop(); });
  return Status::Ok();
}

void Redriver::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    cv_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
}

Status Redriver::Persist(const RedriveJob& job) {
  store::WriteBatch b;
  b.Put(store::Family::kMeta, std::string(kJobPrefix) + job.id, json::serialize(job.ToJson()));
  return d_.store->Write(std::move(b));
}

StatusOr<json::object> Redriver::Create(const json::object& request) {
  std::string queue = Str(request, "queue");
  if (queue.empty()) return Status::Validation("queue (a queue name, URL or ARN) is required");
  queue = queue.substr(queue.find_last_of("/:") + 1);
  RedriveJob job;
  json::object filter_in;
  if (auto it = request.find("filter"); it != request.end()) {
    if (!it->value().is_object()) return Status::Validation("filter must be an object");
    filter_in = it->value().as_object();
  }
  if (auto it = request.find("message_ids"); it != request.end())
    filter_in["message_ids"] = it->value();
  BP_ASSIGN_OR_RETURN(job.filter, DeadLetterFilter::FromJson(filter_in));
  auto rate = request.find("rate");
  if (rate == request.end() || !rate->value().is_int64() || rate->value().as_int64() < 1 ||
      rate->value().as_int64() > kMaxRedriveRate) {
    return Status::Validation("rate (messages per second) must be an integer from 1 to " +
                              std::to_string(kMaxRedriveRate));
  }
  job.rate = static_cast<int>(rate->value().as_int64());
  for (const auto& [k, v] : request) {
    if (k != "queue" && k != "filter" && k != "message_ids" && k != "rate")
      return Status::Validation("unknown field " + std::string(k));
  }
  // The selection: matching messages present now (the seq bound keeps later arrivals out).
  uint64_t after = 0, max_seq = 0;
  for (;;) {
    auto page = d_.queues->PeekMessages(queue, after, 1000);
    if (!page.ok()) return Status::NotFound("queue " + queue + " does not exist");
    if (page->empty()) break;
    for (const auto& m : *page) {
      after = max_seq = m.seq;
      if (job.filter.Matches(m, OriginOf(m))) ++job.total;
    }
  }
  job.filter.max_seq = max_seq;
  job.id = NewUuid();
  job.queue = queue;
  job.state = job.total == 0 ? "COMPLETED" : "RUNNING";
  job.created_ms = job.updated_ms = d_.clock->NowMillis();
  job.next_us = d_.clock->MonotonicMicros();
  BP_RETURN_IF_ERROR(Persist(job));
  log::Info("console", "redrive created",
            {{"redrive", job.id},
             {"queue", queue},
             {"rate", job.rate},
             {"messages", static_cast<int64_t>(job.total)}});
  std::lock_guard<std::mutex> lock(mu_);
  json::object out = job.ToJson();
  jobs_[job.id] = std::move(job);
  cv_.notify_all();
  return out;
}

StatusOr<json::object> Redriver::Get(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return Status::NotFound("redrive " + id + " does not exist");
  return it->second.ToJson();
}

json::object Redriver::List() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<const RedriveJob*> jobs;
  for (const auto& [id, j] : jobs_) jobs.push_back(&j);
  std::sort(jobs.begin(), jobs.end(),
            [](const RedriveJob* a, const RedriveJob* b) { return a->created_ms > b->created_ms; });
  json::array list;
  for (const RedriveJob* j : jobs) list.push_back(j->ToJson());
  json::object out;
  out["redrives"] = std::move(list);
  return out;
}

StatusOr<json::object> Redriver::Cancel(const std::string& id) {
  // Holding mu_ means no step is under way: the worker writes the job only inside a step.
  std::lock_guard<std::mutex> lock(mu_);
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return Status::NotFound("redrive " + id + " does not exist");
  RedriveJob& job = it->second;
  if (job.state == "RUNNING") {
    RedriveJob next = job;
    next.state = "CANCELLED";
    next.updated_ms = d_.clock->NowMillis();
    BP_RETURN_IF_ERROR(Persist(next));
    job = std::move(next);
  }
  return job.ToJson();
}

void Redriver::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    int64_t now = d_.clock->MonotonicMicros();
    int64_t wake = now + 1'000'000;
    for (auto& [id, job] : jobs_) {
      if (job.state != "RUNNING") continue;
      if (job.next_us <= now) {
        if (!Step(job, now)) continue;
        now = d_.clock->MonotonicMicros();
      }
      if (job.state == "RUNNING") wake = std::min(wake, job.next_us);
    }
    if (wake > now) cv_.wait_for(lock, std::chrono::microseconds(wake - now));
  }
}

}  // namespace bp::console
