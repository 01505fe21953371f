#include "ingest/ingest.h"

#include <algorithm>
#include <boost/json.hpp>
#include <optional>
#include <unordered_map>

#include "common/ids.h"
#include "common/log.h"
#include "ingest/bus_access.h"
#include "ingest/detail_json.h"
#include "ingest/envelope.h"
#include "model/arn.h"
#include "model/validation.h"
#include "pattern/pattern.h"
#include "tasks/tasks.h"

namespace bp::ingest {

namespace json = boost::json;

namespace {

// Whether an envelope was put by a replay: it ends with the `"replay-name":"<name>"` member the
// replay appended (a name has no quote or brace, so a detail member cannot look like it).
bool IsReplayed(std::string_view envelope) {
  constexpr std::string_view kMember = ",\"replay-name\":\"";
  size_t p = envelope.rfind(kMember);
  if (p == std::string_view::npos || envelope.size() < 2) return false;
  std::string_view name = envelope.substr(p + kMember.size());
  if (name.size() < 2 || name.substr(name.size() - 2) != "\"}") return false;
  return model::IsResourceName(name.substr(0, name.size() - 2));
}

// The envelope's `time` (epoch seconds); 0 if it cannot be read.
int64_t EnvelopeTime(std::string_view envelope) {
  constexpr std::string_view kMember = "\"time\":\"";
  size_t p = envelope.find(kMember);
  if (p == std::string_view::npos) return 0;
  size_t begin = p + kMember.size();
  size_t end = envelope.find('"', begin);
  if (end == std::string_view::npos) return 0;
  return ParseIso8601(envelope.substr(begin, end - begin)).value_or(0);
}

}  // namespace

Ingest::BusCounters Ingest::CountersFor(const std::string& bus) {
  // Series lookups take the metrics registry's mutex and build label strings; keep them here.
  std::lock_guard<std::mutex> lock(counters_mu_);
  auto it = counters_.find(bus);
  if (it != counters_.end()) return it->second;
  BusCounters c;
  c.ingested = &metrics_.GetCounter("bridgeport_events_ingested_total",
                                    "Events accepted by PutEvents", {{"bus", bus}});
  c.matched = &metrics_.GetCounter("bridgeport_events_matched_total", "Rule matches at ingest",
                                   {{"bus", bus}});
  return counters_.emplace(bus, c).first->second;
}

Ingest::Ingest(store::Store& store, registry::Registry& registry, tasks::TaskSink& sink,
               metrics::Registry& metrics, const Clock& clock, IngestOptions options)
    : store_(store),
      registry_(registry),
      sink_(sink),
      metrics_(metrics),
      clock_(clock),
      options_(std::move(options)),
      commit_seconds_(&metrics.GetHistogram("bridgeport_store_commit_seconds",
                                            "Time from PutEvents batch submit to durable commit",
                                            {}, metrics::LatencyBuckets())),
      admission_(
          options_.admission, [&sink] { return sink.PendingDeliveries(); },
          [&store] { return store.DiskBytes(); }, metrics, clock) {}

void Ingest::AddRuleTasks(const std::string& bus, const registry::RuleRoute& rule,
                          const std::string& event_id, const std::string& envelope,
                          int64_t ingestion_ms, int hops, store::WriteBatch& batch,
                          std::vector<tasks::NewTask>& tasks) {
  for (const auto& target : rule.targets) {
    tasks::TaskRecord t;
    t.seq = sink_.NextSeq();
    t.bus = bus;
    t.rule = rule.name;
    t.target_id = target->target_id;
    t.event_id = event_id;
    t.ingestion_ms = ingestion_ms;
    t.hops = hops;
    t.event_json = envelope;
    auto record = std::make_shared<const std::string>(tasks::EncodeTask(t));
    batch.Put(store::Family::kTasks, tasks::TaskKey(t.seq), *record);
    tasks.push_back({t.seq, tasks::LaneFor(*target), ingestion_ms, 0,
                     static_cast<int32_t>(target->max_event_age_seconds), std::move(record)});
  }
}

int Ingest::Route(const registry::BusRoutes& routes, const std::string& event_id,
                  const std::string& envelope, int64_t ingestion_ms, int hops,
                  store::WriteBatch& batch, std::vector<tasks::NewTask>& tasks,
                  const std::vector<std::string>* only_arns) {
  if (!routes.matcher) return 0;
  thread_local std::vector<uint32_t> matched;
  matched.clear();
  routes.matcher->Match(envelope, &matched);
  int rules = 0;
  for (uint32_t id : matched) {
    if (id >= routes.rules.size()) continue;
    const registry::RuleRoute& rule = routes.rules[id];
    if (!rule.enabled) continue;
    if (only_arns && !only_arns->empty() &&
        std::find(only_arns->begin(), only_arns->end(), rule.arn) == only_arns->end()) {
      continue;
    }
    ++rules;
    AddRuleTasks(routes.name, rule, event_id, envelope, ingestion_ms, hops, batch, tasks);
  }
  return rules;
}

StatusOr<std::vector<tasks::NewTask>> Ingest::FanoutReplay(
    const std::string& bus, const std::string& event_id, const std::string& event_json,
    const std::vector<std::string>& rule_arns, store::WriteBatch& batch) {
  auto routes = registry_.Routes(bus);
  if (!routes) return Status::NotFound("Event bus " + bus + " does not exist.");
  std::vector<tasks::NewTask> tasks;
  Route(*routes, event_id, event_json, clock_.NowMillis(), 0, batch, tasks, &rule_arns);
  return tasks;
}

StatusOr<std::vector<tasks::NewTask>> Ingest::FanoutToRule(const std::string& bus,
                                                           const std::string& rule,
                                                           const std::string& event_id,
                                                           const std::string& event_json,
                                                           store::WriteBatch& batch) {
  auto routes = registry_.Routes(bus);
  if (!routes) return Status::NotFound("Event bus " + bus + " does not exist.");
  std::vector<tasks::NewTask> tasks;
  for (const auto& r : routes->rules) {
    if (r.name != rule) continue;
    if (r.enabled) {
      AddRuleTasks(routes->name, r, event_id, event_json, clock_.NowMillis(), 0, batch, tasks);
    }
    return tasks;
  }
  return Status::NotFound("Rule " + rule + " does not exist on EventBus " + bus + ".");
}

StatusOr<std::vector<tasks::NewTask>> Ingest::Fanout(const std::string& bus,
                                                     const std::string& event_json,
                                                     int64_t ingestion_ms, int hops,
                                                     store::WriteBatch& batch) {
  auto routes = registry_.Routes(bus);
  if (!routes) return Status::NotFound("Event bus " + bus + " does not exist.");
  std::vector<tasks::NewTask> tasks;
  std::string event_id;
  // The event keeps its id across buses.
  if (size_t p = event_json.find("\"id\":\""); p != std::string::npos) {
    event_id = event_json.substr(p + 6, 36);
  }
  Route(*routes, event_id, event_json, ingestion_ms, hops, batch, tasks);
  if (archives_ && !IsReplayed(event_json)) {
    // The engine commits this batch; the copies are counted now (see docs/semantics.md).
    std::vector<archive::ArchiveCopy> copies;
    archives_->Add(bus, event_id, EnvelopeTime(event_json), event_json, batch, &copies);
    archive::ArchiveStore::Count(copies);
  }
  return tasks;
}

namespace {

// The request-level checks: Entries present and a list of 1..max_entries objects, valid bus
// names, and the total size as AWS counts it (Source, DetailType, Detail, Resources, 14 per Time).
StatusOr<const json::array*> CheckRequest(const json::object& request, int max_entries,
                                          size_t max_request_bytes) {
  auto entries_it = request.find("Entries");
  if (entries_it == request.end() || entries_it->value().is_null()) {
    return Status::Validation(
        "1 validation error detected: Value null at 'entries' failed to satisfy "
        "constraint: Member must not be null");
  }
  if (!entries_it->value().is_array()) return Status::Serialization("Entries must be a list.");
  const json::array& entries = entries_it->value().as_array();
  if (entries.empty() || static_cast<int>(entries.size()) > max_entries) {
    return Status::Validation(
        "1 validation error detected: Value '[...]' at 'entries' failed to satisfy "
        "constraint: Member must have length " +
        std::string(entries.empty() ? "greater than or equal to 1"
                                    : "less than or equal to " + std::to_string(max_entries)));
  }
  BP_RETURN_IF_ERROR(ValidateEntryBusNames(entries));
  size_t total = 0;
  for (const auto& e : entries) {
    if (!e.is_object()) return Status::Serialization("Entries must be a list of objects.");
    const auto& o = e.as_object();
    for (const char* k : {"Source", "DetailType", "Detail"}) {
      if (auto it = o.find(k); it != o.end() && it->value().is_string())
        total += it->value().as_string().size();
    }
    if (auto it = o.find("Resources"); it != o.end() && it->value().is_array()) {
      for (const auto& r : it->value().as_array()) {
        if (r.is_string()) total += r.as_string().size();
      }
    }
    if (o.contains("Time")) total += 14;
  }
  if (total > max_request_bytes) {
    return Status::Validation("Total size of the entries in the request is over the limit.");
  }
  return &entries;
}

// The PutEvents reply; entries that needed the batch fail with InternalFailure unless it
// `committed`.
json::object PutEventsReply(std::vector<EntryResult>& results, bool committed, const Status& status,
                            metrics::Registry& metrics) {
  json::array out;
  int64_t failed = 0;
  for (auto& r : results) {
    json::object e;
    if (r.needs_commit && !committed) {
      r.error_code = "InternalFailure";
      r.error_message = "The event could not be stored: " + status.message();
      r.event_id.clear();
    }
    if (r.error_code.empty()) {
      e["EventId"] = r.event_id;
    } else {
      ++failed;
      e["ErrorCode"] = r.error_code;
      e["ErrorMessage"] = r.error_message;
      metrics
          .GetCounter("bridgeport_putevents_entries_failed_total", "PutEvents entries rejected",
                      {{"code", r.error_code}})
          .Inc();
    }
    out.push_back(std::move(e));
  }
  json::object resp;
  resp["FailedEntryCount"] = failed;
  resp["Entries"] = std::move(out);
  return resp;
}

}  // namespace

// decode (api/) → check the request → per entry: decode and validate, resolve the bus, build
// the envelope, route (tasks) and archive into one batch → admission → commit → reply.
void Ingest::PutEvents(const json::object& request, Reply reply, const Caller& caller) {
  auto checked = CheckRequest(request, options_.max_entries, options_.max_request_bytes);
  if (!checked.ok()) {
    reply(checked.status());
    return;
  }
  const json::array& entries = **checked;
  int64_t now_ms = clock_.NowMillis();
  const std::string& account = caller.account.empty() ? options_.account : caller.account;
  auto results = std::make_shared<std::vector<EntryResult>>(entries.size());
  Pending pending;
  Entry entry;
  for (size_t i = 0; i < entries.size(); ++i) {
    EntryResult& r = (*results)[i];
    if (auto error = DecodeEntry(entries[i].as_object(), now_ms / 1000, entry)) {
      r.error_code = std::move(error->code);
      r.error_message = std::move(error->message);
      continue;
    }
    EntryBus target =
        ResolveEntryBus(entry.bus, caller, {options_.region, options_.account}, registry_);
    if (!target.routes) {
      r.error_code = std::move(target.error_code);
      r.error_message = std::move(target.error_message);
      continue;
    }
    r.event_id = NewUuid();
    std::string envelope = BuildEnvelope(entry, r.event_id, account, options_.region);
    r.needs_commit = Add(*target.routes, r.event_id, entry.time_s, envelope, now_ms, pending);
  }
  CommitAndReply(std::move(results), std::move(pending), std::move(reply));
}

bool Ingest::Add(const registry::BusRoutes& routes, const std::string& event_id, int64_t time_s,
                 const std::string& envelope, int64_t now_ms, Pending& pending) {
  size_t before = pending.tasks->size();
  int matched = Route(routes, event_id, envelope, now_ms, 0, pending.batch, *pending.tasks);
  bool needs_commit = pending.tasks->size() > before;
  if (archives_ && archives_->Add(routes.name, event_id, time_s, envelope, pending.batch,
                                  pending.archived.get()) > 0) {
    needs_commit = true;
  }
  BusCounters counters = CountersFor(routes.name);
  counters.ingested->Inc();
  if (matched) counters.matched->Inc(matched);
  return needs_commit;
}

void Ingest::CommitAndReply(std::shared_ptr<std::vector<EntryResult>> results, Pending pending,
                            Reply reply) {
  auto finish = [this, results, reply = std::move(reply)](bool committed, const Status& status) {
    reply(PutEventsReply(*results, committed, status, metrics_));
  };
  if (pending.batch.empty()) {
    finish(true, Status::Ok());
    return;
  }
  int needing = 0;
  for (const auto& r : *results) needing += r.needs_commit ? 1 : 0;
  if (std::optional<std::string> refusal = admission_.Check(needing)) {
    for (auto& r : *results) {
      if (!r.needs_commit) continue;
      r.needs_commit = false;
      r.event_id.clear();
      r.error_code = "ThrottlingException";
      r.error_message = *refusal;
    }
    finish(true, Status::Ok());
    return;
  }
  int64_t start = clock_.MonotonicMicros();
  store_.WriteAsync(std::move(pending.batch), [this, tasks = std::move(pending.tasks),
                                               archived = std::move(pending.archived), start,
                                               finish = std::move(finish)](Status s) {
    commit_seconds_->Observe(static_cast<double>(clock_.MonotonicMicros() - start) / 1e6);
    if (s.ok()) {
      sink_.Enqueue(std::move(*tasks));
      archive::ArchiveStore::Count(*archived);
    }
    finish(s.ok(), s);
  });
}

}  // namespace bp::ingest
