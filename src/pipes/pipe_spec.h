// A pipe's stored definition (the AWS-shaped JSON record) and its compiled, validated plan.
//
// The record is what DescribePipe shows plus the internal times; the plan is what a runner
// executes. Both are immutable once built; CompilePipe is pure apart from the resolver's lookups.
#pragma once

#include <boost/json/object.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "model/arn.h"
#include "pattern/pattern.h"

namespace bp::pipes {

enum class TargetKind { kApiDestination, kEventBus, kQueue };

// Existence checks against the other services (wired by server/).
struct ResourceResolver {
  std::function<bool(std::string_view queue_name)> queue_exists;
  // The ARN of the API destination `name`, or empty when it does not exist.
  std::function<std::string(std::string_view name)> destination_arn;
  std::function<bool(std::string_view bus)> bus_exists;
};

struct PipePlan {
  std::string name, arn;
  std::string source_arn, source_queue;
  int batch_size = 10;
  int window_seconds = 0;
  std::shared_ptr<const pattern::Matcher> filter;  // null: every record passes
  std::string enrichment_arn;                      // empty: no enrichment
  std::string enrichment_destination;
  std::optional<std::string> enrichment_template;
  std::string enrichment_http_json;  // HttpParameters object text, or empty
  std::string target_arn;
  TargetKind target_kind = TargetKind::kApiDestination;
  std::string target_resource;  // destination name, bus name or queue name
  std::optional<std::string> target_template;
  std::string target_http_json;
  // EventBridgeEventBusParameters.
  std::string bus_source, bus_detail_type, bus_time_path;
  std::vector<std::string> bus_resources;
  std::string log_level;  // OFF, ERROR, INFO, TRACE; empty: the server's log level
};

// Validates `pipe` (a CreatePipe request, or a stored record with an update merged in) and
// compiles it. Errors are kValidation with the ValidationException text ("... at 'field' ...").
[[nodiscard]] StatusOr<PipePlan> CompilePipe(const boost::json::object& pipe,
                                             const model::Partition& partition,
                                             const ResourceResolver& resolver);

// UpdatePipe: top-level members replace; inside SourceParameters, EnrichmentParameters and
// TargetParameters each given member replaces the stored one (AWS updates them atomically).
// An empty Enrichment or InputTemplate removes it; FilterCriteria without filters removes it.
boost::json::object MergeUpdate(const boost::json::object& stored,
                                const boost::json::object& update);

std::string PipeArn(const model::Partition& p, std::string_view name);

}  // namespace bp::pipes
