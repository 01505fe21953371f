#include "model/arn.h"

namespace bp::model {

namespace {
std::string Prefix(const Partition& p, std::string_view service) {
  return "arn:aws:" + std::string(service) + ":" + p.region + ":" + p.account + ":";
}
}  // namespace

std::string EventBusArn(const Partition& p, std::string_view bus) {
  return Prefix(p, "events") + "event-bus/" + std::string(bus);
}

std::string RuleArn(const Partition& p, std::string_view bus, std::string_view rule) {
  if (bus == "default") return Prefix(p, "events") + "rule/" + std::string(rule);
  return Prefix(p, "events") + "rule/" + std::string(bus) + "/" + std::string(rule);
}

std::string ConnectionArn(const Partition& p, std::string_view name, std::string_view uuid) {
  return Prefix(p, "events") + "connection/" + std::string(name) + "/" + std::string(uuid);
}

std::string ApiDestinationArn(const Partition& p, std::string_view name, std::string_view uuid) {
  return Prefix(p, "events") + "api-destination/" + std::string(name) + "/" + std::string(uuid);
}

std::string QueueArn(const Partition& p, std::string_view name) {
  return Prefix(p, "sqs") + std::string(name);
}

std::optional<ParsedArn> ParseArn(std::string_view arn) {
  if (arn.substr(0, 4) != "arn:") return std::nullopt;
  std::string_view parts[6];
  size_t start = 0;
  for (int i = 0; i < 5; ++i) {
    size_t colon = arn.find(':', start);
    if (colon == std::string_view::npos) return std::nullopt;
    parts[i] = arn.substr(start, colon - start);
    start = colon + 1;
  }
  parts[5] = arn.substr(start);
  if (parts[1].empty() || parts[2].empty() || parts[5].empty()) return std::nullopt;
  ParsedArn out;
  out.service = std::string(parts[2]);
  out.region = std::string(parts[3]);
  out.account = std::string(parts[4]);
  out.resource = std::string(parts[5]);
  size_t slash = out.resource.find('/');
  if (slash == std::string::npos) {
    out.type = out.resource;
  } else {
    out.type = out.resource.substr(0, slash);
    out.rest = out.resource.substr(slash + 1);
  }
  return out;
}

std::optional<std::string> BusNameFromNameOrArn(std::string_view v) {
  if (v.substr(0, 4) != "arn:") return std::string(v);
  auto parsed = ParseArn(v);
  if (!parsed || parsed->service != "events" || parsed->type != "event-bus" ||
      parsed->rest.empty()) {
    return std::nullopt;
  }
  return parsed->rest;
}

}  // namespace bp::model
