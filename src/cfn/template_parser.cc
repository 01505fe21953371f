#include "cfn/template_parser.h"

#include <yaml-cpp/yaml.h>

#include <boost/json.hpp>
#include <charconv>

namespace bp::cfn {

namespace json = boost::json;

namespace {

Status FormatError(std::string what) {
  return Status::Validation("Template format error: " + std::move(what));
}

bool IsNumber(const std::string& s, json::value* out) {
  if (s.empty()) return false;
  size_t i = (s[0] == '-' || s[0] == '+') ? 1 : 0;
  if (i == s.size()) return false;
  bool dot = false, digits = false;
  for (size_t k = i; k < s.size(); ++k) {
    if (s[k] >= '0' && s[k] <= '9') {
      digits = true;
    } else if (s[k] == '.' && !dot) {
      dot = true;
    } else {
      return false;
    }
  }
  if (!digits) return false;
  // Leading zeros ("007") and long digit strings (account ids) stay strings, as CloudFormation
  // passes them through unchanged to string properties anyway.
  if (s.size() - i > 1 && s[i] == '0' && s[i + 1] != '.') return false;
  if (!dot) {
    int64_t v = 0;
    auto [p, ec] = std::from_chars(s.data() + (s[0] == '+'), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size()) return false;
    *out = v;
    return true;
  }
  *out = std::strtod(s.c_str(), nullptr);
  return true;
}

json::value Plain(const std::string& s) {
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  if (s == "null" || s == "Null" || s == "NULL" || s == "~" || s.empty()) return nullptr;
  json::value n;
  if (IsNumber(s, &n)) return n;
  return json::string(s);
}

StatusOr<json::value> Convert(const YAML::Node& node, int depth, bool use_tag = true);

// A short-form tag applied to an already converted value.
StatusOr<json::value> Tagged(const std::string& tag, const YAML::Node& node, int depth) {
  std::string name = tag.substr(1);
  if (name == "GetAtt" && node.IsScalar()) {
    std::string s = node.Scalar();
    size_t dot = s.find('.');
    if (dot == std::string::npos) {
      return FormatError("!GetAtt " + s + " must be LogicalId.Attribute");
    }
    return json::value(json::object{{"Fn::GetAtt", json::array{json::string(s.substr(0, dot)),
                                                               json::string(s.substr(dot + 1))}}});
  }
  json::value inner;
  if (node.IsScalar()) {
    inner = json::string(node.Scalar());  // arguments of short forms are strings
  } else {
    BP_ASSIGN_OR_RETURN(inner, Convert(node, depth + 1, false));
  }
  if (name == "Ref" || name == "Condition")
    return json::value(json::object{{name, std::move(inner)}});
  return json::value(json::object{{"Fn::" + name, std::move(inner)}});
}

StatusOr<json::value> Convert(const YAML::Node& node, int depth, bool use_tag) {
  if (depth > 200) return FormatError("the template nests too deeply");
  const std::string& tag = node.Tag();
  bool custom = tag.size() > 1 && tag[0] == '!' && tag.rfind("!!", 0) != 0 &&
                tag.find(':') == std::string::npos;
  if (custom && use_tag) return Tagged(tag, node, depth);
  switch (node.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return json::value(nullptr);
    case YAML::NodeType::Scalar:
      if (tag == "!" || tag == "tag:yaml.org,2002:str")
        return json::value(json::string(node.Scalar()));
      return Plain(node.Scalar());
    case YAML::NodeType::Sequence: {
      json::array a;
      for (const auto& item : node) {
        BP_ASSIGN_OR_RETURN(json::value v, Convert(item, depth + 1));
        a.push_back(std::move(v));
      }
      return json::value(std::move(a));
    }
    case YAML::NodeType::Map: {
      json::object o;
      for (const auto& kv : node) {
        if (!kv.first.IsScalar()) return FormatError("mapping keys must be strings");
        BP_ASSIGN_OR_RETURN(json::value v, Convert(kv.second, depth + 1));
        o[kv.first.Scalar()] = std::move(v);
      }
      return json::value(std::move(o));
    }
  }
  return json::value(nullptr);
}

}  // namespace

StatusOr<json::value> ParseTemplateBody(std::string_view body) {
  size_t start = body.find_first_not_of(" \t\r\n");
  if (start == std::string_view::npos) return FormatError("the template is empty");
  if (body[start] == '{') {
    json::error_code ec;
    json::value v = json::parse(body, ec);
    if (ec) return FormatError("JSON not well-formed. (" + ec.message() + ")");
    return v;
  }
  try {
    YAML::Node root = YAML::Load(std::string(body));
    return Convert(root, 0);
  } catch (const YAML::Exception& e) {
    return FormatError("YAML not well-formed. (" + std::string(e.what()) + ")");
  }
}

Status CheckTemplateShape(const json::value& tmpl) {
  if (!tmpl.is_object()) return FormatError("the template must be an object");
  const json::object& t = tmpl.as_object();
  for (const auto& kv : t) {
    static constexpr std::string_view kSections[] = {"AWSTemplateFormatVersion",
                                                     "Description",
                                                     "Metadata",
                                                     "Parameters",
                                                     "Rules",
                                                     "Mappings",
                                                     "Conditions",
                                                     "Transform",
                                                     "Resources",
                                                     "Outputs"};
    if (std::find(std::begin(kSections), std::end(kSections), kv.key()) == std::end(kSections)) {
      return FormatError("Invalid template property or properties [" + std::string(kv.key()) + "]");
    }
  }
  if (t.contains("Transform")) {
    return FormatError("Transforms (such as AWS::Serverless) are not supported by Bridgeport.");
  }
  const json::value* res = t.if_contains("Resources");
  if (!res || !res->is_object() || res->as_object().empty()) {
    return FormatError("At least one Resources member must be defined.");
  }
  for (const auto& kv : res->as_object()) {
    if (!kv.value().is_object()) {
      return FormatError("[/Resources/" + std::string(kv.key()) + "] must be an object");
    }
    const json::value* type = kv.value().as_object().if_contains("Type");
    if (!type || !type->is_string()) {
      return FormatError("[/Resources/" + std::string(kv.key()) +
                         "] Every Resources object must contain a Type member.");
    }
  }
  for (const char* section : {"Parameters", "Conditions", "Mappings", "Outputs", "Rules"}) {
    const json::value* v = t.if_contains(section);
    if (v && !v->is_object()) {
      return FormatError(std::string("Every ") + section + " object must be an object");
    }
  }
  return Status::Ok();
}

}  // namespace bp::cfn
