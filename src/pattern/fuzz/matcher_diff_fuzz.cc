// Differential fuzzing: the input seeds random patterns and events (random_json.h); the automaton
// must agree with the reference matcher. The raw input is also matched as an event (no crash).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "pattern/pattern.h"
#include "pattern/random_json.h"
#include "pattern/reference_matcher.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  uint64_t seed = 0;
  std::memcpy(&seed, data, std::min(size, sizeof(seed)));
  bp::pattern::testing::RandomJson rnd(seed);
  bp::pattern::MatcherBuilder builder;
  std::vector<std::shared_ptr<const bp::pattern::Pattern>> patterns;
  for (int r = 0; r < 6; ++r) {
    auto compiled = bp::pattern::CompilePattern(rnd.PatternObject(0));
    if (!compiled.ok()) continue;
    if (!builder.Add(static_cast<uint32_t>(patterns.size()), *compiled).ok()) __builtin_trap();
    patterns.push_back(*compiled);
  }
  const auto matcher = builder.Build();
  std::vector<uint32_t> out;
  matcher->Match(std::string_view(reinterpret_cast<const char*>(data), size), &out);
  for (int e = 0; e < 8; ++e) {
    const std::string event = rnd.EventObject(0);
    out.clear();
    matcher->Match(event, &out);
    std::sort(out.begin(), out.end());
    std::vector<uint32_t> want;
    const auto parsed = boost::json::parse(event);
    for (size_t r = 0; r < patterns.size(); ++r) {
      if (bp::pattern::testing::ReferenceMatches(*patterns[r], parsed)) {
        want.push_back(static_cast<uint32_t>(r));
      }
    }
    if (out != want) __builtin_trap();
  }
  return 0;
}
