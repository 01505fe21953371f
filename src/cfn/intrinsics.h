// Evaluation of CloudFormation intrinsic functions, conditions and dynamic references.
//
// Pure functions over boost::json values; resources, imports and parameters are reached through
// the callbacks of EvalContext, so the stack engine decides what a Ref to a resource means (its
// physical id, or a placeholder while a change set is previewed).
#pragma once

#include <boost/json.hpp>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "common/status.h"

namespace bp::cfn {

struct EvalContext {
  // Parameter name -> value (string; arrays for List<...> and CommaDelimitedList types).
  std::map<std::string, boost::json::value> parameters;
  std::map<std::string, boost::json::value> pseudo;  // AWS::Region, AWS::StackName, ...
  boost::json::object mappings;
  std::map<std::string, bool> conditions;  // evaluated conditions by name
  std::string region;
  std::function<StatusOr<boost::json::value>(const std::string& logical_id)> resource_ref;
  std::function<StatusOr<boost::json::value>(const std::string& logical_id,
                                             const std::string& attribute)>
      get_att;
  std::function<StatusOr<boost::json::value>(const std::string& export_name)> import_value;
};

class Evaluator {
 public:
  explicit Evaluator(const EvalContext& ctx) : ctx_(ctx) {}
  // Evaluates every intrinsic in `v`. Members and list items that evaluate to AWS::NoValue are
  // dropped; a top-level AWS::NoValue yields nullopt.
  StatusOr<std::optional<boost::json::value>> Eval(const boost::json::value& v,
                                                   int depth = 0) const;
  // A condition expression (Fn::Equals/And/Or/Not/Condition, or a boolean) to a bool.
  StatusOr<bool> Condition(const boost::json::value& v) const;

 private:
  StatusOr<std::optional<boost::json::value>> Function(std::string_view name,
                                                       const boost::json::value& arg,
                                                       int depth) const;
  StatusOr<boost::json::value> Sub(const boost::json::value& arg, int depth) const;
  StatusOr<boost::json::value> Required(const boost::json::value& v, int depth) const;
  const EvalContext& ctx_;
};

// Evaluates the template's Conditions section (conditions may refer to each other).
StatusOr<std::map<std::string, bool>> EvaluateConditions(const boost::json::object& conditions,
                                                         EvalContext ctx);

// Logical ids and parameter names that `v` refers to (Ref, Fn::GetAtt, Fn::Sub variables).
void CollectReferences(const boost::json::value& v, std::set<std::string>& out);

// A value as CloudFormation turns it into a string property ("1", "true", joined lists).
std::string ScalarText(const boost::json::value& v);

// Replaces `{{resolve:service:reference}}` inside every string of `v`. `resolve` gets the
// service ("secretsmanager", "ssm", "ssm-secure") and the reference after it.
using DynamicResolver =
    std::function<StatusOr<std::string>(std::string_view service, std::string_view reference)>;
Status ResolveDynamicReferences(boost::json::value& v, const DynamicResolver& resolve);
bool HasDynamicReference(const boost::json::value& v);

std::string Base64(std::string_view in);

}  // namespace bp::cfn
