// GET /_bridgeport/v1/overview: resources with their states, and per destination the starts per
// second of the last minutes against the limit, backlog, outcomes and latency. The sampler
// records each destination's limit once per second; the starts come from the engine.
#include <chrono>
#include <cmath>

#include "console/console_impl.h"
#include "delivery/engine.h"
#include "metrics/metrics.h"
#include "registry/registry.h"

namespace bp::console {

namespace {

using Series = std::map<std::string, std::map<std::string, double>>;  // dest -> label -> value

// The series of `name` by destination, keyed by the value of `by` (or "" for none).
Series ByDestination(metrics::Registry& m, const std::string& name, std::string_view by) {
  Series out;
  for (const auto& [labels, v] : m.Values(name)) {
    std::string key = by.empty() ? "" : metrics::LabelValue(labels, by);
    out[metrics::LabelValue(labels, "destination")][key] += v;
  }
  return out;
}

// Percentiles of the series of histogram `name` whose destination label is `dest`, or of all
// its series summed when `dest` is empty (the server-wide figure). Every series uses the
// engine's LatencyBuckets, so their cumulative counts add bucket by bucket.
json::object Percentiles(metrics::Registry& m, const std::string& name,
                         const std::string* dest = nullptr) {
  const std::vector<double> b = metrics::LatencyBuckets();
  std::vector<uint64_t> cum(b.size() + 1, 0);
  double sum = 0;
  uint64_t count = 0;
  for (const auto& [labels, h] : m.Histograms(name)) {
    if (dest && metrics::LabelValue(labels, "destination") != *dest) continue;
    if (h->bounds() != b) continue;  // not one of the engine's series
    std::vector<uint64_t> c;
    double s = 0;
    uint64_t n = 0;
    h->Snapshot(&c, &s, &n);
    for (size_t i = 0; i < cum.size() && i < c.size(); ++i) cum[i] += c[i];
    sum += s;
    count += n;
  }
  json::object out;
  out["count"] = count;
  out["mean_ms"] = count ? std::round(sum / static_cast<double>(count) * 1e5) / 100 : 0.0;
  for (auto [label, q] : {std::pair{"p50_ms", 0.5}, {"p90_ms", 0.9}, {"p99_ms", 0.99}}) {
    if (count == 0) {
      out[label] = nullptr;
      continue;
    }
    // Linear interpolation inside the bucket holding the rank (Prometheus' histogram_quantile).
    double rank = q * static_cast<double>(count);
    size_t i = 0;
    while (i < cum.size() && static_cast<double>(cum[i]) < rank) ++i;
    if (i >= b.size()) {
      out[label] = b.back() * 1000;  // beyond the last bound: report the bound
      continue;
    }
    double lo = i == 0 ? 0 : b[i - 1];
    double below = i == 0 ? 0 : static_cast<double>(cum[i - 1]);
    double in = static_cast<double>(cum[i]) - below;
    double v = in > 0 ? lo + (b[i] - lo) * (rank - below) / in : b[i];
    out[label] = std::round(v * 1e5) / 100;  // ms, two decimals
  }
  return out;
}

}  // namespace

void ConsoleServiceImpl::SampleLoop() {
  using namespace std::chrono;
  std::unique_lock<std::mutex> lock(history_mu_);
  while (!stopping_) {
    // Wake just after each wall-clock second.
    int64_t now_us = d_.clock->NowMicros();
    int64_t wait_us = 1'000'000 - now_us % 1'000'000 + 1000;
    history_cv_.wait_for(lock, microseconds(wait_us));
    if (stopping_) break;
    lock.unlock();
    Sample(d_.clock->NowMicros() / 1'000'000);
    lock.lock();
  }
}

void ConsoleServiceImpl::Sample(int64_t now_s) {
  // Each destination with a lane: the limit in force now (adaptive-rate moves it), else the
  // configured one. Sampled just after the second `now_s` began, so it stands for now_s - 1.
  auto limits = ByDestination(*d_.metrics, "bridgeport_rate_limit_per_second", "");
  std::lock_guard<std::mutex> lock(history_mu_);
  for (auto& [dest, values] : limits) {
    int limit = static_cast<int>(values[""]);
    if (limit == 0) {
      if (auto view = d_.registry->FindDestination(dest)) limit = view->rate_limit_per_second;
    }
    DestinationHistory& h = history_[dest];
    h.limits.push_back(limit);
    h.last_second = now_s - 1;
    while (h.limits.size() > kHistorySeconds) h.limits.pop_front();
  }
}

json::array ConsoleServiceImpl::Destinations() {
  auto& m = *d_.metrics;
  Series backlog = ByDestination(m, "bridgeport_destination_backlog", "state");
  Series inflight = ByDestination(m, "bridgeport_destination_inflight", "");
  Series attempts = ByDestination(m, "bridgeport_invocation_attempts_total", "result");
  Series failures = ByDestination(m, "bridgeport_invocation_failures_total", "error_code");
  Series breaker = ByDestination(m, "bridgeport_circuit_breaker_opened_total", "");
  json::array out;
  auto list =
      ListAll([this](const json::object& in) { return d_.registry->ListApiDestinations(in); }, {},
              "ApiDestinations");
  std::lock_guard<std::mutex> lock(history_mu_);
  for (auto& v : list) {
    if (!v.is_object()) continue;
    json::object d = v.as_object();
    std::string name(d["Name"].is_string() ? d["Name"].as_string() : "");
    auto counts = [](const std::map<std::string, double>& src) {
      json::object o;
      for (const auto& [k, n] : src) o[k] = static_cast<int64_t>(n);
      return o;
    };
    json::object bl;
    for (const char* st : {"ready", "scheduled", "parked"})
      bl[st] = static_cast<int64_t>(backlog[name][st]);
    d["backlog"] = std::move(bl);
    d["inflight"] = static_cast<int64_t>(inflight[name][""]);
    d["attempts"] = counts(attempts[name]);
    d["failures"] = counts(failures[name]);
    d["breaker_opened"] = static_cast<int64_t>(breaker[name][""]);
    json::object lat;
    lat["attempt"] = Percentiles(m, "bridgeport_attempt_duration_seconds", &name);
    lat["ingestion_to_invocation"] =
        Percentiles(m, "bridgeport_ingestion_to_invocation_seconds", &name);
    d["latency"] = std::move(lat);
    json::array starts, limits;
    int64_t last_second = 0;
    if (auto it = history_.find(name); it != history_.end()) {
      last_second = it->second.last_second;
      for (int l : it->second.limits) limits.push_back(l);
      // Starts counted by the engine in the second they happened, aligned with the samples.
      for (int s : d_.engine->RecentStarts(name, last_second + 1,
                                           static_cast<int>(it->second.limits.size()))) {
        starts.push_back(s);
      }
    }
    d["starts_per_second"] = std::move(starts);
    d["limit_per_second"] = std::move(limits);
    d["history_end"] = last_second;  // epoch second of the newest sample
    if (auto view = d_.registry->FindDestination(name)) {
      d["ConnectionName"] = view->connection_name;
      json::object settings;
      for (const auto& [k, val] : view->tags) {
        if (k.starts_with("bridgeport:")) settings[k.substr(11)] = val;
      }
      d["settings"] = std::move(settings);
    }
    out.push_back(std::move(d));
  }
  return out;
}

json::object ConsoleServiceImpl::Overview() {
  auto& r = *d_.registry;
  json::object out;
  out["time"] = d_.clock->NowMillis();
  json::array buses =
      ListAll([&r](const json::object& in) { return r.ListEventBuses(in); }, {}, "EventBuses");
  json::array rules;
  for (auto& b : buses) {
    if (!b.is_object() || !b.as_object()["Name"].is_string()) continue;
    std::string bus(b.as_object()["Name"].as_string());
    json::object in;
    in["EventBusName"] = bus;
    auto list = ListAll([&r](const json::object& q) { return r.ListRules(q); }, in, "Rules");
    auto routes = r.Routes(bus);
    b.as_object()["RuleCount"] = list.size();
    for (auto& rule : list) {
      if (!rule.is_object()) continue;
      json::object& o = rule.as_object();
      json::array targets;
      if (routes) {
        for (const auto& rr : routes->rules) {
          if (o["Name"].is_string() && rr.name != o["Name"].as_string()) continue;
          for (const auto& t : rr.targets) {
            json::object tj;
            tj["Id"] = t->target_id;
            tj["Arn"] = t->target_arn;
            tj["Resource"] = t->resource_name;
            tj["Kind"] = t->kind == registry::TargetKind::kApiDestination ? "api-destination"
                         : t->kind == registry::TargetKind::kQueue        ? "queue"
                                                                          : "event-bus";
            if (!t->dead_letter_arn.empty()) tj["DeadLetterArn"] = t->dead_letter_arn;
            targets.push_back(std::move(tj));
          }
        }
      }
      o["Targets"] = std::move(targets);
      o["EventBusName"] = bus;
      rules.push_back(std::move(rule));
    }
  }
  out["buses"] = std::move(buses);
  out["rules"] = std::move(rules);
  out["connections"] =
      ListAll([&r](const json::object& in) { return r.ListConnections(in); }, {}, "Connections");
  out["destinations"] = Destinations();
  json::object invocations;
  for (const auto& [labels, v] : d_.metrics->Values("bridgeport_invocations_total"))
    invocations[metrics::LabelValue(labels, "outcome")] = static_cast<int64_t>(v);
  out["invocations"] = std::move(invocations);
  json::object latency;
  latency["attempt"] = Percentiles(*d_.metrics, "bridgeport_attempt_duration_seconds");
  latency["ingestion_to_invocation"] =
      Percentiles(*d_.metrics, "bridgeport_ingestion_to_invocation_seconds");
  out["latency"] = std::move(latency);
  out["dead_letter_queues"] = DeadLetterQueues();
  return out;
}

}  // namespace bp::console
