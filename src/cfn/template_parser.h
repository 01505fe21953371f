// Template text (JSON or YAML with CloudFormation's short-form tags) into one JSON value.
#pragma once

#include <boost/json/value.hpp>
#include <string_view>

#include "common/status.h"

namespace bp::cfn {

// Parses a template body. A body starting with '{' is JSON; anything else is YAML, where the
// short forms (`!Ref x`, `!GetAtt a.b`, `!Sub ...`, `!Condition c`, ...) become their long forms
// ({"Ref": "x"}, {"Fn::GetAtt": ["a", "b"]}, {"Fn::Sub": ...}, {"Condition": "c"}). Plain YAML
// scalars become booleans, numbers or null where YAML 1.1 core types say so; quoted scalars stay
// strings. Errors are kValidation "Template format error: ...".
StatusOr<boost::json::value> ParseTemplateBody(std::string_view body);

// Checks the top-level shape: an object with a non-empty Resources object whose members each
// have a string Type; Parameters/Conditions/Mappings/Outputs/Rules objects when present.
Status CheckTemplateShape(const boost::json::value& tmpl);

}  // namespace bp::cfn
