#include "pattern/reference_matcher.h"

#include <cmath>
#include <string>
#include <vector>

#include "pattern/casefold.h"

namespace bp::pattern::testing {
namespace {

namespace json = boost::json;

struct RefLeaf {
  std::vector<std::string> path;
  const json::value* value;
  std::vector<std::pair<int, int>> membership;  // (array instance, element index), outermost first
};

void Flatten(const json::value& v, std::vector<std::string>& path,
             std::vector<std::pair<int, int>>& mem, int* next_array, std::vector<RefLeaf>* out) {
  if (v.is_object()) {
    for (const auto& kv : v.get_object()) {
      const size_t old = path.size();
      std::string key(kv.key());
      size_t start = 0;
      while (true) {
        const size_t dot = key.find('.', start);
        path.push_back(
            key.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
        if (dot == std::string::npos) break;
        start = dot + 1;
      }
      Flatten(kv.value(), path, mem, next_array, out);
      path.resize(old);
    }
  } else if (v.is_array()) {
    const int id = (*next_array)++;
    int i = 0;
    for (const auto& e : v.get_array()) {
      mem.emplace_back(id, i++);
      Flatten(e, path, mem, next_array, out);
      mem.pop_back();
    }
  } else {
    out->push_back(RefLeaf{path, &v, mem});
  }
}

bool Consistent(const RefLeaf& a, const RefLeaf& b) {
  for (const auto& [id, idx] : a.membership) {
    for (const auto& [id2, idx2] : b.membership) {
      if (id == id2 && idx != idx2) return false;
    }
  }
  return true;
}

std::string Fold(std::string_view s) {
  std::string out;
  AppendCaseFolded(s, &out);
  return out;
}

bool IsNum(const json::value& v, double* d) {
  if (v.is_int64()) {
    *d = static_cast<double>(v.get_int64());
  } else if (v.is_uint64()) {
    *d = static_cast<double>(v.get_uint64());
  } else if (v.is_double()) {
    *d = v.get_double();
  } else {
    return false;
  }
  return true;
}

bool StartsWith(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }
bool EndsWith(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && s.substr(s.size() - p.size()) == p;
}

bool CondHolds(const Condition& c, const json::value& v) {
  double d = 0;
  const bool is_num = IsNum(v, &d);
  const bool is_str = v.is_string();
  const std::string_view s = is_str ? std::string_view(v.get_string()) : std::string_view();
  switch (c.kind) {
    case CondKind::kExactString:
      return is_str && s == c.str;
    case CondKind::kExactNumber:
      return is_num && d == c.num;
    case CondKind::kExactNull:
      return v.is_null();
    case CondKind::kExactTrue:
      return v.is_bool() && v.get_bool();
    case CondKind::kExactFalse:
      return v.is_bool() && !v.get_bool();
    case CondKind::kPrefix:
      return is_str && StartsWith(s, c.str);
    case CondKind::kSuffix:
      return is_str && EndsWith(s, c.str);
    case CondKind::kEqIc:
      return is_str && Fold(s) == c.str;
    case CondKind::kPrefixIc:
      return is_str && StartsWith(Fold(s), c.str);
    case CondKind::kSuffixIc:
      return is_str && EndsWith(Fold(s), c.str);
    case CondKind::kWildcard:
      return is_str && WildcardMatches(c.wild, s);
    case CondKind::kNumeric:
      return is_num && c.range.Contains(d);
    case CondKind::kExistsTrue:
      return true;
    case CondKind::kExistsFalse:
      return false;
    case CondKind::kCidr: {
      bool v6 = false;
      uint8_t addr[16];
      return is_str && ParseIp(s, &v6, addr) && CidrContains(c.cidr, v6, addr);
    }
    case CondKind::kAbStrings:
      if (!is_str) return true;
      for (const auto& x : c.strs) {
        if (x == s) return false;
      }
      return true;
    case CondKind::kAbNumbers:
      if (!is_num) return true;
      for (const double x : c.nums) {
        if (x == d) return false;
      }
      return true;
    case CondKind::kAbPrefix:
    case CondKind::kAbSuffix:
    case CondKind::kAbIc:
    case CondKind::kAbWildcard:
      if (!is_str) return true;
      for (const auto& x : c.strs) {
        if (c.kind == CondKind::kAbPrefix && StartsWith(s, x)) return false;
        if (c.kind == CondKind::kAbSuffix && EndsWith(s, x)) return false;
        if (c.kind == CondKind::kAbIc && Fold(s) == x) return false;
      }
      for (const auto& w : c.wilds) {
        if (WildcardMatches(w, s)) return false;
      }
      return true;
  }
  return false;
}

struct Search {
  const std::vector<RefLeaf>& leaves;
  std::vector<const Clause*> clauses;  // positive-only first, then absence-capable
  std::vector<const RefLeaf*> chosen;

  bool ConsistentWithChosen(const RefLeaf& l) const {
    for (const RefLeaf* c : chosen) {
      if (!Consistent(*c, l)) return false;
    }
    return true;
  }

  bool Run(size_t k) {
    if (k == clauses.size()) return true;
    const Clause& clause = *clauses[k];
    bool absence_ok = false;
    for (const auto& c : clause.conds) absence_ok |= c.kind == CondKind::kExistsFalse;
    for (const RefLeaf& l : leaves) {
      if (l.path != clause.path || !ConsistentWithChosen(l)) continue;
      bool holds = false;
      for (const auto& c : clause.conds) holds |= CondHolds(c, *l.value);
      if (!holds) continue;
      chosen.push_back(&l);
      const bool ok = Run(k + 1);
      chosen.pop_back();
      if (ok) return true;
    }
    if (absence_ok) {
      for (const RefLeaf& l : leaves) {
        if (l.path == clause.path && ConsistentWithChosen(l)) return false;
      }
      return Run(k + 1);
    }
    return false;
  }
};

}  // namespace

bool ReferenceMatches(const Pattern& pattern, const json::value& event) {
  std::vector<RefLeaf> leaves;
  std::vector<std::string> path;
  std::vector<std::pair<int, int>> mem;
  int next_array = 0;
  Flatten(event, path, mem, &next_array, &leaves);
  for (const auto& conj : pattern.alternatives) {
    Search s{leaves, {}, {}};
    for (int pass = 0; pass < 2; ++pass) {
      for (const auto& clause : conj.clauses) {
        bool absence_ok = false;
        for (const auto& c : clause.conds) absence_ok |= c.kind == CondKind::kExistsFalse;
        if (absence_ok == (pass == 1)) s.clauses.push_back(&clause);
      }
    }
    if (s.Run(0)) return true;
  }
  return false;
}

}  // namespace bp::pattern::testing
