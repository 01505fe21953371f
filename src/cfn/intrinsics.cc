#include "cfn/intrinsics.h"

namespace bp::cfn {

namespace json = boost::json;

namespace {

using MaybeValue = std::optional<json::value>;

Status Bad(std::string what) { return Status::Validation("Template error: " + std::move(what)); }

bool IsNoValue(const json::value& v) {
  if (!v.is_object() || v.as_object().size() != 1) return false;
  const json::value* r = v.as_object().if_contains("Ref");
  return r && r->is_string() && r->as_string() == "AWS::NoValue";
}

// The single key of an intrinsic-function object, or empty.
std::string_view FunctionName(const json::value& v) {
  if (!v.is_object() || v.as_object().size() != 1) return {};
  std::string_view k = v.as_object().begin()->key();
  if (k == "Ref" || k == "Condition" || k.starts_with("Fn::")) return k;
  return {};
}

}  // namespace

std::string ScalarText(const json::value& v) {
  if (v.is_string()) return std::string(v.as_string());
  if (v.is_bool()) return v.as_bool() ? "true" : "false";
  if (v.is_int64()) return std::to_string(v.as_int64());
  if (v.is_uint64()) return std::to_string(v.as_uint64());
  if (v.is_double()) {
    double d = v.as_double();
    if (d == static_cast<double>(static_cast<int64_t>(d))) {
      return std::to_string(static_cast<int64_t>(d));
    }
    return json::serialize(v);
  }
  if (v.is_array()) {
    std::string out;
    for (const auto& item : v.as_array()) {
      if (!out.empty()) out += ",";
      out += ScalarText(item);
    }
    return out;
  }
  if (v.is_null()) return "";
  return json::serialize(v);
}

std::string Base64(std::string_view in) {
  static constexpr std::string_view kB64 =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t n = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    for (int s : {18, 12, 6, 0}) out += kB64[(n >> s) & 63];
  }
  if (i + 1 == in.size()) {
    uint32_t n = uint8_t(in[i]) << 16;
    out += kB64[n >> 18];
    out += kB64[(n >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    uint32_t n = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8);
    for (int s : {18, 12, 6}) out += kB64[(n >> s) & 63];
    out += '=';
  }
  return out;
}

StatusOr<json::value> Evaluator::Required(const json::value& v, int depth) const {
  BP_ASSIGN_OR_RETURN(MaybeValue r, Eval(v, depth + 1));
  if (!r) return Bad("AWS::NoValue cannot be used here");
  return std::move(*r);
}

StatusOr<MaybeValue> Evaluator::Eval(const json::value& v, int depth) const {
  if (depth > 100) return Bad("intrinsic functions nest too deeply");
  if (IsNoValue(v)) return MaybeValue();
  std::string_view fn = FunctionName(v);
  if (!fn.empty()) return Function(fn, v.as_object().begin()->value(), depth);
  if (v.is_object()) {
    json::object out;
    for (const auto& kv : v.as_object()) {
      BP_ASSIGN_OR_RETURN(MaybeValue m, Eval(kv.value(), depth + 1));
      if (m) out[kv.key()] = std::move(*m);
    }
    return MaybeValue(std::move(out));
  }
  if (v.is_array()) {
    json::array out;
    for (const auto& item : v.as_array()) {
      BP_ASSIGN_OR_RETURN(MaybeValue m, Eval(item, depth + 1));
      if (m) out.push_back(std::move(*m));
    }
    return MaybeValue(std::move(out));
  }
  return MaybeValue(v);
}

StatusOr<MaybeValue> Evaluator::Function(std::string_view name, const json::value& arg,
                                         int depth) const {
  auto list = [&](size_t min, size_t max) -> StatusOr<const json::array*> {
    if (!arg.is_array() || arg.as_array().size() < min || arg.as_array().size() > max) {
      return Bad(std::string(name) + " has the wrong number of arguments");
    }
    return &arg.as_array();
  };
  if (name == "Ref") {
    if (!arg.is_string()) return Bad("Ref must name a parameter or resource");
    std::string target(arg.as_string());
    if (auto it = ctx_.parameters.find(target); it != ctx_.parameters.end())
      return MaybeValue(it->second);
    if (auto it = ctx_.pseudo.find(target); it != ctx_.pseudo.end()) return MaybeValue(it->second);
    if (!ctx_.resource_ref) return Bad("Unresolved resource dependencies [" + target + "]");
    BP_ASSIGN_OR_RETURN(json::value r, ctx_.resource_ref(target));
    return MaybeValue(std::move(r));
  }
  if (name == "Fn::GetAtt") {
    std::string logical, attr;
    if (arg.is_string()) {
      std::string s(arg.as_string());
      size_t dot = s.find('.');
      if (dot == std::string::npos) return Bad("Fn::GetAtt needs LogicalId.Attribute");
      logical = s.substr(0, dot);
      attr = s.substr(dot + 1);
    } else {
      BP_ASSIGN_OR_RETURN(const json::array* a, list(2, 2));
      if (!(*a)[0].is_string()) return Bad("Fn::GetAtt needs a logical id");
      logical = std::string((*a)[0].as_string());
      BP_ASSIGN_OR_RETURN(json::value at, Required((*a)[1], depth));
      attr = ScalarText(at);
    }
    if (!ctx_.get_att) return Bad("Unresolved resource dependencies [" + logical + "]");
    BP_ASSIGN_OR_RETURN(json::value r, ctx_.get_att(logical, attr));
    return MaybeValue(std::move(r));
  }
  if (name == "Condition") {
    if (!arg.is_string()) return Bad("Condition must name a condition");
    auto it = ctx_.conditions.find(std::string(arg.as_string()));
    if (it == ctx_.conditions.end()) return Bad("Unresolved condition " + ScalarText(arg));
    return MaybeValue(json::value(it->second));
  }
  if (name == "Fn::Join") {
    BP_ASSIGN_OR_RETURN(const json::array* a, list(2, 2));
    BP_ASSIGN_OR_RETURN(json::value delim, Required((*a)[0], depth));
    BP_ASSIGN_OR_RETURN(json::value items, Required((*a)[1], depth));
    if (!items.is_array()) return Bad("Fn::Join needs a list of values");
    std::string out;
    bool first = true;
    for (const auto& item : items.as_array()) {
      if (!first) out += ScalarText(delim);
      first = false;
      out += ScalarText(item);
    }
    return MaybeValue(json::string(out));
  }
  if (name == "Fn::Sub") {
    BP_ASSIGN_OR_RETURN(json::value s, Sub(arg, depth));
    return MaybeValue(std::move(s));
  }
  if (name == "Fn::Select") {
    BP_ASSIGN_OR_RETURN(const json::array* a, list(2, 2));
    BP_ASSIGN_OR_RETURN(json::value idx, Required((*a)[0], depth));
    BP_ASSIGN_OR_RETURN(json::value items, Required((*a)[1], depth));
    if (!items.is_array()) return Bad("Fn::Select needs a list");
    int64_t i = idx.is_int64() ? idx.as_int64() : std::atoll(ScalarText(idx).c_str());
    if (i < 0 || i >= static_cast<int64_t>(items.as_array().size())) {
      return Bad("Fn::Select index " + std::to_string(i) + " is out of bounds");
    }
    return MaybeValue(items.as_array()[static_cast<size_t>(i)]);
  }
  if (name == "Fn::Split") {
    BP_ASSIGN_OR_RETURN(const json::array* a, list(2, 2));
    BP_ASSIGN_OR_RETURN(json::value delim, Required((*a)[0], depth));
    BP_ASSIGN_OR_RETURN(json::value src, Required((*a)[1], depth));
    std::string d = ScalarText(delim), s = ScalarText(src);
    if (d.empty()) return Bad("Fn::Split needs a non-empty delimiter");
    json::array out;
    size_t pos = 0;
    while (true) {
      size_t next = s.find(d, pos);
      out.push_back(json::string(s.substr(pos, next - pos)));
      if (next == std::string::npos) break;
      pos = next + d.size();
    }
    return MaybeValue(std::move(out));
  }
  if (name == "Fn::If") {
    BP_ASSIGN_OR_RETURN(const json::array* a, list(3, 3));
    if (!(*a)[0].is_string()) return Bad("Fn::If needs a condition name");
    auto it = ctx_.conditions.find(std::string((*a)[0].as_string()));
    if (it == ctx_.conditions.end()) return Bad("Unresolved condition " + ScalarText((*a)[0]));
    return Eval(it->second ? (*a)[1] : (*a)[2], depth + 1);
  }
  if (name == "Fn::Equals" || name == "Fn::And" || name == "Fn::Or" || name == "Fn::Not" ||
      name == "Fn::Contains" || name == "Fn::EachMemberEquals" || name == "Fn::EachMemberIn") {
    json::object wrapped{{name, arg}};
    BP_ASSIGN_OR_RETURN(bool b, Condition(wrapped));
    return MaybeValue(json::value(b));
  }
  if (name == "Fn::FindInMap") {
    BP_ASSIGN_OR_RETURN(const json::array* a, list(3, 4));
    std::string keys[3];
    for (int i = 0; i < 3; ++i) {
      BP_ASSIGN_OR_RETURN(json::value k, Required((*a)[i], depth));
      keys[i] = ScalarText(k);
    }
    const json::value* v = ctx_.mappings.if_contains(keys[0]);
    if (v && v->is_object()) v = v->as_object().if_contains(keys[1]);
    if (v && v->is_object()) v = v->as_object().if_contains(keys[2]);
    if (!v) {
      if (a->size() == 4 && (*a)[3].is_object()) {
        if (const json::value* d = (*a)[3].as_object().if_contains("DefaultValue")) {
          return Eval(*d, depth + 1);
        }
      }
      return Bad("Fn::FindInMap: mapping " + keys[0] + " has no value for " + keys[1] + "/" +
                 keys[2]);
    }
    return MaybeValue(*v);
  }
  if (name == "Fn::Base64") {
    BP_ASSIGN_OR_RETURN(json::value s, Required(arg, depth));
    return MaybeValue(json::string(Base64(ScalarText(s))));
  }
  if (name == "Fn::GetAZs") {
    BP_ASSIGN_OR_RETURN(json::value r, Required(arg, depth));
    std::string region = ScalarText(r).empty() ? ctx_.region : ScalarText(r);
    return MaybeValue(json::array{json::string(region + "a"), json::string(region + "b"),
                                  json::string(region + "c")});
  }
  if (name == "Fn::ImportValue") {
    BP_ASSIGN_OR_RETURN(json::value n, Required(arg, depth));
    if (!ctx_.import_value) return Bad("Fn::ImportValue is not available here");
    BP_ASSIGN_OR_RETURN(json::value r, ctx_.import_value(ScalarText(n)));
    return MaybeValue(std::move(r));
  }
  return Bad("Unsupported intrinsic function " + std::string(name));
}

StatusOr<json::value> Evaluator::Sub(const json::value& arg, int depth) const {
  std::string text;
  std::map<std::string, json::value> vars;
  if (arg.is_string()) {
    text = std::string(arg.as_string());
  } else if (arg.is_array() && arg.as_array().size() == 2 && arg.as_array()[0].is_string() &&
             arg.as_array()[1].is_object()) {
    text = std::string(arg.as_array()[0].as_string());
    for (const auto& kv : arg.as_array()[1].as_object()) {
      BP_ASSIGN_OR_RETURN(json::value v, Required(kv.value(), depth));
      vars[std::string(kv.key())] = std::move(v);
    }
  } else {
    return Bad("Fn::Sub needs a string or [string, {variables}]");
  }
  std::string out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t open = text.find("${", pos);
    if (open == std::string::npos) {
      out.append(text, pos);
      break;
    }
    out.append(text, pos, open - pos);
    size_t close = text.find('}', open);
    if (close == std::string::npos) return Bad("Fn::Sub has an unterminated ${");
    std::string var = text.substr(open + 2, close - open - 2);
    pos = close + 1;
    if (!var.empty() && var[0] == '!') {
      out += "${" + var.substr(1) + "}";
      continue;
    }
    if (auto it = vars.find(var); it != vars.end()) {
      out += ScalarText(it->second);
      continue;
    }
    size_t dot = var.find('.');
    json::value v;
    if (dot != std::string::npos && !var.starts_with("AWS::")) {
      BP_ASSIGN_OR_RETURN(
          v, Required(json::object{{"Fn::GetAtt", json::array{json::string(var.substr(0, dot)),
                                                              json::string(var.substr(dot + 1))}}},
                      depth));
    } else {
      BP_ASSIGN_OR_RETURN(v, Required(json::object{{"Ref", json::string(var)}}, depth));
    }
    out += ScalarText(v);
  }
  return json::value(json::string(out));
}

}  // namespace bp::cfn
