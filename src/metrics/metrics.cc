#include "metrics/metrics.h"

#include <cmath>
#include <cstring>
#include <sstream>

namespace bp::metrics {

uint64_t Gauge::Bits(double v) {
  uint64_t b;
  std::memcpy(&b, &v, sizeof b);
  return b;
}

double Gauge::FromBits(uint64_t b) {
  double v;
  std::memcpy(&v, &b, sizeof v);
  return v;
}

void Gauge::Add(double d) {
  uint64_t old = bits_.load(std::memory_order_relaxed);
  while (!bits_.compare_exchange_weak(old, Bits(FromBits(old) + d), std::memory_order_relaxed)) {
  }
}

Histogram::Histogram(std::vector<double> upper_bounds)
    : bounds_(std::move(upper_bounds)), counts_(new std::atomic<uint64_t>[bounds_.size() + 1]) {
  for (size_t i = 0; i <= bounds_.size(); ++i) counts_[i].store(0);
}

void Histogram::Observe(double v) {
  size_t i = 0;
  while (i < bounds_.size() && v > bounds_[i]) ++i;
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.Add(v);
  count_.fetch_add(1, std::memory_order_relaxed);
}

void Histogram::Snapshot(std::vector<uint64_t>* cumulative, double* sum, uint64_t* count) const {
  cumulative->clear();
  uint64_t running = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    running += counts_[i].load(std::memory_order_relaxed);
    cumulative->push_back(running);
  }
  *sum = sum_.value();
  *count = running;
}

std::vector<double> LatencyBuckets() {
  return {0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
}

std::string RenderLabels(const Labels& labels) {
  if (labels.empty()) return {};
  std::string out = "{";
  bool first = true;
  for (const auto& [k, v] : labels) {
    if (!first) out += ',';
    first = false;
    out += k;
    out += "=\"";
    for (char c : v) {
      if (c == '\\')
        out += "\\\\";
      else if (c == '"')
        out += "\\\"";
      else if (c == '\n')
        out += "\\n";
      else
        out += c;
    }
    out += '"';
  }
  out += '}';
  return out;
}

Registry::Family& Registry::GetFamily(const std::string& name, const std::string& help, Kind kind) {
  auto [it, inserted] = families_.try_emplace(name);
  if (inserted) {
    it->second.kind = kind;
    it->second.help = help;
  }
  return it->second;
}

Counter& Registry::GetCounter(const std::string& name, const std::string& help,
                              const Labels& labels) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& fam = GetFamily(name, help, Kind::kCounter);
  auto& slot = fam.counters[RenderLabels(labels)];
  if (!slot) slot = std::make_unique<Counter>();
  return *slot;
}

Gauge& Registry::GetGauge(const std::string& name, const std::string& help, const Labels& labels) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& fam = GetFamily(name, help, Kind::kGauge);
  auto& slot = fam.gauges[RenderLabels(labels)];
  if (!slot) slot = std::make_unique<Gauge>();
  return *slot;
}

Histogram& Registry::GetHistogram(const std::string& name, const std::string& help,
                                  const Labels& labels, const std::vector<double>& bounds) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& fam = GetFamily(name, help, Kind::kHistogram);
  auto& slot = fam.histograms[RenderLabels(labels)];
  if (!slot) slot = std::make_unique<Histogram>(bounds);
  return *slot;
}

std::vector<std::pair<std::string, double>> Registry::Values(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::pair<std::string, double>> out;
  auto it = families_.find(name);
  if (it == families_.end()) return out;
  for (auto& [labels, c] : it->second.counters)
    out.emplace_back(labels, static_cast<double>(c->value()));
  for (auto& [labels, g] : it->second.gauges) out.emplace_back(labels, g->value());
  return out;
}

std::vector<std::pair<std::string, const Histogram*>> Registry::Histograms(
    const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::pair<std::string, const Histogram*>> out;
  auto it = families_.find(name);
  if (it == families_.end()) return out;
  for (auto& [labels, h] : it->second.histograms) out.emplace_back(labels, h.get());
  return out;
}

std::string LabelValue(std::string_view rendered, std::string_view key) {
  // Walks k="v" pairs; values escape \\, \" and \n as RenderLabels writes them.
  size_t i = rendered.empty() ? 0 : 1;
  while (i < rendered.size()) {
    size_t eq = rendered.find("=\"", i);
    if (eq == std::string_view::npos) break;
    std::string_view k = rendered.substr(i, eq - i);
    std::string v;
    size_t j = eq + 2;
    for (; j < rendered.size() && rendered[j] != '"'; ++j) {
      if (rendered[j] == '\\' && j + 1 < rendered.size()) {
        ++j;
        v += rendered[j] == 'n' ? '\n' : rendered[j];
      } else {
        v += rendered[j];
      }
    }
    if (k == key) return v;
    i = j + 2;  // past the closing quote and the comma
  }
  return {};
}

void Registry::AddCollector(std::function<void()> collector) {
  std::lock_guard<std::mutex> lock(mu_);
  collectors_.push_back(std::move(collector));
}

namespace {
std::string Num(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  std::ostringstream ss;
  ss.precision(15);
  ss << v;
  return ss.str();
}

// Inserts an extra label into a rendered label set.
std::string WithLabel(const std::string& rendered, const std::string& extra) {
  if (rendered.empty()) return "{" + extra + "}";
  return rendered.substr(0, rendered.size() - 1) + "," + extra + "}";
}
}  // namespace

std::string Registry::Render() {
  std::vector<std::function<void()>> collectors;
  {
    std::lock_guard<std::mutex> lock(mu_);
    collectors = collectors_;
  }
  for (auto& c : collectors) c();
  std::lock_guard<std::mutex> lock(mu_);
  std::string out;
  for (auto& [name, fam] : families_) {
    const char* type = fam.kind == Kind::kCounter ? "counter"
                       : fam.kind == Kind::kGauge ? "gauge"
                                                  : "histogram";
    out += "# HELP " + name + " " + fam.help + "\n# TYPE " + name + " " + type + "\n";
    for (auto& [labels, c] : fam.counters)
      out += name + labels + " " + std::to_string(c->value()) + "\n";
    for (auto& [labels, g] : fam.gauges) out += name + labels + " " + Num(g->value()) + "\n";
    for (auto& [labels, h] : fam.histograms) {
      std::vector<uint64_t> cum;
      double sum;
      uint64_t count;
      h->Snapshot(&cum, &sum, &count);
      for (size_t i = 0; i < h->bounds().size(); ++i) {
        out += name + "_bucket" + WithLabel(labels, "le=\"" + Num(h->bounds()[i]) + "\"") + " " +
               std::to_string(cum[i]) + "\n";
      }
      out += name + "_bucket" + WithLabel(labels, "le=\"+Inf\"") + " " +
             std::to_string(cum.back()) + "\n";
      out += name + "_sum" + labels + " " + Num(sum) + "\n";
      out += name + "_count" + labels + " " + std::to_string(count) + "\n";
    }
  }
  return out;
}

}  // namespace bp::metrics
