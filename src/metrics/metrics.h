// Counters, gauges and histograms with Prometheus text exposition (format 0.0.4), written by hand.
//
// Series are created on first use and live as long as the Registry; callers keep the returned
// references and update them lock-free. Render() may run concurrently with updates.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bp::metrics {

using Labels = std::vector<std::pair<std::string, std::string>>;

class Counter {
 public:
  void Inc(uint64_t n = 1) { v_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

class Gauge {
 public:
  void Set(double v) { bits_.store(Bits(v), std::memory_order_relaxed); }
  void Add(double d);
  double value() const { return FromBits(bits_.load(std::memory_order_relaxed)); }

 private:
  static uint64_t Bits(double v);
  static double FromBits(uint64_t b);
  std::atomic<uint64_t> bits_{0};
};

class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);
  void Observe(double v);
  // Snapshot for rendering: cumulative counts per bound (+Inf last), sum, count.
  void Snapshot(std::vector<uint64_t>* cumulative, double* sum, uint64_t* count) const;
  const std::vector<double>& bounds() const { return bounds_; }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;  // bounds_.size() + 1
  Gauge sum_;
  std::atomic<uint64_t> count_{0};
};

// Latency buckets in seconds, 0.5 ms .. 60 s.
std::vector<double> LatencyBuckets();

class Registry {
 public:
  Counter& GetCounter(const std::string& name, const std::string& help, const Labels& labels = {});
  Gauge& GetGauge(const std::string& name, const std::string& help, const Labels& labels = {});
  Histogram& GetHistogram(const std::string& name, const std::string& help, const Labels& labels,
                          const std::vector<double>& bounds);
  // A collector runs at render time and sets gauges (e.g. queue depths).
  void AddCollector(std::function<void()> collector);
  std::string Render();
  // The current value of every counter or gauge series of `name`, keyed by its rendered label
  // set (see RenderLabels); empty for an unknown name or a histogram. Collectors are not run.
  std::vector<std::pair<std::string, double>> Values(const std::string& name);
  // Every histogram series of `name`, keyed by its rendered label set; empty for an unknown name.
  // The pointers stay valid for the registry's lifetime (series are never removed).
  std::vector<std::pair<std::string, const Histogram*>> Histograms(const std::string& name);

 private:
  enum class Kind { kCounter, kGauge, kHistogram };
  struct Family {
    Kind kind;
    std::string help;
    std::map<std::string, std::unique_ptr<Counter>> counters;  // by rendered label set
    std::map<std::string, std::unique_ptr<Gauge>> gauges;
    std::map<std::string, std::unique_ptr<Histogram>> histograms;
  };
  Family& GetFamily(const std::string& name, const std::string& help, Kind kind);

  std::mutex mu_;
  std::map<std::string, Family> families_;  // GUARDED_BY(mu_)
  std::vector<std::function<void()>> collectors_;
};

// Renders {a="x",b="y"} with escaping; empty string for no labels.
std::string RenderLabels(const Labels& labels);
// The value of label `key` in a rendered label set, unescaped; empty if absent.
std::string LabelValue(std::string_view rendered, std::string_view key);

}  // namespace bp::metrics
