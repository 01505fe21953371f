// ARNs of Bridgeport resources (SPEC.md §2).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace bp::model {

struct Partition {
  std::string region;
  std::string account;
};

std::string EventBusArn(const Partition& p, std::string_view bus);
// Rules on the default bus have no bus segment: "...:rule/NAME"; others "...:rule/BUS/NAME".
std::string RuleArn(const Partition& p, std::string_view bus, std::string_view rule);
std::string ConnectionArn(const Partition& p, std::string_view name, std::string_view uuid);
std::string ApiDestinationArn(const Partition& p, std::string_view name, std::string_view uuid);
std::string QueueArn(const Partition& p, std::string_view name);

// A parsed "arn:aws:SERVICE:REGION:ACCOUNT:RESOURCE".
struct ParsedArn {
  std::string service, region, account, resource;  // resource e.g. "rule/bus/name"
  // The part of `resource` before the first '/', e.g. "rule" (or the whole resource, for SQS).
  std::string type;
  std::string rest;  // after the first '/'
};
std::optional<ParsedArn> ParseArn(std::string_view arn);

// Accepts a bus name or a bus ARN and returns the bus name (or nullopt if it is a malformed ARN).
std::optional<std::string> BusNameFromNameOrArn(std::string_view name_or_arn);

}  // namespace bp::model
