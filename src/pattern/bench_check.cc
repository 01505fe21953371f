// pattern_bench_check EVENTS.jsonl [RULESETS.json]: for every rule set, per-rule match counts of
// the automaton must equal those of the reference matcher on the given events (a small prefix of
// the citylots data in CTest). Exit status 0 when all sets agree.
#include <boost/json.hpp>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "pattern/pattern.h"
#include "pattern/reference_matcher.h"
#include "pattern/test_util.h"

namespace json = boost::json;
using bp::pattern::CompilePattern;
using bp::pattern::MatcherBuilder;

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: pattern_bench_check EVENTS.jsonl [RULESETS.json]\n";
    return 2;
  }
  const std::string rules_path =
      argc > 2 ? argv[2] : bp::pattern::testing::SharedBenchDir() + "/rulesets.json";
  std::vector<std::string> events;
  std::ifstream in(argv[1]);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) events.push_back(line);
  }
  std::string text;
  if (events.empty() || !bp::pattern::testing::ReadWholeFile(rules_path, &text)) {
    std::cerr << "missing input\n";
    return 2;
  }
  std::vector<json::value> parsed;
  for (const auto& e : events) parsed.push_back(json::parse(e));
  const json::value sets = json::parse(text);
  int failures = 0;
  for (const auto& kv : sets.get_object()) {
    MatcherBuilder builder;
    std::vector<std::shared_ptr<const bp::pattern::Pattern>> patterns;
    for (const auto& p : kv.value().get_array()) {
      auto compiled = CompilePattern(std::string(p.get_string()));
      if (!compiled.ok()) {
        std::cerr << kv.key() << ": " << compiled.status().message() << "\n";
        return 1;
      }
      if (!builder.Add(static_cast<uint32_t>(patterns.size()), *compiled).ok()) return 1;
      patterns.push_back(*compiled);
    }
    const auto matcher = builder.Build();
    std::vector<uint64_t> got(patterns.size()), want(patterns.size());
    std::vector<uint32_t> out;
    // The reference is slow; MANY_* sets are checked on fewer events.
    const size_t n = patterns.size() > 100 ? std::min<size_t>(events.size(), 200) : events.size();
    for (size_t i = 0; i < n; ++i) {
      out.clear();
      matcher->Match(events[i], &out);
      for (const uint32_t id : out) ++got[id];
      for (size_t r = 0; r < patterns.size(); ++r) {
        want[r] += bp::pattern::testing::ReferenceMatches(*patterns[r], parsed[i]);
      }
    }
    uint64_t total = 0;
    for (size_t r = 0; r < patterns.size(); ++r) {
      total += got[r];
      if (got[r] != want[r]) {
        ++failures;
        std::cerr << kv.key() << " r" << r << " automaton=" << got[r] << " reference=" << want[r]
                  << "\n";
      }
    }
    std::cout << kv.key() << " events=" << n << " matches=" << total << "\n";
  }
  return failures == 0 ? 0 : 1;
}
