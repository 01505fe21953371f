#include "schedule/scheduler.h"

#include <boost/json.hpp>
#include <set>

#include "common/ids.h"
#include "common/json_escape.h"
#include "common/log.h"

namespace bp::schedule {

namespace json = boost::json;

namespace {

constexpr std::string_view kMarkerPrefix = "sched/";
constexpr int64_t kMinuteMs = 60'000;

void AppendQuoted(std::string& out, std::string_view s) {
  out.push_back('"');
  log::AppendJsonEscaped(out, s);
  out.push_back('"');
}

}  // namespace

Scheduler::Scheduler(SchedulerDeps deps) : deps_(std::move(deps)) {}

Scheduler::~Scheduler() { Stop(); }

std::string Scheduler::MarkerKey(const ScheduledRule& r) {
  return std::string(kMarkerPrefix) + r.bus + "/" + r.name;
}

std::string Scheduler::EncodeMarker(const Marker& m) {
  json::object o;
  o["expression"] = m.expression;
  o["anchor_ms"] = m.anchor_ms;
  o["last_ms"] = m.last_ms;
  return json::serialize(o);
}

std::string Scheduler::ScheduledEvent(const ScheduledRule& rule, int64_t tick_ms,
                                      const std::string& account, const std::string& region) {
  std::string e = "{\"version\":\"0\",\"id\":\"" + NewUuid() +
                  "\",\"detail-type\":\"Scheduled Event\",\"source\":\"aws.events\","
                  "\"account\":";
  AppendQuoted(e, account);
  e += ",\"time\":\"" + FormatIso8601(tick_ms / 1000) + "\",\"region\":";
  AppendQuoted(e, region);
  e += ",\"resources\":[";
  AppendQuoted(e, rule.arn);
  e += "],\"detail\":{}}";
  return e;
}

Status Scheduler::LoadMarkers() {
  markers_.clear();
  return deps_.store->Scan(store::Family::kMeta, kMarkerPrefix, store::PrefixEnd(kMarkerPrefix),
                           [&](std::string_view k, std::string_view v) {
                             json::error_code ec;
                             json::value parsed = json::parse(v, ec);
                             if (ec || !parsed.is_object())
                               return true;  // unreadable marker: the rule starts afresh
                             const auto& o = parsed.as_object();
                             Marker m;
                             if (auto* e = o.if_contains("expression"); e && e->is_string())
                               m.expression = std::string(e->as_string());
                             if (auto* a = o.if_contains("anchor_ms"); a && a->is_int64())
                               m.anchor_ms = a->as_int64();
                             if (auto* l = o.if_contains("last_ms"); l && l->is_int64())
                               m.last_ms = l->as_int64();
                             markers_[std::string(k)] = std::move(m);
                             return true;
                           });
}

bool Scheduler::Fire(const ScheduledRule& rule, Marker& marker, int64_t tick_ms) {
  store::WriteBatch batch;
  std::string event = ScheduledEvent(rule, tick_ms, deps_.account, deps_.region);
  auto after_commit = deps_.fanout(rule, event, batch);
  if (!after_commit.ok()) {
    log::Error("schedule", "tick fan-out failed",
               {{"rule", rule.arn}, {"error", after_commit.status().ToString()}});
    return false;
  }
  Marker next = marker;
  next.last_ms = tick_ms;
  batch.Put(store::Family::kMeta, MarkerKey(rule), EncodeMarker(next));
  Status s = deps_.store->Write(std::move(batch));
  if (!s.ok()) {
    // Not committed: the tick stays due and is tried again on the next pass.
    log::Error("schedule", "tick not stored", {{"rule", rule.arn}, {"error", s.ToString()}});
    return false;
  }
  marker = next;
  if (*after_commit) (*after_commit)();
  log::Debug("schedule", "tick", {{"rule", rule.arn}, {"time", FormatIso8601(tick_ms / 1000)}});
  return true;
}

int Scheduler::RunOnce() {
  int64_t now = deps_.clock->NowMillis();
  int fired = 0;
  std::set<std::string> seen;
  for (const ScheduledRule& rule : deps_.rules()) {
    std::string key = MarkerKey(rule);
    seen.insert(key);
    auto& parsed = parsed_[rule.expression];
    if (!parsed) {
      auto p = ScheduleExpression::Parse(rule.expression);
      if (!p.ok()) continue;  // validated by PutRule; a stored bad expression never ticks
      parsed = std::make_shared<const ScheduleExpression>(*p);
    }
    auto it = markers_.find(key);
    bool restart = it == markers_.end() || it->second.expression != rule.expression ||
                   (it->second.disabled && rule.enabled);
    if (restart) {
      // A new (or changed, or re-enabled) schedule counts from now; rate schedules from the
      // start of the current minute.
      Marker m;
      m.expression = rule.expression;
      m.anchor_ms = now / kMinuteMs * kMinuteMs;
      m.last_ms = now;
      m.disabled = !rule.enabled;
      store::WriteBatch b;
      b.Put(store::Family::kMeta, key, EncodeMarker(m));
      if (!deps_.store->Write(std::move(b)).ok()) continue;
      markers_[key] = m;
      continue;
    }
    Marker& marker = it->second;
    if (!rule.enabled) {
      marker.disabled = true;
      continue;
    }
    auto due = parsed->LatestDue(marker.last_ms, now, marker.anchor_ms);
    if (due && Fire(rule, marker, *due)) ++fired;
  }
  // Markers of rules that are gone (or no longer scheduled).
  for (auto it = markers_.begin(); it != markers_.end();) {
    if (seen.count(it->first)) {
      ++it;
      continue;
    }
    store::WriteBatch b;
    b.Delete(store::Family::kMeta, it->first);
    if (deps_.store->Write(std::move(b)).ok()) {
      it = markers_.erase(it);
    } else {
      ++it;
    }
  }
  if (parsed_.size() > 4 * (seen.size() + 16)) parsed_.clear();
  return fired;
}

int64_t Scheduler::NextWakeMs(int64_t now_ms) {
  int64_t wake = now_ms + deps_.poll_ms;
  for (const auto& [key, marker] : markers_) {
    if (marker.disabled) continue;
    auto p = parsed_.find(marker.expression);
    if (p == parsed_.end() || !p->second) continue;
    if (auto next = p->second->Next(marker.last_ms, marker.anchor_ms)) {
      wake = std::min(wake, std::max(*next, now_ms));
    }
  }
  return wake;
}

Status Scheduler::Start() {
  BP_RETURN_IF_ERROR(LoadMarkers());
  thread_ = std::thread([this] { Loop(); });
  return Status::Ok();
}

void Scheduler::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    lock.unlock();
    RunOnce();
    int64_t now = deps_.clock->NowMillis();
    int64_t wait_ms = std::max<int64_t>(1, NextWakeMs(now) - now);
    lock.lock();
    cv_.wait_for(lock, std::chrono::milliseconds(wait_ms), [this] { return stop_; });
  }
}

void Scheduler::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace bp::schedule
