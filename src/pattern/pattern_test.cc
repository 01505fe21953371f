// Table tests per operator: validation messages and match results, through MatchesOne and a
// multi-rule Matcher.
#include "pattern/pattern.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace bp::pattern {
namespace {

struct Case {
  const char* pattern;
  const char* event;
  bool match;
};

void RunCases(const std::vector<Case>& cases) {
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(c.pattern) + "  ~  " + c.event);
    auto r = MatchesOne(c.pattern, c.event);
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_EQ(*r, c.match);
  }
}

std::string Reason(std::string_view pattern) {
  auto r = CompilePattern(pattern);
  if (r.ok()) return "<ok>";
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidEventPattern);
  const std::string prefix = "Event pattern is not valid. Reason: ";
  EXPECT_EQ(r.status().message().rfind(prefix, 0), 0u) << r.status().message();
  return r.status().message().substr(prefix.size());
}

TEST(PatternTest, Exact) {
  RunCases({
      {R"({"a":["x"]})", R"({"a":"x"})", true},
      {R"({"a":["x"]})", R"({"a":"X"})", false},
      {R"({"a":["x"]})", R"({"b":"x"})", false},
      {R"({"a":["5"]})", R"({"a":5})", false},
      {R"({"a":[5]})", R"({"a":"5"})", false},
      {R"({"a":[300]})", R"({"a":3.0e2})", true},
      {R"({"a":[300]})", R"({"a":300.0})", true},
      {R"({"a":[0]})", R"({"a":-0.0})", true},
      {R"({"a":[1.5]})", R"({"a":15e-1})", true},
      {R"({"a":[true]})", R"({"a":true})", true},
      {R"({"a":[true]})", R"({"a":"true"})", false},
      {R"({"a":[null]})", R"({"a":null})", true},
      {R"({"a":[null]})", R"({})", false},
      {R"({"a":[""]})", R"({"a":null})", false},
      {R"({"a":[""]})", R"({"a":""})", true},
      {R"({"a":["x","y"]})", R"({"a":"y"})", true},
      {R"({"a":["*"]})", R"({"a":"abc"})", false},
  });
}

TEST(PatternTest, EscapesAndUnicode) {
  RunCases({
      {R"({"a":["q\"b"]})", R"({"a":"q\"b"})", true},
      {R"({"a":["\u00e9"]})", R"({"a":"é"})", true},
      {R"({"a":["é"]})", R"({"a":"\u00e9"})", true},
      {R"({"a":["😀"]})", R"({"a":"\ud83d\ude00"})", true},
      {R"({"a":["a/b"]})", R"({"a":"a\/b"})", true},
      {R"({"k\"ey":["v"]})", R"({"k\"ey":"v"})", true},
      {R"({"a":[{"prefix":"\\"}]})", R"({"a":"\\x"})", true},
  });
}

TEST(PatternTest, PrefixSuffix) {
  RunCases({
      {R"({"a":[{"prefix":"us-"}]})", R"({"a":"us-east"})", true},
      {R"({"a":[{"prefix":"us-"}]})", R"({"a":"eu-west"})", false},
      {R"({"a":[{"prefix":""}]})", R"({"a":""})", true},
      {R"({"a":[{"prefix":""}]})", R"({"a":5})", false},
      {R"({"a":[{"prefix":"1"}]})", R"({"a":12})", false},
      {R"({"a":[{"suffix":".png"}]})", R"({"a":"x.png"})", true},
      {R"({"a":[{"suffix":".png"}]})", R"({"a":"png"})", false},
      {R"({"a":[{"prefix":"ab"},{"prefix":"abc"}]})", R"({"a":"abcd"})", true},
  });
}

TEST(PatternTest, EqualsIgnoreCaseUnicode) {
  RunCases({
      {R"({"a":[{"equals-ignore-case":"HeLLo"}]})", R"({"a":"hello"})", true},
      {R"({"a":[{"equals-ignore-case":"straße"}]})", R"({"a":"STRAßE"})", true},
      {R"({"a":[{"equals-ignore-case":"ΣΊΣΥΦΟΣ"}]})", R"({"a":"σίσυφος"})", true},  // ς folds to σ
      {R"({"a":[{"equals-ignore-case":"ΣΊΣΥΦΟΣ"}]})", R"({"a":"σίσυφοσ"})", true},
      {R"({"a":[{"equals-ignore-case":"ПРИВЕТ"}]})", R"({"a":"привет"})", true},
      {R"({"a":[{"equals-ignore-case":"k"}]})", R"({"a":"\u212a"})", true},  // Kelvin sign
      {R"({"a":[{"equals-ignore-case":"ǅ"}]})", R"({"a":"ǆ"})", true},
      {R"({"a":[{"prefix":{"equals-ignore-case":"ÉT"}}]})", R"({"a":"été"})", true},
      {R"({"a":[{"suffix":{"equals-ignore-case":"ÉE"}}]})", R"({"a":"une ANNÉE"})", true},
      {R"({"a":[{"suffix":{"equals-ignore-case":"x"}}]})", R"({"a":"ÉE"})", false},
  });
}

TEST(PatternTest, Wildcard) {
  RunCases({
      {R"({"a":[{"wildcard":"d/*.png"}]})", R"({"a":"d/x/y.png"})", true},
      {R"({"a":[{"wildcard":"d/*.png"}]})", R"({"a":"d/x/y.jpg"})", false},
      {R"({"a":[{"wildcard":"*"}]})", R"({"a":""})", true},
      {R"({"a":[{"wildcard":""}]})", R"({"a":""})", true},
      {R"({"a":[{"wildcard":"a*a"}]})", R"({"a":"a"})", false},
      {R"({"a":[{"wildcard":"a*a*a"}]})", R"({"a":"aaa"})", true},
      {R"({"a":[{"wildcard":"a\\*b"}]})", R"({"a":"a*b"})", true},
      {R"({"a":[{"wildcard":"a\\*b"}]})", R"({"a":"axb"})", false},
      {R"({"a":[{"wildcard":"a\\\\*"}]})", R"({"a":"a\\zz"})", true},
      {R"({"a":[{"wildcard":"*.png"}]})", R"({"a":7})", false},
  });
  EXPECT_EQ(Reason(R"({"a":[{"wildcard":"a**"}]})"), "Consecutive wildcard characters at pos 2");
  EXPECT_EQ(Reason(R"({"a":[{"wildcard":"a\\x"}]})"), "Invalid escape character at pos 1");
  EXPECT_EQ(Reason(R"({"a":[{"wildcard":"*a*b*c*d*e"}]})"), "<ok>");
  EXPECT_NE(Reason(R"({"a":[{"wildcard":"*a*b*c*d*e*"}]})").find("Rule is too complex"),
            std::string::npos);
}

TEST(PatternTest, AnythingBut) {
  RunCases({
      {R"({"a":[{"anything-but":"x"}]})", R"({"a":"y"})", true},
      {R"({"a":[{"anything-but":"x"}]})", R"({"a":"x"})", false},
      {R"({"a":[{"anything-but":"x"}]})", R"({"a":null})", true},
      {R"({"a":[{"anything-but":"x"}]})", R"({})", false},
      {R"({"a":[{"anything-but":"5"}]})", R"({"a":5})", true},
      {R"({"a":[{"anything-but":[1,2]}]})", R"({"a":2.0})", false},
      {R"({"a":[{"anything-but":[1,2]}]})", R"({"a":true})", true},
      {R"({"a":[{"anything-but":{"prefix":"ab"}}]})", R"({"a":"abc"})", false},
      {R"({"a":[{"anything-but":{"suffix":"bc"}}]})", R"({"a":"abc"})", false},
      {R"({"a":[{"anything-but":{"suffix":"bc"}}]})", R"({"a":"abd"})", true},
      {R"({"a":[{"anything-but":{"equals-ignore-case":["ÄB"]}}]})", R"({"a":"äb"})", false},
      {R"({"a":[{"anything-but":{"wildcard":"a*"}}]})", R"({"a":"ba"})", true},
      {R"({"a":[{"anything-but":"x"}]})", R"({"a":["x","y"]})", true},
      {R"({"a":[{"anything-but":"x"}]})", R"({"a":["x"]})", false},
  });
  EXPECT_EQ(Reason(R"({"a":[{"anything-but":["a",1]}]})"),
            "Inside anything but list, either all values are number or string, mixed type is "
            "not supported");
  EXPECT_EQ(Reason(R"({"a":[{"anything-but":true}]})"),
            "Value of anything-but must be an array or single string/number value.");
  EXPECT_EQ(Reason(R"({"a":[{"anything-but":{"foo":"x"}}]})"),
            "Unsupported anything-but pattern: foo");
}

TEST(PatternTest, Numeric) {
  RunCases({
      {R"({"a":[{"numeric":[">",0,"<=",5]}]})", R"({"a":5})", true},
      {R"({"a":[{"numeric":[">",0,"<=",5]}]})", R"({"a":0})", false},
      {R"({"a":[{"numeric":[">=",0,"<",5]}]})", R"({"a":0})", true},
      {R"({"a":[{"numeric":["=",5]}]})", R"({"a":5.0})", true},
      {R"({"a":[{"numeric":["<",-1e300]}]})", R"({"a":-1e301})", true},
      {R"({"a":[{"numeric":[">",1e15]}]})", R"({"a":1000000000000001})", true},
      {R"({"a":[{"numeric":[">",0]}]})", R"({"a":"5"})", false},
      {R"({"a":[{"numeric":[">",0]}]})", R"({"a":[-1, 3]})", true},
  });
  EXPECT_EQ(Reason(R"({"a":[{"numeric":[">",5,"<",5]}]})"), "Bottom must be less than top");
  EXPECT_EQ(Reason(R"({"a":[{"numeric":["<",5,">",1]}]})"),
            "Too many elements in numeric expression");
  EXPECT_EQ(Reason(R"({"a":[{"numeric":["!",5]}]})"), "Unrecognized numeric range operator: !");
  EXPECT_EQ(Reason(R"({"a":[{"numeric":[">","5"]}]})"), "Value of > must be numeric");
}

TEST(PatternTest, ExistsAndCidr) {
  RunCases({
      {R"({"a":[{"exists":true}]})", R"({"a":null})", true},
      {R"({"a":[{"exists":true}]})", R"({"a":{"b":1}})", false},
      {R"({"a":[{"exists":true}]})", R"({"a":[]})", false},
      {R"({"a":[{"exists":false}]})", R"({"a":[]})", true},
      {R"({"a":[{"exists":false}]})", R"({"a":{"b":1}})", true},
      {R"({"a":[{"exists":false}]})", R"({"b":1})", true},
      {R"({"a":[{"exists":false}]})", R"({"a":0})", false},
      {R"({"a":[{"cidr":"10.0.0.0/8"}]})", R"({"a":"10.200.3.4"})", true},
      {R"({"a":[{"cidr":"10.0.0.0/8"}]})", R"({"a":"11.0.0.1"})", false},
      {R"({"a":[{"cidr":"10.1.2.3/32"}]})", R"({"a":"10.1.2.3"})", true},
      {R"({"a":[{"cidr":"0.0.0.0/0"}]})", R"({"a":"1.2.3.4"})", true},
      {R"({"a":[{"cidr":"0.0.0.0/0"}]})", R"({"a":"::1"})", false},
      {R"({"a":[{"cidr":"2001:db8::/33"}]})", R"({"a":"2001:db8:7fff::1"})", true},
      {R"({"a":[{"cidr":"2001:db8::/33"}]})", R"({"a":"2001:db8:8000::1"})", false},
  });
  EXPECT_EQ(Reason(R"({"a":[{"cidr":"10.0.0.0/33"}]})"),
            "Malformed CIDR, mask bits must be between 0 and 32");
}

TEST(PatternTest, OrAndNesting) {
  RunCases({
      {R"({"$or":[{"a":["1"]},{"b":["2"]}]})", R"({"b":"2"})", true},
      {R"({"$or":[{"a":["1"]},{"b":["2"]}]})", R"({"b":"3"})", false},
      {R"({"x":["y"],"$or":[{"a":["1"]},{"b":{"$or":[{"c":["3"]},{"d":["4"]}]}}]})",
       R"({"x":"y","b":{"d":"4"}})", true},
      {R"({"x":["y"],"$or":[{"a":["1"]},{"b":{"$or":[{"c":["3"]},{"d":["4"]}]}}]})",
       R"({"x":"z","b":{"d":"4"}})", false},
      {R"({"a.b":["1"]})", R"({"a":{"b":"1"}})", true},
      {R"({"a":{"b":["1"]}})", R"({"a.b":"1"})", true},
      {R"({"a":{"b.c":["1"]}})", R"({"a.b":{"c":"1"}})", true},
  });
  EXPECT_EQ(Reason(R"({"$or":[{"a":["1"]}]})"),
            "Or relationship must be an array of at least 2 objects");
  // 2^9 = 512 combinations exceed the documented limit.
  std::string big = "{";
  for (int i = 0; i < 9; ++i) {
    big += (i ? "," : "") + std::string("\"k") + std::to_string(i) +
           "\":{\"$or\":[{\"a\":[\"1\"]},{\"b\":[\"2\"]}]}";
  }
  big += "}";
  EXPECT_NE(Reason(big).find("Rule is too complex"), std::string::npos);
}

TEST(PatternTest, ArrayConsistency) {
  RunCases({
      {R"({"d":{"a":["1"],"b":["2"]}})", R"({"d":[{"a":"1","b":"2"}]})", true},
      {R"({"d":{"a":["1"],"b":["2"]}})", R"({"d":[{"a":"1"},{"b":"2"}]})", false},
      {R"({"d":{"a":["1"],"b":["2"]}})", R"({"d":[{"a":"1"},{"a":"1","b":"2"}]})", true},
      {R"({"d":{"e":{"a":["1"]},"b":["2"]}})", R"({"d":[{"e":[{"a":"1"}],"b":"2"}]})", true},
      {R"({"d":{"e":{"a":["1"]},"b":["2"]}})", R"({"d":[{"e":[{"a":"1"}]},{"b":"2"}]})", false},
      {R"({"d":{"a":["1"],"b":[{"exists":false}]}})", R"({"d":[{"a":"1"},{"b":"2"}]})", true},
      {R"({"d":{"a":["1"],"b":[{"exists":false}]}})", R"({"d":[{"a":"1","b":"2"}]})", false},
      {R"({"t":["x"],"d":{"a":["1"]}})", R"({"t":["y","x"],"d":[{"a":"1"}]})", true},
  });
}

TEST(PatternTest, Validation) {
  EXPECT_EQ(Reason("[1]"), "Filter is not an object");
  EXPECT_EQ(Reason("{"), Reason("{") /* some reason */);
  EXPECT_EQ(Reason(R"({"a":5})"), "\"a\" must be an object or an array");
  EXPECT_EQ(Reason(R"({"a":[]})"), "Empty arrays are not allowed");
  EXPECT_EQ(Reason(R"({"a":[[1]]})"), "Match value must be String, number, true, false, or null");
  EXPECT_EQ(Reason(R"({"a":[{"prefix":"a","suffix":"b"}]})"),
            "Only one key allowed in match expression");
  EXPECT_EQ(Reason(R"({"a":[{"Prefix":"a"}]})"), "Unrecognized match type Prefix");
  EXPECT_EQ(Reason(R"({"a":[{"exists":"yes"}]})"),
            "exists match pattern must be either true or false.");
  EXPECT_EQ(Reason("{}"), "Empty pattern is not allowed");
  std::string long_pattern = R"({"a":[")" + std::string(4100, 'x') + R"("]})";
  EXPECT_NE(Reason(long_pattern).find("at most 4096"), std::string::npos);
}

TEST(PatternTest, MatchesOneRejectsNonObjectEvents) {
  auto r = MatchesOne(R"({"a":["1"]})", "[1]");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kValidation);
  EXPECT_FALSE(MatchesOne(R"({"a":["1"]})", "{\"a\":").ok());
}

TEST(MatcherTest, ManyRulesEachIdOnce) {
  MatcherBuilder b;
  ASSERT_TRUE(b.Add(7, *CompilePattern(R"({"a":["1","2"],"b":[{"exists":true}]})")).ok());
  ASSERT_TRUE(b.Add(9, *CompilePattern(R"({"$or":[{"a":["1"]},{"b":["x"]}]})")).ok());
  ASSERT_TRUE(b.Add(11, *CompilePattern(R"({"c":[{"exists":false}]})")).ok());
  EXPECT_FALSE(b.Add(7, *CompilePattern(R"({"z":["1"]})")).ok());
  auto m = b.Build();
  EXPECT_EQ(m->rule_count(), 3u);
  std::vector<uint32_t> out;
  m->Match(R"({"a":["1","2"],"b":"x"})", &out);
  std::sort(out.begin(), out.end());
  EXPECT_EQ(out, (std::vector<uint32_t>{7, 9, 11}));
  out.clear();
  m->Match(R"({"a":"3","c":1})", &out);
  EXPECT_TRUE(out.empty());
  EXPECT_TRUE(b.Remove(9));
  EXPECT_FALSE(b.Remove(9));
  auto m2 = b.Build();
  out.clear();
  m2->Match(R"({"a":["1","2"],"b":"x"})", &out);
  std::sort(out.begin(), out.end());
  EXPECT_EQ(out, (std::vector<uint32_t>{7, 11}));
  // The old snapshot is unaffected.
  out.clear();
  m->Match(R"({"b":"x","c":2})", &out);
  EXPECT_EQ(out, (std::vector<uint32_t>{9}));
}

TEST(MatcherTest, MalformedEventsNeverCrash) {
  MatcherBuilder b;
  ASSERT_TRUE(b.Add(1, *CompilePattern(R"({"a":{"b":["1"]},"c":[{"exists":false}]})")).ok());
  auto m = b.Build();
  const char* inputs[] = {"",
                          "{",
                          "{\"a\"",
                          "{\"a\":",
                          "{\"a\":{\"b\":\"1",
                          "{\"a\":[[[[",
                          "{\"x\":\"\\",
                          "{\"x\":[\"]\"",
                          "{\"a\":{\"b\":\"1\"}",
                          "nul",
                          "}}}}",
                          "{\"a\":{\"b\":\"\\u12\"}}"};
  for (const char* in : inputs) {
    std::vector<uint32_t> out;
    m->Match(in, &out);
    EXPECT_LE(out.size(), 1u);
  }
  std::string deep(5000, '[');
  std::vector<uint32_t> out;
  m->Match("{\"a\":" + deep, &out);
  EXPECT_TRUE(out.empty());
}

}  // namespace
}  // namespace bp::pattern
