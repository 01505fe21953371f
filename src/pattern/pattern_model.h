// Internal model of a compiled pattern, shared by the compiler, the matcher and tests.
//
// A Pattern is a disjunction (after `$or` expansion) of Conjunctions. A Conjunction is a set of
// Clauses on distinct field paths, all of which must hold (with array consistency). A Clause holds
// when any of its Conditions holds for a leaf at its path (or, for kExistsFalse, when no leaf is
// at the path).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace bp::pattern {

enum class CondKind : uint8_t {
  kExactString,  // str
  kExactNumber,  // num
  kExactNull,
  kExactTrue,
  kExactFalse,
  kPrefix,    // str ("" matches any string)
  kSuffix,    // str
  kEqIc,      // str (case-folded)
  kPrefixIc,  // str (case-folded)
  kSuffixIc,  // str (case-folded)
  kWildcard,  // wild
  kNumeric,   // range
  kExistsTrue,
  kExistsFalse,
  kCidr,        // cidr
  kAbStrings,   // strs: matches any leaf that is not one of these strings
  kAbNumbers,   // nums: matches any leaf that is not one of these numbers
  kAbPrefix,    // strs
  kAbSuffix,    // strs
  kAbIc,        // strs (case-folded)
  kAbWildcard,  // wilds
};

// A wildcard split at its unescaped '*': value matches when it is
// parts[0] + any + parts[1] + ... + any + parts[n-1]; a single part means no '*'.
struct Wildcard {
  std::vector<std::string> parts;
};

struct NumRange {
  double lo = 0, hi = 0;
  bool has_lo = false, has_hi = false;
  bool lo_open = false, hi_open = false;
  bool Contains(double v) const {
    if (has_lo && (lo_open ? !(v > lo) : !(v >= lo))) return false;
    if (has_hi && (hi_open ? !(v < hi) : !(v <= hi))) return false;
    return true;
  }
};

// An address block: addresses of the same family whose first `bits` bits equal `addr`'s.
struct CidrBlock {
  bool v6 = false;
  uint8_t addr[16] = {};
  int bits = 0;
};

struct Condition {
  CondKind kind = CondKind::kExistsTrue;
  std::string str;
  double num = 0;
  NumRange range;
  CidrBlock cidr;
  Wildcard wild;
  std::vector<std::string> strs;
  std::vector<double> nums;
  std::vector<Wildcard> wilds;
};

struct Clause {
  std::vector<std::string> path;  // field names, dotted names already split
  std::vector<Condition> conds;
};

struct Conjunction {
  std::vector<Clause> clauses;  // distinct paths
};

class Pattern {
 public:
  std::vector<Conjunction> alternatives;
};

// Limits (documented in docs/semantics.md).
// botocore's EventPattern shape allows 4096; a rule's pattern is also held to the configured quota
// (2048 by default, as AWS's adjustable quota) in the registry.
inline constexpr size_t kMaxPatternChars = 4096;
inline constexpr int kMaxWildcardStars = 5;
inline constexpr size_t kMaxOrAlternatives = 256;

// Helpers shared by matcher and tests.
bool WildcardMatches(const Wildcard& w, std::string_view s);
bool ParseIp(std::string_view s, bool* v6, uint8_t out[16]);
bool CidrContains(const CidrBlock& block, bool v6, const uint8_t addr[16]);

}  // namespace bp::pattern
