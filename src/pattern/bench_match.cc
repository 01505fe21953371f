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

struct BenchFlags {
  std::string events_path, rulesets_path, only_set, expected_path;
};

bool ParseFlags(int argc, char** argv, BenchFlags* flags) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&](std::string* dst) {
      if (i + 1 >= argc) return false;
      *dst = argv[++i];
      return true;
    };
    bool ok = true;
    if (a == "--events") {
      ok = next(&flags->events_path);
    } else if (a == "--rulesets") {
      ok = next(&flags->rulesets_path);
    } else if (a == "--set") {
      ok = next(&flags->only_set);
    } else if (a == "--expected") {
      ok = next(&flags->expected_path);
    } else if (a == "bench-match") {
      continue;
    } else {
      ok = false;
    }
    if (!ok) return false;
  }
  return !flags->events_path.empty() && !flags->rulesets_path.empty();
}

// The file's non-empty lines.
bool ReadEvents(const std::string& path, std::vector<std::string>* events) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::cerr << "cannot read " << path << "\n";
    return false;
  }
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) events->push_back(line);
  }
  return true;
}

// `what` names the file in the message when it is not a JSON object.
bool ReadJsonObject(const std::string& path, const char* what, json::value* out) {
  std::string text;
  if (!ReadFile(path, &text)) {
    std::cerr << "cannot read " << path << "\n";
    return false;
  }
  boost::system::error_code ec;
  *out = json::parse(text, ec);
  if (ec || !out->is_object()) {
    std::cerr << "bad " << what << " file\n";
    return false;
  }
  return true;
}

// Adds pattern i as rule i; returns why it could not, or "" when all were added.
std::string AddPatterns(const json::array& patterns, MatcherBuilder* builder) {
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
    if (auto st = builder->Add(static_cast<uint32_t>(i), *compiled); !st.ok()) {
      error = st.message();
    }
  }
  return error;
}

// The faster of two timed passes after a warm-up; false in `passes_agree` if their counts differ.
SetResult TimeMatches(const Matcher& matcher, const std::vector<std::string>& events, size_t rules,
                      bool* passes_agree) {
  std::vector<uint32_t> out;
  out.reserve(rules);
  SetResult best;
  for (const auto& e : events) {  // warm-up
    out.clear();
    matcher.Match(e, &out);
  }
  *passes_agree = true;
  std::vector<uint64_t> first_counts;
  for (int pass = 0; pass < 2; ++pass) {
    std::vector<uint64_t> counts(rules, 0);
    const auto start = std::chrono::steady_clock::now();
    for (const auto& e : events) {
      out.clear();
      matcher.Match(e, &out);
      for (const uint32_t id : out) ++counts[id];
    }
    const double secs = Seconds(std::chrono::steady_clock::now() - start);
    const double eps = secs > 0 ? static_cast<double>(events.size()) / secs : 0;
    if (pass == 0) first_counts = counts;
    if (counts != first_counts) *passes_agree = false;
    if (eps > best.events_per_sec) best.events_per_sec = eps;
    best.counts = counts;
  }
  for (const uint64_t c : best.counts) best.matches += c;
  return best;
}

// Compares the counts with expected["event_ruler"][name]["counts"]["r<i>"], reporting each
// mismatch on stderr.
bool MatchesExpected(const json::value& expected, const std::string& name,
                     const std::vector<uint64_t>& got, std::string* detail) {
  const json::value* sets = expected.get_object().if_contains("event_ruler");
  const json::value* set =
      sets && sets->is_object() ? sets->get_object().if_contains(name) : nullptr;
  const json::value* counts =
      set && set->is_object() ? set->get_object().if_contains("counts") : nullptr;
  if (counts == nullptr || !counts->is_object()) {
    *detail = " missing_expected=true";
    return false;
  }
  bool ok = true;
  for (size_t i = 0; i < got.size(); ++i) {
    const std::string rn = "r" + std::to_string(i);
    const json::value* want = counts->get_object().if_contains(rn);
    const int64_t w = want && want->is_int64() ? want->get_int64() : -1;
    if (w != static_cast<int64_t>(got[i])) {
      ok = false;
      std::cerr << name << " " << rn << " expected=" << w << " got=" << got[i] << "\n";
    }
  }
  return ok;
}

// Benchmarks one rule set and prints its line; false if it failed or disagreed with
// `expected` (null when there is none).
bool BenchSet(const std::string& name, const json::array& patterns,
              const std::vector<std::string>& events, const json::value* expected) {
  const long rss0 = ResidentKb();
  const auto t0 = std::chrono::steady_clock::now();
  MatcherBuilder builder;
  const std::string error = AddPatterns(patterns, &builder);
  if (!error.empty()) {
    std::cout << name << " unsupported reason=\"" << error << "\"\n";
    return false;
  }
  const auto matcher = builder.Build();
  const double add_ms = Seconds(std::chrono::steady_clock::now() - t0) * 1e3;
  const long add_kb = ResidentKb() - rss0;  // compiled patterns + builder + matcher

  bool passes_agree;
  SetResult best = TimeMatches(*matcher, events, patterns.size(), &passes_agree);
  best.add_ms = add_ms;

  bool ok = passes_agree;
  std::string detail;
  if (expected != nullptr && !MatchesExpected(*expected, name, best.counts, &detail)) ok = false;
  char buf[128];
  std::snprintf(buf, sizeof(buf), "%.0f", best.events_per_sec);
  std::cout << name << " events_per_sec=" << buf << " matches=" << best.matches;
  std::snprintf(buf, sizeof(buf), "%.1f", best.add_ms);
  std::cout << " add_ms=" << buf << " add_rss_kb=" << add_kb << " rules=" << patterns.size()
            << " events=" << events.size();
  if (expected != nullptr) std::cout << " ok=" << (ok ? "true" : "false");
  std::cout << detail << "\n" << std::flush;
  return ok;
}

}  // namespace

int RunBenchMatch(int argc, char** argv) {
  BenchFlags flags;
  if (!ParseFlags(argc, argv, &flags)) return Usage();
  std::vector<std::string> events;
  if (!ReadEvents(flags.events_path, &events)) return 2;
  json::value rulesets;
  if (!ReadJsonObject(flags.rulesets_path, "rule sets", &rulesets)) return 2;
  json::value expected;
  const bool has_expected = !flags.expected_path.empty();
  if (has_expected && !ReadJsonObject(flags.expected_path, "expected counts", &expected)) return 2;

  bool all_ok = true;
  bool any_set = false;
  for (const auto& kv : rulesets.get_object()) {
    const std::string name(kv.key());
    if (!flags.only_set.empty() && name != flags.only_set) continue;
    any_set = true;
    if (!kv.value().is_array()) continue;
    all_ok &= BenchSet(name, kv.value().get_array(), events, has_expected ? &expected : nullptr);
  }
  if (!any_set) {
    std::cerr << "no such rule set: " << flags.only_set << "\n";
    return 2;
  }
  return all_ok ? 0 : 1;
}

}  // namespace bp::pattern
