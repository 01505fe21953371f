// ScanEvent, the first half of MatcherImpl::Match: one pass over the event text. Objects are
// walked only along the trie of field names the rules use; everything else is skipped
// structurally (json_skip.h). Each leaf at a rule field is tested against that field's lookup
// tables, producing clause hits; the conjunctions whose required clauses all hit are checked
// afterwards (matcher_conj.cc).
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <string>

#include "common/utf8.h"
#include "pattern/casefold.h"
#include "pattern/json_skip.h"
#include "pattern/matcher_impl.h"
#include "pattern/matcher_scratch.h"

namespace bp::pattern {
namespace {

using match_detail::ArrayPos;
using match_detail::kNil;
using match_detail::Leaf;
using match_detail::Scratch;

constexpr int kMaxDepth = 1100;

int HexVal(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool Read4Hex(const char* p, const char* end, uint32_t* v) {
  if (end - p < 4) return false;
  *v = 0;
  for (int i = 0; i < 4; ++i) {
    const int h = HexVal(p[i]);
    if (h < 0) return false;
    *v = (*v << 4) | static_cast<uint32_t>(h);
  }
  return true;
}

class Scanner {
 public:
  Scanner(const MatcherImpl& m, Scratch& s, std::string_view text)
      : m_(m), s_(s), p_(text.data()), end_(text.data() + text.size()) {}

  // Returns false if the text is malformed where it was read.
  bool Run() {
    Ws();
    if (p_ >= end_ || *p_ != '{') return false;
    const bool ok = ScanObject(0, 0, /*can_stop=*/true);
    return ok || stopped_;
  }

 private:
  void Ws() {
    while (p_ < end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) ++p_;
  }

  // p_ at the opening quote. On success *out views the decoded string (in the text or in *buf)
  // and p_ is after the closing quote.
  bool ParseString(std::string_view* out, std::string* buf) {
    const char* start = ++p_;
    const char* q = p_;
    while (q < end_ && *q != '"' && *q != '\\') ++q;
    if (q >= end_) return false;
    if (*q == '"') {
      *out = std::string_view(start, static_cast<size_t>(q - start));
      p_ = q + 1;
      return true;
    }
    buf->assign(start, static_cast<size_t>(q - start));
    while (q < end_) {
      const char c = *q;
      if (c == '"') {
        *out = *buf;
        p_ = q + 1;
        return true;
      }
      if (c != '\\') {
        buf->push_back(c);
        ++q;
        continue;
      }
      if (++q >= end_) return false;
      switch (*q) {
        case '"':
          buf->push_back('"');
          break;
        case '\\':
          buf->push_back('\\');
          break;
        case '/':
          buf->push_back('/');
          break;
        case 'b':
          buf->push_back('\b');
          break;
        case 'f':
          buf->push_back('\f');
          break;
        case 'n':
          buf->push_back('\n');
          break;
        case 'r':
          buf->push_back('\r');
          break;
        case 't':
          buf->push_back('\t');
          break;
        case 'u': {
          uint32_t cp = 0;
          if (!Read4Hex(q + 1, end_, &cp)) return false;
          q += 4;
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            uint32_t lo = 0;
            if (end_ - q >= 7 && q[1] == '\\' && q[2] == 'u' && Read4Hex(q + 3, end_, &lo) &&
                lo >= 0xDC00 && lo <= 0xDFFF) {
              cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
              q += 6;
            } else {
              cp = 0xFFFD;
            }
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            cp = 0xFFFD;
          }
          AppendUtf8(cp, buf);
          break;
        }
        default:
          return false;
      }
      ++q;
    }
    return false;
  }

  bool SkipValue() {
    if (p_ >= end_) return false;
    const char c = *p_;
    if (c == '"') {
      p_ = SkipJsonString(p_ + 1, end_);
    } else if (c == '{' || c == '[') {
      p_ = SkipJsonContainer(p_ + 1, end_);
    } else {
      while (p_ < end_ && *p_ != ',' && *p_ != '}' && *p_ != ']' && *p_ != ' ' && *p_ != '\n' &&
             *p_ != '\r' && *p_ != '\t') {
        ++p_;
      }
    }
    return p_ != nullptr;
  }

  uint32_t Child(uint32_t node, std::string_view key) const {
    const TrieNode& n = m_.nodes_[node];
    if (!n.kid_map.empty()) {
      auto it = n.kid_map.find(key);
      return it == n.kid_map.end() ? kNil : it->second;
    }
    for (const auto& [name, id] : n.kids) {
      if (name.size() == key.size() && std::memcmp(name.data(), key.data(), key.size()) == 0) {
        return id;
      }
    }
    return kNil;
  }

  // p_ at '{'.
  // `can_stop`: once every rule field under this object has been seen, nothing later in the event
  // can matter, so the whole scan stops (stopped_ is set and false is returned up the stack).
  bool ScanObject(uint32_t node, int depth, bool can_stop) {
    if (depth > kMaxDepth) return false;
    ++p_;
    const TrieNode& n = m_.nodes_[node];
    const size_t nkids = n.kids.size();
    const uint64_t all = nkids >= 64 ? 0 : ((uint64_t{1} << nkids) - 1);
    uint64_t seen = 0;
    Ws();
    if (p_ < end_ && *p_ == '}') {
      ++p_;
      return true;
    }
    while (true) {
      Ws();
      if (p_ >= end_ || *p_ != '"') return false;
      std::string_view key;
      if (!ParseString(&key, &s_.key_buf)) return false;
      Ws();
      if (p_ >= end_ || *p_ != ':') return false;
      ++p_;
      Ws();
      uint32_t child = kNil;
      bool child_can_stop = false;
      if (key.find('.') == std::string_view::npos) {
        child = Child(node, key);
        if (child != kNil && all != 0) {
          for (size_t k = 0; k < nkids; ++k) {
            if (n.kids[k].second == child) seen |= uint64_t{1} << k;
          }
          child_can_stop = can_stop && seen == all;
        }
      } else {
        child = node;
        size_t start = 0;
        while (child != kNil) {
          const size_t dot = key.find('.', start);
          child = Child(child, key.substr(start, dot == key.npos ? key.npos : dot - start));
          if (dot == key.npos) break;
          start = dot + 1;
        }
      }
      if (child == kNil) {
        if (!SkipValue()) return false;
      } else if (!ScanValue(child, depth + 1, child_can_stop)) {
        return false;
      }
      if (seen == all && all != 0 && !no_early_exit_) {
        // Every field the rules name here was seen; keys are unique in a well-formed event, so the
        // rest can only matter through a dotted key ("a.b"), which must sit in a string with a '.'.
        if (can_stop) {
          if (!AnyDotInStrings(p_, end_)) {
            stopped_ = true;
            return false;
          }
          no_early_exit_ = true;
        } else {
          bool dot = false;
          const char* after = SkipJsonContainer(p_, end_, &dot);
          if (!dot) {
            p_ = after;
            return p_ != nullptr;
          }
          no_early_exit_ = true;
        }
      }
      Ws();
      if (p_ >= end_) return false;
      if (*p_ == '}') {
        ++p_;
        return true;
      }
      if (*p_ != ',') return false;
      ++p_;
    }
  }

  // p_ at '['.
  bool ScanArray(uint32_t node, int depth) {
    if (depth > kMaxDepth) return false;
    ++p_;
    const uint32_t id = s_.next_array_id++;
    uint32_t index = 0;
    Ws();
    if (p_ < end_ && *p_ == ']') {
      ++p_;
      return true;
    }
    while (true) {
      Ws();
      s_.stack.push_back(ArrayPos{id, index++});
      const bool ok = ScanValue(node, depth + 1, false);
      s_.stack.pop_back();
      if (!ok) return false;
      Ws();
      if (p_ >= end_) return false;
      if (*p_ == ']') {
        ++p_;
        return true;
      }
      if (*p_ != ',') return false;
      ++p_;
    }
  }

  bool ScanValue(uint32_t node, int depth, bool can_stop) {
    if (p_ >= end_) return false;
    const TrieNode& n = m_.nodes_[node];
    const char c = *p_;
    if (c == '{') {
      if (n.kids.empty()) return SkipValue();
      return ScanObject(node, depth, can_stop);
    }
    if (c == '[') return ScanArray(node, depth);
    if (n.field < 0) return SkipValue();
    leaf_ = kNil;
    const auto field = static_cast<uint32_t>(n.field);
    const FieldMatcher& f = m_.fields_[field];
    if (f.has_absence) NoteLeaf(field);
    if (c == '"') {
      std::string_view v;
      if (!ParseString(&v, &s_.str_buf)) return false;
      EvalString(f, v);
      return true;
    }
    const char* start = p_;
    while (p_ < end_ && *p_ != ',' && *p_ != '}' && *p_ != ']' && *p_ != ' ' && *p_ != '\n' &&
           *p_ != '\r' && *p_ != '\t') {
      ++p_;
    }
    const std::string_view tok(start, static_cast<size_t>(p_ - start));
    if (tok == "true") {
      HitAll(f.true_exact);
      EvalOther(f);
    } else if (tok == "false") {
      HitAll(f.false_exact);
      EvalOther(f);
    } else if (tok == "null") {
      HitAll(f.null_exact);
      EvalOther(f);
    } else {
      double d = 0;
      const auto r = std::from_chars(tok.data(), tok.data() + tok.size(), d);
      if (r.ptr != tok.data() + tok.size()) return false;
      if (r.ec == std::errc::result_out_of_range) {
        d = std::strtod(std::string(tok).c_str(), nullptr);  // rare: +-inf or a denormal/0
      } else if (r.ec != std::errc()) {
        return false;
      }
      EvalNumber(f, d);
    }
    return true;
  }

  // Records that a leaf is at `field` (for absence checks).
  void NoteLeaf(uint32_t field) {
    if (s_.field_stamp[field] != s_.epoch) {
      s_.field_stamp[field] = s_.epoch;
      s_.field_head[field] = kNil;
      s_.field_free[field] = 0;
    }
    if (s_.stack.empty()) {
      s_.field_free[field] = 1;
      return;
    }
    s_.leaves.push_back(Leaf{static_cast<uint32_t>(s_.pool.size()),
                             static_cast<uint32_t>(s_.stack.size()), s_.field_head[field]});
    s_.pool.insert(s_.pool.end(), s_.stack.begin(), s_.stack.end());
    s_.field_head[field] = static_cast<uint32_t>(s_.leaves.size() - 1);
  }

  void Hit(uint32_t clause) {
    if (s_.clause_stamp[clause] != s_.epoch) {
      s_.clause_stamp[clause] = s_.epoch;
      s_.clause_free[clause] = 0;
      s_.clause_head[clause] = kNil;
      const ClauseInfo& ci = m_.clauses_[clause];
      if (!ci.absence_ok) {
        if (s_.conj_stamp[ci.conj] != s_.epoch) {
          s_.conj_stamp[ci.conj] = s_.epoch;
          s_.conj_count[ci.conj] = 0;
        }
        if (++s_.conj_count[ci.conj] == m_.conjs_[ci.conj].required) {
          s_.candidates.push_back(ci.conj);
        }
      }
    }
    if (s_.stack.empty()) {
      // One leaf outside all arrays stands for all of them: each is consistent with anything.
      if (!s_.clause_free[clause]) {
        s_.clause_free[clause] = 1;
        s_.hits.push_back(Leaf{0, 0, s_.clause_head[clause]});
        s_.clause_head[clause] = static_cast<uint32_t>(s_.hits.size() - 1);
      }
      return;
    }
    if (leaf_ == kNil) {
      leaf_ = static_cast<uint32_t>(s_.pool.size());
      s_.pool.insert(s_.pool.end(), s_.stack.begin(), s_.stack.end());
    }
    s_.hits.push_back(Leaf{leaf_, static_cast<uint32_t>(s_.stack.size()), s_.clause_head[clause]});
    s_.clause_head[clause] = static_cast<uint32_t>(s_.hits.size() - 1);
  }

  void HitAll(const ClauseIds& ids) {
    for (const uint32_t c : ids) Hit(c);
  }

  void LenLookups(const std::vector<LenMap>& maps, std::string_view v, bool suffix) {
    for (const LenMap& lm : maps) {
      if (lm.len > v.size()) break;
      const std::string_view part = suffix ? v.substr(v.size() - lm.len) : v.substr(0, lm.len);
      auto it = lm.map.find(part);
      if (it != lm.map.end()) HitAll(it->second);
    }
  }

  void EvalString(const FieldMatcher& f, std::string_view v) {
    HitAll(f.exists);
    if (!f.exact.empty()) {
      auto it = f.exact.find(v);
      if (it != f.exact.end()) HitAll(it->second);
    }
    LenLookups(f.prefix, v, false);
    LenLookups(f.suffix, v, true);
    std::string_view folded;
    if (f.need_fold) {
      s_.fold_buf.clear();
      AppendCaseFolded(v, &s_.fold_buf);
      folded = s_.fold_buf;
      if (!f.eic.empty()) {
        auto it = f.eic.find(folded);
        if (it != f.eic.end()) HitAll(it->second);
      }
      LenLookups(f.prefix_ic, folded, false);
      LenLookups(f.suffix_ic, folded, true);
    }
    for (const auto& [clause, w] : f.wildcards) {
      if (WildcardMatches(w, v)) Hit(clause);
    }
    if (!f.cidrs.empty()) {
      bool v6 = false;
      uint8_t addr[16];
      if (ParseIp(v, &v6, addr)) {
        for (const auto& [clause, block] : f.cidrs) {
          if (CidrContains(block, v6, addr)) Hit(clause);
        }
      }
    }
    for (const auto& [clause, c] : f.anything_but) {
      if (AnythingButString(c, v, folded)) Hit(clause);
    }
  }

  static bool AnythingButString(const Condition& c, std::string_view v, std::string_view folded) {
    switch (c.kind) {
      case CondKind::kAbStrings:
        for (const auto& s : c.strs) {
          if (s == v) return false;
        }
        return true;
      case CondKind::kAbIc:
        for (const auto& s : c.strs) {
          if (s == folded) return false;
        }
        return true;
      case CondKind::kAbPrefix:
        for (const auto& s : c.strs) {
          if (v.substr(0, s.size()) == s) return false;
        }
        return true;
      case CondKind::kAbSuffix:
        for (const auto& s : c.strs) {
          if (v.size() >= s.size() && v.substr(v.size() - s.size()) == s) return false;
        }
        return true;
      case CondKind::kAbWildcard:
        for (const auto& w : c.wilds) {
          if (WildcardMatches(w, v)) return false;
        }
        return true;
      default:
        return true;
    }
  }

  void EvalNumber(const FieldMatcher& f, double d) {
    HitAll(f.exists);
    if (!f.num_exact.empty()) {
      auto it = f.num_exact.find(d == 0 ? 0.0 : d);
      if (it != f.num_exact.end()) HitAll(it->second);
    }
    for (const auto& [clause, r] : f.ranges) {
      if (r.Contains(d)) Hit(clause);
    }
    for (const auto& [clause, c] : f.anything_but) {
      bool ok = true;
      if (c.kind == CondKind::kAbNumbers) {
        for (const double x : c.nums) {
          if (x == d) ok = false;
        }
      }
      if (ok) Hit(clause);
    }
  }

  // true, false, null: every anything-but holds; only exact/exists otherwise.
  void EvalOther(const FieldMatcher& f) {
    HitAll(f.exists);
    for (const auto& [clause, c] : f.anything_but) Hit(clause);
  }

  const MatcherImpl& m_;
  Scratch& s_;
  const char* p_;
  const char* end_;
  uint32_t leaf_ = kNil;
  bool stopped_ = false;
  bool no_early_exit_ = false;  // set once a '.' was seen in a string we would have skipped  //
                                // pool offset of the current leaf's membership, once copied
};

}  // namespace

namespace match_detail {

bool ScanEvent(const MatcherImpl& m, Scratch& s, std::string_view text) {
  return Scanner(m, s, text).Run();
}

}  // namespace match_detail
}  // namespace bp::pattern
