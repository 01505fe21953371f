// Differential test: the automaton against the reference matcher on random patterns and events.
#include <gtest/gtest.h>

#include <algorithm>

#include "pattern/pattern.h"
#include "pattern/random_json.h"
#include "pattern/reference_matcher.h"

namespace bp::pattern {
namespace {

namespace json = boost::json;

TEST(DiffTest, AutomatonAgreesWithReference) {
  int compared = 0, matched = 0;
  for (uint64_t seed = 1; seed <= 300; ++seed) {
    testing::RandomJson rnd(seed);
    MatcherBuilder builder;
    std::vector<std::shared_ptr<const Pattern>> patterns;
    std::vector<std::string> texts;
    for (int r = 0; r < 8; ++r) {
      const std::string text = rnd.PatternObject(0);
      auto compiled = CompilePattern(text);
      if (!compiled.ok()) continue;
      ASSERT_TRUE(builder.Add(static_cast<uint32_t>(patterns.size()), *compiled).ok());
      patterns.push_back(*compiled);
      texts.push_back(text);
    }
    const auto matcher = builder.Build();
    for (int e = 0; e < 40; ++e) {
      const std::string event = rnd.EventObject(0);
      boost::system::error_code ec;
      const json::value parsed = json::parse(event, ec);
      ASSERT_FALSE(ec) << event;
      std::vector<uint32_t> got;
      matcher->Match(event, &got);
      std::sort(got.begin(), got.end());
      std::vector<uint32_t> want;
      for (size_t r = 0; r < patterns.size(); ++r) {
        if (testing::ReferenceMatches(*patterns[r], parsed))
          want.push_back(static_cast<uint32_t>(r));
      }
      if (got != want) {
        std::string rules;
        for (const auto& t : texts) rules += t + "\n";
        std::string g, w;
        for (auto x : got) g += std::to_string(x) + " ";
        for (auto x : want) w += std::to_string(x) + " ";
        FAIL() << "seed " << seed << " event " << event << "\ngot " << g << " want " << w
               << "\nrules:\n"
               << rules;
      }
      ++compared;
      matched += static_cast<int>(want.size());
    }
  }
  EXPECT_GT(compared, 10000);
  EXPECT_GT(matched, 1000);  // the generator must produce real matches, not just misses
}

}  // namespace
}  // namespace bp::pattern
