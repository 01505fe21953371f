#include "pattern/bench_match.h"

#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "pattern/pattern.h"

namespace bp::pattern {
namespace {

namespace json = boost::json;

bool ReadFile(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  *out = ss.str();
  return true;
}

int Usage() {
  std::cerr << "usage: bench-match --events FILE.jsonl --rulesets FILE.json [--set NAME] "
               "[--expected expected_counts.json]\n";
  return 2;
}

struct SetResult {
  double events_per_sec = 0;
  uint64_t matches = 0;
  double add_ms = 0;
  std::vector<uint64_t> counts;
};

// Resident set size in KiB (Linux), 0 if unknown.
long ResidentKb() {
  std::ifstream statm("/proc/self/statm");
  long pages = 0, resident = 0;
  if (!(statm >> pages >> resident)) return 0;
  return resident * 4;
}

double Seconds(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

}  // namespace

int RunBenchMatch(int argc, char** argv) {
  std::string events_path, rulesets_path, only_set, expected_path;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&](std::string* dst) {
      if (i + 1 >= argc) return false;
      *dst = argv[++i];
      return true;
    };
    bool ok = true;
    if (a == "--events") {
      ok = next(&events_path);
    } else if (a == "--rulesets") {
      ok = next(&rulesets_path);
    } else if (a == "--set") {
      ok = next(&only_set);
    } else if (a == "--expected") {
      ok = next(&expected_path);
    } else if (a == "bench-match") {
      continue;
    } else {
      ok = false;
    }
    if (!ok) return Usage();
  }
  if (events_path.empty() || rulesets_path.empty()) return Usage();

  std::vector<std::string> events;
  {
    std::ifstream in(events_path, std::ios::binary);
    if (!in) {
      std::cerr << "cannot read " << events_path << "\n";
      return 2;
    }
    std::string line;
    while (std::getline(in, line)) {
      if (!line.empty()) events.push_back(line);
    }
  }
  std::string text;
  if (!ReadFile(rulesets_path, &text)) {
    std::cerr << "cannot read " << rulesets_path << "\n";
    return 2;
  }
  boost::system::error_code ec;
  const json::value rulesets = json::parse(text, ec);
  if (ec || !rulesets.is_object()) {
    std::cerr << "bad rule sets file\n";
    return 2;
  }
  json::value expected;
  if (!expected_path.empty()) {
    if (!ReadFile(expected_path, &text)) {
      std::cerr << "cannot read " << expected_path << "\n";
      return 2;
    }
    expected = json::parse(text, ec);
    if (ec || !expected.is_object()) {
      std::cerr << "bad expected counts file\n";
      return 2;
    }
  }

  bool all_ok = true;
  bool any_set = false;
  for (const auto& kv : rulesets.get_object()) {
    const std::string name(kv.key());
    if (!only_set.empty() && name != only_set) continue;
    any_set = true;
    if (!kv.value().is_array()) continue;
    const auto& patterns = kv.value().get_array();

    const long rss0 = ResidentKb();
    const auto t0 = std::chrono::steady_clock::now();
    MatcherBuilder builder;
    std::string error;
    for (size_t i = 0; i < patterns.size() && error.empty(); ++i) {
      if (!patterns[i].is_string()) {
        error = "pattern is not a string";
        break;
      }
      auto compiled = CompilePattern(std::string(patterns[i].get_string()));
      if (!compiled.ok()) {
        error = compiled.status().message();
        break;
      }
      if (auto st = builder.Add(static_cast<uint32_t>(i), *compiled); !st.ok()) {
        error = st.message();
      }
    }
    if (!error.empty()) {
      std::cout << name << " unsupported reason=\"" << error << "\"\n";
      all_ok = false;
      continue;
    }
    const auto matcher = builder.Build();
    const double add_ms = Seconds(std::chrono::steady_clock::now() - t0) * 1e3;
    const long add_kb = ResidentKb() - rss0;  // compiled patterns + builder + matcher

    std::vector<uint32_t> out;
    out.reserve(patterns.size());
    SetResult best;
    best.add_ms = add_ms;
    for (const auto& e : events) {  // warm-up
      out.clear();
      matcher->Match(e, &out);
    }
    bool passes_agree = true;
    std::vector<uint64_t> first_counts;
    for (int pass = 0; pass < 2; ++pass) {
      std::vector<uint64_t> counts(patterns.size(), 0);
      const auto start = std::chrono::steady_clock::now();
      for (const auto& e : events) {
        out.clear();
        matcher->Match(e, &out);
        for (const uint32_t id : out) ++counts[id];
      }
      const double secs = Seconds(std::chrono::steady_clock::now() - start);
      const double eps = secs > 0 ? static_cast<double>(events.size()) / secs : 0;
      if (pass == 0) first_counts = counts;
      if (counts != first_counts) passes_agree = false;
      if (eps > best.events_per_sec) best.events_per_sec = eps;
      best.counts = counts;
    }
    for (const uint64_t c : best.counts) best.matches += c;

    bool ok = passes_agree;
    std::string detail;
    if (!expected_path.empty()) {
      const json::value* sets = expected.get_object().if_contains("event_ruler");
      const json::value* set =
          sets && sets->is_object() ? sets->get_object().if_contains(name) : nullptr;
      const json::value* counts =
          set && set->is_object() ? set->get_object().if_contains("counts") : nullptr;
      if (counts == nullptr || !counts->is_object()) {
        ok = false;
        detail = " missing_expected=true";
      } else {
        for (size_t i = 0; i < best.counts.size(); ++i) {
          const std::string rn = "r" + std::to_string(i);
          const json::value* want = counts->get_object().if_contains(rn);
          const int64_t w = want && want->is_int64() ? want->get_int64() : -1;
          if (w != static_cast<int64_t>(best.counts[i])) {
            ok = false;
            std::cerr << name << " " << rn << " expected=" << w << " got=" << best.counts[i]
                      << "\n";
          }
        }
      }
    }
    all_ok &= ok;
    char buf[128];
    std::snprintf(buf, sizeof(buf), "%.0f", best.events_per_sec);
    std::cout << name << " events_per_sec=" << buf << " matches=" << best.matches;
    std::snprintf(buf, sizeof(buf), "%.1f", best.add_ms);
    std::cout << " add_ms=" << buf << " add_rss_kb=" << add_kb << " rules=" << patterns.size()
              << " events=" << events.size();
    if (!expected_path.empty()) std::cout << " ok=" << (ok ? "true" : "false");
    std::cout << detail << "\n" << std::flush;
  }
  if (!any_set) {
    std::cerr << "no such rule set: " << only_set << "\n";
    return 2;
  }
  return all_ok ? 0 : 1;
}

}  // namespace bp::pattern
