// MatcherImpl::Match: scan the event (ScanEvent, matcher_match.cc), then check each candidate
// conjunction: its clauses must be satisfiable by leaves that agree on every array they share
// (a backtracking search), and clauses that may hold by absence must find no such leaf.
#include <cstdint>
#include <vector>

#include "pattern/matcher_impl.h"
#include "pattern/matcher_scratch.h"

namespace bp::pattern {
namespace {

using match_detail::Consistent;
using match_detail::kNil;
using match_detail::Leaf;
using match_detail::Scratch;

thread_local Scratch tls_scratch;

// Array-consistency search over the non-free clauses of one conjunction.
class ConjChecker {
 public:
  ConjChecker(const MatcherImpl& m, Scratch& s) : m_(m), s_(s) {}

  bool Check(uint32_t conj) {
    const ConjInfo& ci = m_.conjs_[conj];
    order_.clear();
    // A clause hit by a leaf outside all arrays holds whatever else is chosen, so it can be left
    // out of the search, unless some clause may have to hold by absence: choosing a leaf inside
    // an array instead can make other leaves inconsistent, hence "absent".
    bool absence_pending = false;
    for (uint32_t c = ci.first_clause; c < ci.first_clause + ci.nclauses; ++c) {
      if (m_.clauses_[c].absence_ok && !(s_.clause_stamp[c] == s_.epoch && s_.clause_free[c])) {
        absence_pending = true;
      }
    }
    // Positive-only clauses first, then clauses that may also hold by absence.
    for (int pass = 0; pass < 2; ++pass) {
      for (uint32_t c = ci.first_clause; c < ci.first_clause + ci.nclauses; ++c) {
        const bool hit = s_.clause_stamp[c] == s_.epoch;
        if (hit && s_.clause_free[c] && (!absence_pending || m_.clauses_[c].absence_ok)) continue;
        if (m_.clauses_[c].absence_ok != (pass == 1)) continue;
        if (!hit && !m_.clauses_[c].absence_ok) return false;
        order_.push_back(c);
      }
    }
    if (order_.size() <= 1 && (order_.empty() || !m_.clauses_[order_[0]].absence_ok)) return true;
    s_.chosen.clear();
    budget_ = 1 << 20;
    return Search(0);
  }

 private:
  bool ConsistentWithChosen(const Leaf& leaf) const {
    for (const Leaf* c : s_.chosen) {
      if (!Consistent(s_, *c, leaf)) return false;
    }
    return true;
  }

  bool Absent(uint32_t field) const {
    if (s_.field_stamp[field] != s_.epoch) return true;
    if (s_.field_free[field]) return false;
    for (uint32_t l = s_.field_head[field]; l != kNil; l = s_.leaves[l].next) {
      if (ConsistentWithChosen(s_.leaves[l])) return false;
    }
    return true;
  }

  bool Search(size_t k) {
    if (k == order_.size()) return true;
    if (--budget_ < 0) return false;
    const uint32_t c = order_[k];
    if (s_.clause_stamp[c] == s_.epoch) {
      for (uint32_t h = s_.clause_head[c]; h != kNil; h = s_.hits[h].next) {
        const Leaf& leaf = s_.hits[h];
        if (!ConsistentWithChosen(leaf)) continue;
        s_.chosen.push_back(&leaf);
        const bool ok = Search(k + 1);
        s_.chosen.pop_back();
        if (ok) return true;
      }
    }
    if (m_.clauses_[c].absence_ok && Absent(m_.clauses_[c].field)) return Search(k + 1);
    return false;
  }

  const MatcherImpl& m_;
  Scratch& s_;
  std::vector<uint32_t> order_;
  int64_t budget_ = 0;
};

}  // namespace

void MatcherImpl::Match(std::string_view event, std::vector<uint32_t>* out) const {
  Scratch& s = tls_scratch;
  s.Begin(*this);
  if (!match_detail::ScanEvent(*this, s, event)) return;
  ConjChecker checker(*this, s);
  auto consider = [&](uint32_t conj) {
    const uint32_t rule = conjs_[conj].rule_index;
    if (s.rule_stamp[rule] == s.epoch) return;
    if (!checker.Check(conj)) return;
    s.rule_stamp[rule] = s.epoch;
    out->push_back(rule_ids_[rule]);
  };
  for (const uint32_t conj : s.candidates) consider(conj);
  for (const uint32_t conj : always_check_) consider(conj);
}

}  // namespace bp::pattern
