// Conditions, reference collection and dynamic references (the rest of intrinsics.h).
#include "cfn/intrinsics.h"

namespace bp::cfn {

namespace json = boost::json;

namespace {

Status Bad(std::string what) { return Status::Validation("Template error: " + std::move(what)); }

const json::array* Args(const json::value& arg, size_t min, size_t max) {
  if (!arg.is_array()) return nullptr;
  size_t n = arg.as_array().size();
  return n >= min && n <= max ? &arg.as_array() : nullptr;
}

}  // namespace

StatusOr<bool> Evaluator::Condition(const json::value& v) const {
  if (v.is_bool()) return v.as_bool();
  if (v.is_string()) return v.as_string() == "true";
  if (!v.is_object() || v.as_object().size() != 1) return Bad("a condition must be a function");
  std::string_view name = v.as_object().begin()->key();
  const json::value& arg = v.as_object().begin()->value();
  if (name == "Condition") {
    auto it = arg.is_string() ? ctx_.conditions.find(std::string(arg.as_string()))
                              : ctx_.conditions.end();
    if (it == ctx_.conditions.end()) return Bad("Unresolved condition in a condition");
    return it->second;
  }
  if (name == "Fn::Equals") {
    const json::array* a = Args(arg, 2, 2);
    if (!a) return Bad("Fn::Equals needs two values");
    BP_ASSIGN_OR_RETURN(json::value l, Required((*a)[0], 0));
    BP_ASSIGN_OR_RETURN(json::value r, Required((*a)[1], 0));
    if (l.is_array() || r.is_array() || l.is_object() || r.is_object()) return l == r;
    return ScalarText(l) == ScalarText(r);
  }
  if (name == "Fn::Not") {
    const json::array* a = Args(arg, 1, 1);
    if (!a) return Bad("Fn::Not needs one condition");
    BP_ASSIGN_OR_RETURN(bool b, Condition((*a)[0]));
    return !b;
  }
  if (name == "Fn::And" || name == "Fn::Or") {
    const json::array* a = Args(arg, 2, 10);
    if (!a) return Bad(std::string(name) + " needs 2 to 10 conditions");
    bool is_and = name == "Fn::And";
    bool acc = is_and;
    for (const auto& c : *a) {
      BP_ASSIGN_OR_RETURN(bool b, Condition(c));
      acc = is_and ? (acc && b) : (acc || b);
    }
    return acc;
  }
  if (name == "Fn::Contains" || name == "Fn::EachMemberEquals" || name == "Fn::EachMemberIn") {
    const json::array* a = Args(arg, 2, 2);
    if (!a) return Bad(std::string(name) + " needs two arguments");
    BP_ASSIGN_OR_RETURN(json::value l, Required((*a)[0], 0));
    BP_ASSIGN_OR_RETURN(json::value r, Required((*a)[1], 0));
    auto contains = [](const json::value& list, const json::value& x) {
      if (!list.is_array()) return false;
      for (const auto& item : list.as_array()) {
        if (ScalarText(item) == ScalarText(x)) return true;
      }
      return false;
    };
    if (name == "Fn::Contains") return contains(l, r);
    if (!l.is_array()) return false;
    for (const auto& item : l.as_array()) {
      bool ok =
          name == "Fn::EachMemberEquals" ? ScalarText(item) == ScalarText(r) : contains(r, item);
      if (!ok) return false;
    }
    return true;
  }
  // Any other function (e.g. a Ref to a boolean parameter): evaluate and test the value.
  BP_ASSIGN_OR_RETURN(json::value val, Required(v, 0));
  return val.is_bool() ? val.as_bool() : ScalarText(val) == "true";
}

StatusOr<std::map<std::string, bool>> EvaluateConditions(const json::object& conditions,
                                                         EvalContext ctx) {
  // Conditions may reference each other: evaluate in rounds until no progress.
  std::map<std::string, bool> done;
  size_t remaining = conditions.size();
  for (size_t round = 0; round <= conditions.size() && remaining > 0; ++round) {
    ctx.conditions = done;
    Evaluator ev(ctx);
    for (const auto& kv : conditions) {
      std::string name(kv.key());
      if (done.count(name)) continue;
      StatusOr<bool> b = ev.Condition(kv.value());
      if (b.ok()) {
        done[name] = *b;
        --remaining;
      } else if (b.status().message().find("Unresolved condition") == std::string::npos) {
        return b.status();
      }
    }
  }
  if (remaining > 0) return Bad("Circular or unresolved references between Conditions");
  return done;
}

void CollectReferences(const json::value& v, std::set<std::string>& out) {
  if (v.is_array()) {
    for (const auto& item : v.as_array()) CollectReferences(item, out);
    return;
  }
  if (!v.is_object()) return;
  const json::object& o = v.as_object();
  if (o.size() == 1) {
    std::string_view k = o.begin()->key();
    const json::value& arg = o.begin()->value();
    if (k == "Ref" && arg.is_string()) {
      out.insert(std::string(arg.as_string()));
      return;
    }
    if (k == "Fn::GetAtt") {
      if (arg.is_array() && !arg.as_array().empty() && arg.as_array()[0].is_string()) {
        out.insert(std::string(arg.as_array()[0].as_string()));
      } else if (arg.is_string()) {
        std::string s(arg.as_string());
        out.insert(s.substr(0, s.find('.')));
      }
      return;
    }
    if (k == "Fn::Sub") {
      const json::value* text = &arg;
      if (arg.is_array() && !arg.as_array().empty()) {
        text = &arg.as_array()[0];
        if (arg.as_array().size() > 1) CollectReferences(arg.as_array()[1], out);
      }
      if (text->is_string()) {
        std::string_view s = text->as_string();
        for (size_t p = s.find("${"); p != std::string_view::npos; p = s.find("${", p + 2)) {
          size_t close = s.find('}', p);
          if (close == std::string_view::npos) break;
          std::string_view var = s.substr(p + 2, close - p - 2);
          if (var.empty() || var[0] == '!') continue;
          out.insert(std::string(var.substr(0, var.find('.'))));
        }
      }
      return;
    }
  }
  for (const auto& kv : o) CollectReferences(kv.value(), out);
}

bool HasDynamicReference(const json::value& v) {
  if (v.is_string()) return v.as_string().find("{{resolve:") != json::string::npos;
  if (v.is_array()) {
    for (const auto& i : v.as_array()) {
      if (HasDynamicReference(i)) return true;
    }
  }
  if (v.is_object()) {
    for (const auto& kv : v.as_object()) {
      if (HasDynamicReference(kv.value())) return true;
    }
  }
  return false;
}

Status ResolveDynamicReferences(json::value& v, const DynamicResolver& resolve) {
  if (v.is_array()) {
    for (auto& i : v.as_array()) BP_RETURN_IF_ERROR(ResolveDynamicReferences(i, resolve));
    return Status::Ok();
  }
  if (v.is_object()) {
    for (auto& kv : v.as_object())
      BP_RETURN_IF_ERROR(ResolveDynamicReferences(kv.value(), resolve));
    return Status::Ok();
  }
  if (!v.is_string()) return Status::Ok();
  std::string s(v.as_string());
  if (s.find("{{resolve:") == std::string::npos) return Status::Ok();
  std::string out;
  size_t pos = 0;
  while (true) {
    size_t open = s.find("{{resolve:", pos);
    if (open == std::string::npos) {
      out.append(s, pos);
      break;
    }
    size_t close = s.find("}}", open);
    if (close == std::string::npos) return Status::Validation("Unterminated dynamic reference");
    out.append(s, pos, open - pos);
    std::string_view body = std::string_view(s).substr(open + 10, close - open - 10);
    size_t colon = body.find(':');
    if (colon == std::string_view::npos) {
      return Status::Validation(
          "Incorrect format of dynamic reference: {{resolve:" + std::string(body) + "}}");
    }
    BP_ASSIGN_OR_RETURN(std::string value, resolve(body.substr(0, colon), body.substr(colon + 1)));
    out += value;
    pos = close + 2;
  }
  v = json::string(out);
  return Status::Ok();
}

}  // namespace bp::cfn
