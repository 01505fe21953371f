// Internal layout of a built Matcher (immutable after MatcherImpl::Build) and its per-thread
// scratch state. Ids: rule index (dense, into rule_ids), conjunction id, clause id, field id, trie
// node id; all dense uint32 indexes into the vectors below.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "pattern/pattern.h"
#include "pattern/pattern_model.h"

namespace bp::pattern {

struct SvHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

using ClauseIds = std::vector<uint32_t>;
using StrMap = std::unordered_map<std::string, ClauseIds, SvHash, std::equal_to<>>;

// Strings of one length, for prefix/suffix lookup by slicing the value.
struct LenMap {
  uint32_t len = 0;
  StrMap map;
};

// Everything the rules test at one field path.
struct FieldMatcher {
  StrMap exact;
  StrMap eic;                                                // case-folded keys
  std::vector<LenMap> prefix, suffix, prefix_ic, suffix_ic;  // ascending len
  std::unordered_map<double, ClauseIds> num_exact;
  ClauseIds null_exact, true_exact, false_exact, exists;
  std::vector<std::pair<uint32_t, NumRange>> ranges;
  std::vector<std::pair<uint32_t, Wildcard>> wildcards;
  std::vector<std::pair<uint32_t, CidrBlock>> cidrs;
  std::vector<std::pair<uint32_t, Condition>> anything_but;
  bool need_fold = false;    // eic/prefix_ic/suffix_ic/kAbIc present
  bool string_work = false;  // any test that looks at string contents
  bool number_work = false;  // any test that looks at numeric values
  bool has_absence = false;  // some clause on this field accepts absence
};

struct TrieNode {
  std::vector<std::pair<std::string, uint32_t>> kids;
  std::unordered_map<std::string, uint32_t, SvHash, std::equal_to<>> kid_map;  // when many kids
  int32_t field = -1;
};

struct ClauseInfo {
  uint32_t conj;
  uint32_t field;
  bool absence_ok;  // holds when no (array-consistent) leaf is at the field
};

struct ConjInfo {
  uint32_t rule_index;
  uint32_t first_clause;
  uint32_t nclauses;
  uint32_t required;  // clauses without absence_ok; the conjunction is a candidate once all hit
};

class MatcherImpl {
 public:
  static std::unique_ptr<const MatcherImpl> Build(
      const std::vector<std::pair<uint32_t, std::shared_ptr<const Pattern>>>& rules);
  void Match(std::string_view event, std::vector<uint32_t>* out) const;
  size_t rule_count() const { return rule_ids_.size(); }

  std::vector<uint32_t> rule_ids_;
  std::vector<ConjInfo> conjs_;
  std::vector<ClauseInfo> clauses_;
  std::vector<FieldMatcher> fields_;
  std::vector<TrieNode> nodes_;         // nodes_[0] is the root
  std::vector<uint32_t> always_check_;  // conjunctions with required == 0
};

}  // namespace bp::pattern
