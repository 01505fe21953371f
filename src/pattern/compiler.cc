// CompilePattern: validates a pattern's JSON text and lowers it to the model in pattern_model.h.
#include <arpa/inet.h>

#include <boost/json.hpp>
#include <cmath>
#include <cstring>
#include <string>
#include <utility>

#include "pattern/casefold.h"
#include "pattern/pattern.h"
#include "pattern/pattern_model.h"

namespace bp::pattern {
namespace json = boost::json;

namespace {

Status Invalid(std::string_view reason) {
  return Status::InvalidEventPattern("Event pattern is not valid. Reason: " + std::string(reason));
}

std::string Folded(std::string_view s) {
  std::string out;
  AppendCaseFolded(s, &out);
  return out;
}

bool ToDouble(const json::value& v, double* out) {
  if (v.is_int64()) {
    *out = static_cast<double>(v.get_int64());
  } else if (v.is_uint64()) {
    *out = static_cast<double>(v.get_uint64());
  } else if (v.is_double()) {
    *out = v.get_double();
  } else {
    return false;
  }
  return std::isfinite(*out);
}

std::string ValueText(const json::value& v) {
  if (v.is_string()) return std::string(v.get_string());
  return json::serialize(v);
}

Status ParseWildcard(std::string_view text, Wildcard* out) {
  out->parts.assign(1, std::string());
  int stars = 0;
  bool prev_star = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\\') {
      if (i + 1 >= text.size() || (text[i + 1] != '*' && text[i + 1] != '\\')) {
        return Invalid("Invalid escape character at pos " + std::to_string(i));
      }
      out->parts.back().push_back(text[++i]);
      prev_star = false;
    } else if (c == '*') {
      if (prev_star) return Invalid("Consecutive wildcard characters at pos " + std::to_string(i));
      prev_star = true;
      ++stars;
      out->parts.emplace_back();
    } else {
      out->parts.back().push_back(c);
      prev_star = false;
    }
  }
  if (stars > kMaxWildcardStars) {
    return Invalid(
        "Rule is too complex - try using fewer wildcard characters or fewer repeating character "
        "sequences after a wildcard character");
  }
  return Status::Ok();
}

Status ParseCidr(std::string_view text, CidrBlock* out) {
  const size_t slash = text.find('/');
  if (slash == std::string_view::npos || text.find('/', slash + 1) != std::string_view::npos) {
    return Invalid("Malformed CIDR, one '/' required");
  }
  const std::string_view ip = text.substr(0, slash);
  const std::string_view mask = text.substr(slash + 1);
  if (mask.empty() || mask.size() > 3 ||
      mask.find_first_not_of("0123456789") != std::string_view::npos) {
    return Invalid("Malformed CIDR, mask bits must be an integer");
  }
  if (!ParseIp(ip, &out->v6, out->addr)) {
    return Invalid("Nonstandard IP address: " + std::string(ip));
  }
  out->bits = std::stoi(std::string(mask));
  if (out->bits > (out->v6 ? 128 : 32)) {
    return Invalid("Malformed CIDR, mask bits must be between 0 and " +
                   std::string(out->v6 ? "128" : "32"));
  }
  return Status::Ok();
}

Status ParseNumeric(const json::array& a, NumRange* r) {
  size_t i = 0;
  auto next_number = [&](const std::string& op, double* v) -> Status {
    if (i >= a.size() || !ToDouble(a[i], v)) return Invalid("Value of " + op + " must be numeric");
    ++i;
    return Status::Ok();
  };
  if (a.empty() || !a[0].is_string()) {
    return Invalid("Invalid member in numeric match: " + (a.empty() ? "]" : ValueText(a[0])));
  }
  const std::string op(a[i++].get_string());
  double v = 0;
  if (op == "=") {
    BP_RETURN_IF_ERROR(next_number("equals", &v));
    r->has_lo = r->has_hi = true;
    r->lo = r->hi = v;
  } else if (op == ">" || op == ">=") {
    BP_RETURN_IF_ERROR(next_number(op, &v));
    r->has_lo = true;
    r->lo = v;
    r->lo_open = op == ">";
    if (i < a.size()) {
      if (!a[i].is_string()) return Invalid("Bad value in numeric range: " + ValueText(a[i]));
      const std::string op2(a[i++].get_string());
      if (op2 != "<" && op2 != "<=") return Invalid("Bad numeric range operator: " + op2);
      BP_RETURN_IF_ERROR(next_number(op2, &v));
      r->has_hi = true;
      r->hi = v;
      r->hi_open = op2 == "<";
      if (!(r->lo < r->hi)) return Invalid("Bottom must be less than top");
    }
  } else if (op == "<" || op == "<=") {
    BP_RETURN_IF_ERROR(next_number(op, &v));
    r->has_hi = true;
    r->hi = v;
    r->hi_open = op == "<";
  } else {
    return Invalid("Unrecognized numeric range operator: " + op);
  }
  if (i != a.size()) return Invalid("Too many elements in numeric expression");
  return Status::Ok();
}

// Fills c->strs from a string or a non-empty array of strings; `msg` is the error otherwise.
Status StringOrStringList(const json::value& v, std::string_view msg, bool fold,
                          std::vector<std::string>* out) {
  if (v.is_string()) {
    out->push_back(fold ? Folded(v.get_string()) : std::string(v.get_string()));
    return Status::Ok();
  }
  if (!v.is_array() || v.get_array().empty()) return Invalid(msg);
  for (const auto& e : v.get_array()) {
    if (!e.is_string()) return Invalid(msg);
    out->push_back(fold ? Folded(e.get_string()) : std::string(e.get_string()));
  }
  return Status::Ok();
}

Status ParseAnythingBut(const json::value& v, Condition* c) {
  static constexpr std::string_view kBadValue =
      "Value of anything-but must be an array or single string/number value.";
  if (v.is_object()) {
    const auto& o = v.get_object();
    if (o.empty()) return Invalid("Anything-But expression name not found");
    if (o.size() != 1) return Invalid("Only one key allowed in match expression");
    const std::string key(o.begin()->key());
    const json::value& operand = o.begin()->value();
    if (key == "prefix" || key == "suffix") {
      if (operand.is_object()) return Invalid(kBadValue);
      BP_RETURN_IF_ERROR(StringOrStringList(operand, "prefix/suffix match pattern must be a string",
                                            false, &c->strs));
      for (const auto& s : c->strs) {
        if (s.empty()) return Invalid("Null prefix/suffix not allowed");
      }
      c->kind = key == "prefix" ? CondKind::kAbPrefix : CondKind::kAbSuffix;
      return Status::Ok();
    }
    if (key == "equals-ignore-case") {
      BP_RETURN_IF_ERROR(StringOrStringList(operand,
                                            "Inside anything-but/equals-ignore-case list, "
                                            "number|start|null|boolean is not supported.",
                                            true, &c->strs));
      c->kind = CondKind::kAbIc;
      return Status::Ok();
    }
    if (key == "wildcard") {
      std::vector<std::string> texts;
      BP_RETURN_IF_ERROR(
          StringOrStringList(operand, "wildcard match pattern must be a string", false, &texts));
      for (const auto& t : texts) {
        c->wilds.emplace_back();
        BP_RETURN_IF_ERROR(ParseWildcard(t, &c->wilds.back()));
      }
      c->kind = CondKind::kAbWildcard;
      return Status::Ok();
    }
    return Invalid("Unsupported anything-but pattern: " + key);
  }
  if (v.is_string()) {
    c->kind = CondKind::kAbStrings;
    c->strs.emplace_back(v.get_string());
    return Status::Ok();
  }
  double d = 0;
  if (ToDouble(v, &d)) {
    c->kind = CondKind::kAbNumbers;
    c->nums.push_back(d);
    return Status::Ok();
  }
  if (!v.is_array()) return Invalid(kBadValue);
  bool has_string = false, has_number = false;
  for (const auto& e : v.get_array()) {
    if (e.is_string()) {
      has_string = true;
      c->strs.emplace_back(e.get_string());
    } else if (ToDouble(e, &d)) {
      has_number = true;
      c->nums.push_back(d);
    } else {
      return Invalid("Inside anything but list, start|null|boolean is not supported.");
    }
  }
  if (has_string == has_number) {
    return Invalid(
        "Inside anything but list, either all values are number or string, mixed type is not "
        "supported");
  }
  c->kind = has_string ? CondKind::kAbStrings : CondKind::kAbNumbers;
  return Status::Ok();
}

Status ParseOperator(const json::object& o, Condition* c) {
  if (o.empty()) return Invalid("Match expression name not found");
  if (o.size() != 1) return Invalid("Only one key allowed in match expression");
  const std::string name(o.begin()->key());
  const json::value& v = o.begin()->value();
  if (name == "prefix" || name == "suffix") {
    const bool prefix = name == "prefix";
    const std::string msg = name + " match pattern must be a string";
    if (v.is_string()) {
      c->kind = prefix ? CondKind::kPrefix : CondKind::kSuffix;
      c->str = std::string(v.get_string());
      return Status::Ok();
    }
    if (v.is_object() && v.get_object().size() == 1 &&
        v.get_object().begin()->key() == "equals-ignore-case" &&
        v.get_object().begin()->value().is_string()) {
      c->kind = prefix ? CondKind::kPrefixIc : CondKind::kSuffixIc;
      c->str = Folded(v.get_object().begin()->value().get_string());
      return Status::Ok();
    }
    return Invalid(msg);
  }
  if (name == "equals-ignore-case") {
    if (!v.is_string()) return Invalid("equals-ignore-case match pattern must be a string");
    c->kind = CondKind::kEqIc;
    c->str = Folded(v.get_string());
    return Status::Ok();
  }
  if (name == "wildcard") {
    if (!v.is_string()) return Invalid("wildcard match pattern must be a string");
    c->kind = CondKind::kWildcard;
    return ParseWildcard(v.get_string(), &c->wild);
  }
  if (name == "numeric") {
    if (!v.is_array()) return Invalid("Value of numeric must be an array.");
    c->kind = CondKind::kNumeric;
    return ParseNumeric(v.get_array(), &c->range);
  }
  if (name == "exists") {
    if (!v.is_bool()) return Invalid("exists match pattern must be either true or false.");
    c->kind = v.get_bool() ? CondKind::kExistsTrue : CondKind::kExistsFalse;
    return Status::Ok();
  }
  if (name == "cidr") {
    if (!v.is_string()) return Invalid("prefix match pattern must be a string");
    c->kind = CondKind::kCidr;
    return ParseCidr(v.get_string(), &c->cidr);
  }
  if (name == "anything-but") return ParseAnythingBut(v, c);
  return Invalid("Unrecognized match type " + name);
}

Status ParseLeafArray(const json::array& a, Clause* clause) {
  if (a.empty()) return Invalid("Empty arrays are not allowed");
  for (const auto& e : a) {
    Condition c;
    if (e.is_string()) {
      c.kind = CondKind::kExactString;
      c.str = std::string(e.get_string());
    } else if (e.is_bool()) {
      c.kind = e.get_bool() ? CondKind::kExactTrue : CondKind::kExactFalse;
    } else if (e.is_null()) {
      c.kind = CondKind::kExactNull;
    } else if (e.is_object()) {
      BP_RETURN_IF_ERROR(ParseOperator(e.get_object(), &c));
    } else if (ToDouble(e, &c.num)) {
      c.kind = CondKind::kExactNumber;
      if (c.num == 0) c.num = 0;  // -0 == 0
    } else if (e.is_number()) {
      return Invalid("Number out of range: " + json::serialize(e));
    } else {
      return Invalid("Match value must be String, number, true, false, or null");
    }
    clause->conds.push_back(std::move(c));
  }
  return Status::Ok();
}

// Adds `clause` to a conjunction. Two clauses on one path (from "a.b" beside {"a": {"b"}}, or from
// `$or` branches) must both hold.
void PutClause(std::vector<Clause>* conj, const Clause& clause) { conj->push_back(clause); }

using Alternatives = std::vector<std::vector<Clause>>;

Status Product(Alternatives* alts, const Alternatives& right) {
  if (alts->size() * right.size() > kMaxOrAlternatives) {
    return Invalid("Rule is too complex - the $or expressions expand to more than " +
                   std::to_string(kMaxOrAlternatives) + " combinations");
  }
  Alternatives out;
  out.reserve(alts->size() * right.size());
  for (const auto& l : *alts) {
    for (const auto& r : right) {
      auto merged = l;
      for (const auto& c : r) PutClause(&merged, c);
      out.push_back(std::move(merged));
    }
  }
  *alts = std::move(out);
  return Status::Ok();
}

Status CompileObject(const json::object& obj, std::vector<std::string>* prefix, int depth,
                     Alternatives* alts) {
  if (depth > 100) return Invalid("Pattern is nested too deeply");
  alts->assign(1, {});
  for (const auto& kv : obj) {
    const std::string_view key = kv.key();
    const json::value& v = kv.value();
    if (key == "$or") {
      if (!v.is_array() || v.get_array().size() < 2) {
        return Invalid("Or relationship must be an array of at least 2 objects");
      }
      Alternatives any;
      for (const auto& e : v.get_array()) {
        if (!e.is_object())
          return Invalid("Or relationship must be an array of at least 2 objects");
        Alternatives sub;
        BP_RETURN_IF_ERROR(CompileObject(e.get_object(), prefix, depth + 1, &sub));
        any.insert(any.end(), sub.begin(), sub.end());
        if (any.size() > kMaxOrAlternatives) return Product(alts, any);  // reports the limit
      }
      BP_RETURN_IF_ERROR(Product(alts, any));
      continue;
    }
    const size_t old_size = prefix->size();
    size_t start = 0;
    while (true) {
      const size_t dot = key.find('.', start);
      prefix->emplace_back(
          key.substr(start, dot == std::string_view::npos ? key.npos : dot - start));
      if (dot == std::string_view::npos) break;
      start = dot + 1;
    }
    if (v.is_object()) {
      Alternatives sub;
      BP_RETURN_IF_ERROR(CompileObject(v.get_object(), prefix, depth + 1, &sub));
      BP_RETURN_IF_ERROR(Product(alts, sub));
    } else if (v.is_array()) {
      Clause clause;
      clause.path = *prefix;
      BP_RETURN_IF_ERROR(ParseLeafArray(v.get_array(), &clause));
      for (auto& conj : *alts) PutClause(&conj, clause);
    } else {
      return Invalid("\"" + std::string(key) + "\" must be an object or an array");
    }
    prefix->resize(old_size);
  }
  return Status::Ok();
}

size_t CountCodePoints(std::string_view s) {
  size_t n = 0;
  for (const char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

}  // namespace

bool ParseIp(std::string_view s, bool* v6, uint8_t out[16]) {
  if (s.empty() || s.size() > 45) return false;
  char buf[46];
  std::memcpy(buf, s.data(), s.size());
  buf[s.size()] = '\0';
  std::memset(out, 0, 16);
  if (s.find(':') == std::string_view::npos) {
    *v6 = false;
    return inet_pton(AF_INET, buf, out) == 1;
  }
  *v6 = true;
  return inet_pton(AF_INET6, buf, out) == 1;
}

bool CidrContains(const CidrBlock& block, bool v6, const uint8_t addr[16]) {
  if (v6 != block.v6) return false;
  const int full = block.bits / 8;
  if (std::memcmp(addr, block.addr, full) != 0) return false;
  const int rest = block.bits % 8;
  if (rest == 0) return true;
  const auto mask = static_cast<uint8_t>(0xFF << (8 - rest));
  return (addr[full] & mask) == (block.addr[full] & mask);
}

bool WildcardMatches(const Wildcard& w, std::string_view s) {
  const auto& p = w.parts;
  if (p.size() == 1) return s == p[0];
  const std::string& first = p.front();
  const std::string& last = p.back();
  if (s.size() < first.size() + last.size()) return false;
  if (s.compare(0, first.size(), first) != 0) return false;
  if (s.compare(s.size() - last.size(), last.size(), last) != 0) return false;
  size_t pos = first.size();
  const size_t end = s.size() - last.size();
  for (size_t i = 1; i + 1 < p.size(); ++i) {
    if (p[i].empty()) continue;
    const size_t at = s.substr(0, end).find(p[i], pos);
    if (at == std::string_view::npos) return false;
    pos = at + p[i].size();
  }
  return true;
}

StatusOr<std::shared_ptr<const Pattern>> CompilePattern(std::string_view pattern_json) {
  if (CountCodePoints(pattern_json) > kMaxPatternChars) {
    return Invalid("Event pattern must be at most " + std::to_string(kMaxPatternChars) +
                   " characters");
  }
  json::parse_options opts;
  opts.max_depth = 256;
  boost::system::error_code ec;
  json::monotonic_resource mr;
  json::value root = json::parse(pattern_json, ec, &mr, opts);
  if (ec) return Invalid("Filter is not valid JSON: " + ec.message());
  if (!root.is_object()) return Invalid("Filter is not an object");
  try {
    Alternatives alts;
    std::vector<std::string> prefix;
    BP_RETURN_IF_ERROR(CompileObject(root.get_object(), &prefix, 0, &alts));
    auto pattern = std::make_shared<Pattern>();
    for (auto& clauses : alts) {
      if (clauses.empty()) return Invalid("Empty pattern is not allowed");
      pattern->alternatives.push_back(Conjunction{std::move(clauses)});
    }
    return std::shared_ptr<const Pattern>(std::move(pattern));
  } catch (const std::exception& e) {
    return Invalid(std::string("Internal error: ") + e.what());
  }
}

}  // namespace bp::pattern
