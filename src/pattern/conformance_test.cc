// Runs every case of shared/bench/conformance/*.json through CompilePattern/MatchesOne, the
// multi-rule Matcher and the reference matcher.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "pattern/matcher_impl.h"
#include "pattern/pattern.h"
#include "pattern/reference_matcher.h"
#include "pattern/test_util.h"

namespace bp::pattern {
namespace {

namespace json = boost::json;

class ConformanceTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ConformanceTest, AllCases) {
  const std::string path = testing::SharedBenchDir() + "/conformance/" + GetParam();
  std::string text;
  ASSERT_TRUE(testing::ReadWholeFile(path, &text)) << "missing " << path << " (set BP_SHARED_DIR)";
  const json::value cases = json::parse(text);
  ASSERT_TRUE(cases.is_array());
  ASSERT_FALSE(cases.get_array().empty());
  for (const auto& cv : cases.get_array()) {
    const auto& c = cv.get_object();
    const std::string name(c.at("name").get_string());
    const std::string pattern(c.at("pattern").get_string());
    const std::string event(c.at("event").get_string());
    const bool want = c.at("match").get_bool();
    SCOPED_TRACE(name);
    auto compiled = CompilePattern(pattern);
    if (const json::value* err = c.if_contains("pattern_error")) {
      ASSERT_FALSE(compiled.ok()) << "pattern should be rejected: " << pattern;
      EXPECT_EQ(compiled.status().code(), StatusCode::kInvalidEventPattern);
      std::string expected(err->get_string());
      const std::string prefix = "InvalidEventPatternException: ";
      if (expected.rfind(prefix, 0) == 0) expected = expected.substr(prefix.size());
      EXPECT_EQ(compiled.status().message(), expected);
      continue;
    }
    ASSERT_TRUE(compiled.ok()) << compiled.status().message();
    auto one = MatchesOne(pattern, event);
    ASSERT_TRUE(one.ok()) << one.status().message();
    EXPECT_EQ(*one, want) << "pattern " << pattern << "\nevent " << event;
    EXPECT_EQ(testing::ReferenceMatches(**compiled, json::parse(event)), want) << "reference";
  }
}

// All cases' patterns in one matcher: each rule must fire exactly on its own expected events.
TEST_P(ConformanceTest, OneMatcherForAllPatterns) {
  const std::string path = testing::SharedBenchDir() + "/conformance/" + GetParam();
  std::string text;
  ASSERT_TRUE(testing::ReadWholeFile(path, &text));
  const json::value cases = json::parse(text);
  MatcherBuilder builder;
  std::vector<std::shared_ptr<const Pattern>> patterns;
  std::vector<std::string> events;
  for (const auto& cv : cases.get_array()) {
    const auto& c = cv.get_object();
    auto compiled = CompilePattern(std::string(c.at("pattern").get_string()));
    patterns.push_back(compiled.ok() ? *compiled : nullptr);
    events.emplace_back(c.at("event").get_string());
    if (compiled.ok()) {
      ASSERT_TRUE(builder.Add(static_cast<uint32_t>(patterns.size() - 1), *compiled).ok());
    }
  }
  const auto matcher = builder.Build();
  for (size_t e = 0; e < events.size(); ++e) {
    std::vector<uint32_t> got;
    matcher->Match(events[e], &got);
    std::sort(got.begin(), got.end());
    std::vector<uint32_t> want;
    const json::value ev = json::parse(events[e]);
    for (size_t r = 0; r < patterns.size(); ++r) {
      if (patterns[r] && testing::ReferenceMatches(*patterns[r], ev)) {
        want.push_back(static_cast<uint32_t>(r));
      }
    }
    EXPECT_EQ(got, want) << "event " << events[e];
  }
}

INSTANTIATE_TEST_SUITE_P(Files, ConformanceTest,
                         ::testing::Values("cases.json", "arrays.json", "aws_validated.json"));

}  // namespace
}  // namespace bp::pattern
