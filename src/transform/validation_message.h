// Internal to transform/: AWS-shaped ValidationException texts for shape constraints.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace bp::transform {

// "1 validation error detected: Value '<value>' at '<field>' failed to satisfy constraint:
// <constraint>" as kValidation. Values longer than 256 bytes are shown truncated with "...".
inline Status ShapeError(std::string_view value, std::string_view field,
                         std::string_view constraint) {
  std::string shown(value.substr(0, 256));
  if (value.size() > 256) shown += "...";
  return Status::Validation("1 validation error detected: Value '" + shown + "' at '" +
                            std::string(field) +
                            "' failed to satisfy constraint: " + std::string(constraint));
}

}  // namespace bp::transform
