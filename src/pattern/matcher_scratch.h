// Private to the matcher's two translation units: the per-thread scratch of one Match call and
// the scan that fills it. matcher_match.cc walks the event text and records clause hits
// (ScanEvent); matcher_conj.cc checks the candidate conjunctions for array consistency and
// absence and runs MatcherImpl::Match.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "pattern/matcher_impl.h"

namespace bp::pattern::match_detail {

inline constexpr uint32_t kNil = UINT32_MAX;

struct ArrayPos {
  uint32_t array_id;
  uint32_t index;
};

struct Leaf {
  uint32_t mem_off;
  uint32_t mem_len;
  uint32_t next;  // next leaf at the same field (absence lists) or next hit (hit lists)
};

// Per-thread scratch, reused across events and matchers. Entries stamped with an epoch other than
// the current one are stale, so nothing is cleared between events.
struct Scratch {
  uint32_t epoch = 0;
  std::vector<uint32_t> clause_stamp, clause_head;
  std::vector<uint8_t> clause_free;  // a hit outside any array: consistent with everything
  std::vector<uint32_t> conj_stamp, conj_count;
  std::vector<uint32_t> rule_stamp;
  std::vector<uint32_t> field_stamp, field_head;
  std::vector<uint8_t> field_free;
  std::vector<Leaf> hits;    // hit lists: mem_* of the leaf, next hit of the same clause
  std::vector<Leaf> leaves;  // absence lists: leaves at fields with absence clauses
  std::vector<ArrayPos> pool;
  std::vector<ArrayPos> stack;
  uint32_t next_array_id = 0;
  std::vector<uint32_t> candidates;
  std::string fold_buf, str_buf, key_buf;
  // Backtracking state.
  std::vector<const Leaf*> chosen;

  void Begin(const MatcherImpl& m) {
    if (++epoch == 0) {  // wrapped: make every stamp stale again
      std::fill(clause_stamp.begin(), clause_stamp.end(), 0);
      std::fill(conj_stamp.begin(), conj_stamp.end(), 0);
      std::fill(rule_stamp.begin(), rule_stamp.end(), 0);
      std::fill(field_stamp.begin(), field_stamp.end(), 0);
      epoch = 1;
    }
    if (clause_stamp.size() < m.clauses_.size()) {
      clause_stamp.resize(m.clauses_.size(), 0);
      clause_head.resize(m.clauses_.size());
      clause_free.resize(m.clauses_.size());
    }
    if (conj_stamp.size() < m.conjs_.size()) {
      conj_stamp.resize(m.conjs_.size(), 0);
      conj_count.resize(m.conjs_.size());
    }
    if (rule_stamp.size() < m.rule_ids_.size()) rule_stamp.resize(m.rule_ids_.size(), 0);
    if (field_stamp.size() < m.fields_.size()) {
      field_stamp.resize(m.fields_.size(), 0);
      field_head.resize(m.fields_.size());
      field_free.resize(m.fields_.size());
    }
    hits.clear();
    leaves.clear();
    pool.clear();
    stack.clear();
    candidates.clear();
    next_array_id = 0;
  }
};

// Two leaves are consistent unless they sit at different elements of one array.
inline bool Consistent(const Scratch& s, const Leaf& a, const Leaf& b) {
  const uint32_t n = a.mem_len < b.mem_len ? a.mem_len : b.mem_len;
  for (uint32_t k = 0; k < n; ++k) {
    const ArrayPos& x = s.pool[a.mem_off + k];
    const ArrayPos& y = s.pool[b.mem_off + k];
    if (x.array_id != y.array_id) return true;
    if (x.index != y.index) return false;
  }
  return true;
}

// Walks `text` (one event) and records in `s` every clause hit and, for fields with absence
// clauses, every leaf; s.candidates gets the conjunctions whose required clauses all hit.
// Returns false if the text is malformed where it was read (no rule matches then).
bool ScanEvent(const MatcherImpl& m, Scratch& s, std::string_view text);

}  // namespace bp::pattern::match_detail
