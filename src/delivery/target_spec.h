// Conversion of a stored target (AWS Target JSON) into the transform module's specs.
#pragma once

#include <boost/json/object.hpp>

#include "common/status.h"
#include "transform/transform.h"

namespace bp::delivery {

// Fails with kSerialization when a member has the wrong JSON type.
StatusOr<transform::TargetInputSpec> TargetInputFromJson(const boost::json::object& target);
StatusOr<transform::HttpParametersSpec> HttpParametersFromJson(const boost::json::object& target);

// PutTargets-time validation of Input/InputPath/InputTransformer and HttpParameters.
Status ValidateTargetInputJson(const boost::json::object& target, int member_index = 1);

}  // namespace bp::delivery
