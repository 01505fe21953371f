// The regular expressions of botocore's events model for ARN-valued members, as plain matchers
// (the whole value must match, as AWS's Java validators do). Values outside these patterns are a
// ValidationException; a well-formed ARN of another account or region is a different resource.
#pragma once

#include <string_view>

namespace bp::model {

// EventBusNameOrArn:
//   (arn:aws[\w-]*:events:[a-z]+-[a-z]+-[\w-]+:[0-9]{12}:event-bus\/)?[/\.\-_A-Za-z0-9]+
inline constexpr std::string_view kEventBusNameOrArnPattern =
    "(arn:aws[\\w-]*:events:[a-z]+-[a-z]+-[\\w-]+:[0-9]{12}:event-bus\\/)?[/\\.\\-_A-Za-z0-9]+";
bool IsEventBusNameOrArn(std::string_view value);

// ConnectionArn:
//   ^arn:aws([a-z]|\-)*:events:([a-z]|\d|\-)*:([0-9]{12})?:connection\/[\.\-_A-Za-z0-9]+\/[\-A-Za-z0-9]+$
inline constexpr std::string_view kConnectionArnPattern =
    "^arn:aws([a-z]|\\-)*:events:([a-z]|\\d|\\-)*:([0-9]{12})?:connection\\/[\\.\\-_A-Za-z0-9]+\\/"
    "[\\-A-Za-z0-9]+$";
bool IsConnectionArn(std::string_view value);

}  // namespace bp::model
