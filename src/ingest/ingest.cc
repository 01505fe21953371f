#include "ingest/ingest.h"

#include <algorithm>
#include <boost/json.hpp>
#include <optional>
#include <unordered_map>

#include "common/ids.h"
#include "common/log.h"
#include "ingest/bus_access.h"
#include "ingest/detail_json.h"
#include "model/arn.h"
#include "model/validation.h"
#include "pattern/pattern.h"
#include "tasks/tasks.h"

namespace bp::ingest {

namespace json = boost::json;

namespace {

struct EntryResult {
  std::string event_id;
  std::string error_code;
  std::string error_message;
  bool needs_commit = false;
};

void AppendJsonString(std::string& out, std::string_view s) {
  out.push_back('"');
  log::AppendJsonEscaped(out, s);
  out.push_back('"');
}

std::string_view StringOr(const json::object& o, std::string_view key, bool* present,
                          bool* wrong_type) {
  auto it = o.find(key);
  if (it == o.end() || it->value().is_null()) {
    *present = false;
    return {};
  }
  *present = true;
  if (!it->value().is_string()) {
    *wrong_type = true;
    return {};
  }
  return it->value().as_string();
}

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

void Ingest::PutEvents(const json::object& request, Reply reply, const Caller& caller) {
  auto entries_it = request.find("Entries");
  if (entries_it == request.end() || entries_it->value().is_null()) {
    reply(
        Status::Validation("1 validation error detected: Value null at 'entries' failed to satisfy "
                           "constraint: Member must not be null"));
    return;
  }
  if (!entries_it->value().is_array()) {
    reply(Status::Serialization("Entries must be a list."));
    return;
  }
  const json::array& entries = entries_it->value().as_array();
  if (entries.empty() || static_cast<int>(entries.size()) > options_.max_entries) {
    reply(Status::Validation(
        "1 validation error detected: Value '[...]' at 'entries' failed to satisfy "
        "constraint: Member must have length " +
        std::string(entries.empty()
                        ? "greater than or equal to 1"
                        : "less than or equal to " + std::to_string(options_.max_entries))));
    return;
  }
  if (Status names = ValidateEntryBusNames(entries); !names.ok()) {
    reply(names);
    return;
  }
  // Request size as AWS counts it.
  size_t total = 0;
  for (const auto& e : entries) {
    if (!e.is_object()) {
      reply(Status::Serialization("Entries must be a list of objects."));
      return;
    }
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
  if (total > options_.max_request_bytes) {
    reply(Status::Validation("Total size of the entries in the request is over the limit."));
    return;
  }

  int64_t now_ms = clock_.NowMillis();
  auto results = std::make_shared<std::vector<EntryResult>>(entries.size());
  store::WriteBatch batch;
  auto tasks = std::make_shared<std::vector<tasks::NewTask>>();
  auto archived = std::make_shared<std::vector<archive::ArchiveCopy>>();
  std::string detail;
  for (size_t i = 0; i < entries.size(); ++i) {
    const auto& o = entries[i].as_object();
    EntryResult& r = (*results)[i];
    bool has_source, has_type, has_detail, has_bus, wrong_type = false;
    std::string_view source = StringOr(o, "Source", &has_source, &wrong_type);
    std::string_view detail_type = StringOr(o, "DetailType", &has_type, &wrong_type);
    std::string_view detail_text = StringOr(o, "Detail", &has_detail, &wrong_type);
    std::string_view bus_text = StringOr(o, "EventBusName", &has_bus, &wrong_type);
    auto fail = [&](std::string code, std::string message) {
      r.error_code = std::move(code);
      r.error_message = std::move(message);
    };
    if (wrong_type) {
      fail("InvalidArgument",
           "Parameter types are not valid: Source, DetailType, Detail and EventBusName are "
           "strings.");
      continue;
    }
    if (!has_source || source.empty()) {
      fail("InvalidArgument",
           "Parameter Source is not valid. Reason: Source is a required argument.");
      continue;
    }
    if (!has_type || detail_type.empty()) {
      fail("InvalidArgument",
           "Parameter DetailType is not valid. Reason: DetailType is a required argument.");
      continue;
    }
    if (!has_detail || detail_text.empty()) {
      fail("InvalidArgument",
           "Parameter Detail is not valid. Reason: Detail is a required argument.");
      continue;
    }
    if (!CompactDetail(detail_text, &detail)) {
      fail("MalformedDetail", "Detail is malformed.");
      continue;
    }
    if (auto th = o.find("TraceHeader");
        th != o.end() && th->value().is_string() && th->value().as_string().size() > 500) {
      fail(
          "InvalidArgument",
          "Parameter TraceHeader is not valid. Reason: TraceHeader is longer than 500 characters.");
      continue;
    }
    int64_t event_time = now_ms / 1000;
    if (auto t = o.find("Time"); t != o.end() && !t->value().is_null()) {
      const auto& tv = t->value();
      if (tv.is_int64())
        event_time = tv.as_int64();
      else if (tv.is_uint64())
        event_time = static_cast<int64_t>(tv.as_uint64());
      else if (tv.is_double())
        event_time = static_cast<int64_t>(tv.as_double());
      else if (tv.is_string()) {
        auto parsed = ParseIso8601(tv.as_string());
        if (!parsed) {
          fail("InvalidArgument", "Parameter Time is not valid.");
          continue;
        }
        event_time = *parsed;
      }
    }
    std::vector<std::string_view> resources;
    bool bad_resources = false;
    if (auto it = o.find("Resources"); it != o.end() && !it->value().is_null()) {
      if (!it->value().is_array()) {
        bad_resources = true;
      } else {
        for (const auto& res : it->value().as_array()) {
          if (!res.is_string())
            bad_resources = true;
          else
            resources.push_back(res.as_string());
        }
      }
    }
    if (bad_resources) {
      fail("InvalidArgument", "Parameter Resources is not valid: it must be a list of strings.");
      continue;
    }
    EntryBus target = ResolveEntryBus(has_bus ? bus_text : "", caller,
                                      {options_.region, options_.account}, registry_);
    if (!target.routes) {
      fail(std::move(target.error_code), std::move(target.error_message));
      continue;
    }
    const registry::BusRoutes* routes = target.routes.get();
    const std::string& bus = routes->name;
    r.event_id = NewUuid();
    std::string env;
    env.reserve(detail.size() + 256);
    env += "{\"version\":\"0\",\"id\":\"";
    env += r.event_id;
    env += "\",\"detail-type\":";
    AppendJsonString(env, detail_type);
    env += ",\"source\":";
    AppendJsonString(env, source);
    env += ",\"account\":\"";
    env += caller.account.empty() ? options_.account : caller.account;  // the sender's
    env += "\",\"time\":\"";
    env += FormatIso8601(event_time);
    env += "\",\"region\":\"";
    env += options_.region;
    env += "\",\"resources\":[";
    for (size_t k = 0; k < resources.size(); ++k) {
      if (k) env.push_back(',');
      AppendJsonString(env, resources[k]);
    }
    env += "],\"detail\":";
    env += detail;
    env += '}';
    size_t before = tasks->size();
    int matched = Route(*routes, r.event_id, env, now_ms, 0, batch, *tasks);
    r.needs_commit = tasks->size() > before;
    if (archives_ && archives_->Add(bus, r.event_id, event_time, env, batch, archived.get()) > 0) {
      r.needs_commit = true;
    }
    BusCounters counters = CountersFor(bus);
    counters.ingested->Inc();
    if (matched) counters.matched->Inc(matched);
  }

  auto finish = [this, results, reply = std::move(reply)](bool committed, const Status& status) {
    json::array out;
    int64_t failed = 0;
    for (auto& r : *results) {
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
        metrics_
            .GetCounter("bridgeport_putevents_entries_failed_total", "PutEvents entries rejected",
                        {{"code", r.error_code}})
            .Inc();
      }
      out.push_back(std::move(e));
    }
    json::object resp;
    resp["FailedEntryCount"] = failed;
    resp["Entries"] = std::move(out);
    reply(std::move(resp));
  };
  if (batch.empty()) {
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
  store_.WriteAsync(
      std::move(batch), [this, tasks, archived, start, finish = std::move(finish)](Status s) {
        commit_seconds_->Observe(static_cast<double>(clock_.MonotonicMicros() - start) / 1e6);
        if (s.ok()) {
          sink_.Enqueue(std::move(*tasks));
          archive::ArchiveStore::Count(*archived);
        }
        finish(s.ok(), s);
      });
}

}  // namespace bp::ingest
