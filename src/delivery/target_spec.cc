#include "delivery/target_spec.h"

#include <boost/json.hpp>

namespace bp::delivery {

namespace json = boost::json;

namespace {

Status Type(std::string_view what) {
  return Status::Serialization(std::string(what) + " has the wrong type.");
}

StatusOr<std::vector<std::pair<std::string, std::string>>> StringMap(const json::object& o,
                                                                     std::string_view key) {
  std::vector<std::pair<std::string, std::string>> out;
  auto it = o.find(key);
  if (it == o.end() || it->value().is_null()) return out;
  if (!it->value().is_object()) return Type(key);
  for (const auto& [k, v] : it->value().as_object()) {
    if (!v.is_string()) return Type(key);
    out.emplace_back(std::string(k), std::string(v.as_string()));
  }
  return out;
}

}  // namespace

StatusOr<transform::TargetInputSpec> TargetInputFromJson(const json::object& t) {
  transform::TargetInputSpec spec;
  if (auto it = t.find("Input"); it != t.end() && !it->value().is_null()) {
    if (!it->value().is_string()) return Type("Input");
    spec.input = std::string(it->value().as_string());
  }
  if (auto it = t.find("InputPath"); it != t.end() && !it->value().is_null()) {
    if (!it->value().is_string()) return Type("InputPath");
    spec.input_path = std::string(it->value().as_string());
  }
  if (auto it = t.find("InputTransformer"); it != t.end() && !it->value().is_null()) {
    if (!it->value().is_object()) return Type("InputTransformer");
    const auto& o = it->value().as_object();
    transform::InputTransformerSpec it_spec;
    BP_ASSIGN_OR_RETURN(it_spec.input_paths_map, StringMap(o, "InputPathsMap"));
    auto tpl = o.find("InputTemplate");
    if (tpl == o.end() || !tpl->value().is_string()) {
      return Status::Validation("InputTransformer requires an InputTemplate.");
    }
    it_spec.input_template = std::string(tpl->value().as_string());
    spec.input_transformer = std::move(it_spec);
  }
  return spec;
}

StatusOr<transform::HttpParametersSpec> HttpParametersFromJson(const json::object& t) {
  transform::HttpParametersSpec spec;
  auto it = t.find("HttpParameters");
  if (it == t.end() || it->value().is_null()) return spec;
  if (!it->value().is_object()) return Type("HttpParameters");
  const auto& o = it->value().as_object();
  if (auto p = o.find("PathParameterValues"); p != o.end() && !p->value().is_null()) {
    if (!p->value().is_array()) return Type("PathParameterValues");
    for (const auto& v : p->value().as_array()) {
      if (!v.is_string()) return Type("PathParameterValues");
      spec.path_parameter_values.emplace_back(v.as_string());
    }
  }
  BP_ASSIGN_OR_RETURN(spec.header_parameters, StringMap(o, "HeaderParameters"));
  BP_ASSIGN_OR_RETURN(spec.query_string_parameters, StringMap(o, "QueryStringParameters"));
  return spec;
}

Status ValidateTargetInputJson(const json::object& target, int member_index) {
  std::string id;
  if (auto it = target.find("Id"); it != target.end() && it->value().is_string()) {
    id = std::string(it->value().as_string());
  }
  BP_ASSIGN_OR_RETURN(auto input, TargetInputFromJson(target));
  BP_RETURN_IF_ERROR(transform::ValidateTargetInput(id, input, member_index));
  BP_ASSIGN_OR_RETURN(auto http, HttpParametersFromJson(target));
  return transform::ValidateHttpParameters(id, http, member_index);
}

}  // namespace bp::delivery
