#include "pipes/pipe_spec.h"

#include <boost/json.hpp>
#include <regex>

#include "pipes/pipe_template.h"
#include "transform/json_path.h"

namespace bp::pipes {

namespace json = boost::json;

namespace {

Status Invalid(std::string_view value, std::string_view field, std::string_view constraint) {
  std::string v(value.substr(0, 256));
  return Status::Validation("1 validation error detected: Value '" + v + "' at '" +
                            std::string(field) +
                            "' failed to satisfy constraint: " + std::string(constraint));
}

// Reads an optional member of type string/object/array/integer; a wrong type is a
// ValidationException naming the field.
StatusOr<std::optional<std::string>> Str(const json::object& o, std::string_view key,
                                         std::string_view field) {
  auto it = o.find(key);
  if (it == o.end() || it->value().is_null()) return std::optional<std::string>();
  if (!it->value().is_string()) return Invalid("", field, "Member must be a string");
  return std::optional<std::string>(std::string(it->value().as_string()));
}

StatusOr<const json::object*> Obj(const json::object& o, std::string_view key,
                                  std::string_view field) {
  auto it = o.find(key);
  if (it == o.end() || it->value().is_null()) return static_cast<const json::object*>(nullptr);
  if (!it->value().is_object()) return Invalid("", field, "Member must be a structure");
  return &it->value().as_object();
}

StatusOr<std::optional<int64_t>> Int(const json::object& o, std::string_view key,
                                     std::string_view field) {
  auto it = o.find(key);
  if (it == o.end() || it->value().is_null()) return std::optional<int64_t>();
  if (!it->value().is_int64()) return Invalid("", field, "Member must be an integer");
  return std::optional<int64_t>(it->value().as_int64());
}

Status OnlyMembers(const json::object& o, std::initializer_list<std::string_view> allowed,
                   std::string_view field, std::string_view what) {
  for (const auto& kv : o) {
    bool ok = false;
    for (auto a : allowed) ok = ok || kv.key() == a;
    if (!ok) {
      return Status::Validation(std::string(kv.key()) + " in " + std::string(field) +
                                " is not supported: " + std::string(what));
    }
  }
  return Status::Ok();
}

std::string Lower(std::string_view s) {
  std::string out(s);
  if (!out.empty()) out[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(out[0])));
  return out;
}

Status CheckHttpParameters(const json::object& params, std::string_view field) {
  BP_RETURN_IF_ERROR(OnlyMembers(
      params, {"PathParameterValues", "HeaderParameters", "QueryStringParameters"}, field,
      "HttpParameters has PathParameterValues, HeaderParameters "
      "and QueryStringParameters"));
  if (auto it = params.find("PathParameterValues"); it != params.end()) {
    if (!it->value().is_array()) {
      return Invalid("", std::string(field) + ".pathParameterValues", "Member must be a list");
    }
    for (const auto& v : it->value().as_array()) {
      if (!v.is_string() || v.as_string().empty() || v.as_string().size() > 512) {
        return Invalid("", std::string(field) + ".pathParameterValues",
                       "Member must be a non-empty string of at most 512 characters");
      }
    }
  }
  for (const char* map : {"HeaderParameters", "QueryStringParameters"}) {
    auto it = params.find(map);
    if (it == params.end()) continue;
    std::string f = std::string(field) + "." + Lower(map);
    if (!it->value().is_object()) return Invalid("", f, "Member must be a map");
    for (const auto& kv : it->value().as_object()) {
      if (kv.key().empty() || kv.key().size() > 512 || !kv.value().is_string() ||
          kv.value().as_string().size() > 512) {
        return Invalid(kv.key(), f, "Map keys and values must be strings of 1 to 512 characters");
      }
      if (kv.value().as_string().starts_with("$") &&
          !transform::JsonPath::Parse(kv.value().as_string()).ok()) {
        return Invalid(kv.value().as_string(), f, "Member must be a valid JSON path");
      }
    }
  }
  return Status::Ok();
}

// The API destination named by `arn`, checked against the partition and the registry.
StatusOr<std::string> DestinationFromArn(std::string_view arn, std::string_view field,
                                         const model::Partition& p, const ResourceResolver& r) {
  auto parsed = model::ParseArn(arn);
  if (!parsed || parsed->service != "events" || parsed->type != "api-destination") {
    return Invalid(arn, field,
                   "Member must be the ARN of an API destination (other resource types are not "
                   "supported by Bridgeport)");
  }
  std::string name = parsed->rest.substr(0, parsed->rest.find('/'));
  std::string actual = r.destination_arn(name);
  if (parsed->region != p.region || parsed->account != p.account || actual.empty() ||
      actual != arn) {
    return Status::Validation("API destination " + std::string(arn) + " does not exist.");
  }
  return name;
}

Status CompileSource(const json::object& pipe, const model::Partition& p, const ResourceResolver& r,
                     PipePlan& plan) {
  BP_ASSIGN_OR_RETURN(auto source, Str(pipe, "Source", "source"));
  if (!source || source->empty()) return Invalid("null", "source", "Member must not be null");
  auto parsed = model::ParseArn(*source);
  if (!parsed || parsed->service != "sqs") {
    return Invalid(*source, "source",
                   "Member must be the ARN of an SQS queue (Bridgeport pipes read only its own "
                   "queues)");
  }
  if (parsed->region != p.region || parsed->account != p.account ||
      !r.queue_exists(parsed->resource)) {
    return Status::Validation("Source queue " + *source + " does not exist.");
  }
  plan.source_arn = *source;
  plan.source_queue = parsed->resource;
  BP_ASSIGN_OR_RETURN(const json::object* sp, Obj(pipe, "SourceParameters", "sourceParameters"));
  if (!sp) return Status::Ok();
  BP_RETURN_IF_ERROR(OnlyMembers(*sp, {"FilterCriteria", "SqsQueueParameters"}, "sourceParameters",
                                 "an SQS source takes FilterCriteria and SqsQueueParameters"));
  BP_ASSIGN_OR_RETURN(const json::object* sqs,
                      Obj(*sp, "SqsQueueParameters", "sourceParameters.sqsQueueParameters"));
  if (sqs) {
    const std::string f = "sourceParameters.sqsQueueParameters.";
    BP_ASSIGN_OR_RETURN(auto batch, Int(*sqs, "BatchSize", f + "batchSize"));
    BP_ASSIGN_OR_RETURN(auto window, Int(*sqs, "MaximumBatchingWindowInSeconds",
                                         f + "maximumBatchingWindowInSeconds"));
    if (batch && (*batch < 1 || *batch > 10000)) {
      return Invalid(std::to_string(*batch), f + "batchSize",
                     "Member must have value between 1 and 10000");
    }
    if (window && (*window < 0 || *window > 300)) {
      return Invalid(std::to_string(*window), f + "maximumBatchingWindowInSeconds",
                     "Member must have value between 0 and 300");
    }
    if (batch) plan.batch_size = static_cast<int>(*batch);
    if (window) plan.window_seconds = static_cast<int>(*window);
    if (plan.batch_size > 10 && plan.window_seconds < 1) {
      return Status::Validation(
          "1 validation error detected: Value '" + std::to_string(plan.batch_size) + "' at '" + f +
          "batchSize' failed to satisfy constraint: A BatchSize greater than 10 requires "
          "MaximumBatchingWindowInSeconds of at least 1");
    }
  }
  BP_ASSIGN_OR_RETURN(const json::object* fc,
                      Obj(*sp, "FilterCriteria", "sourceParameters.filterCriteria"));
  if (!fc) return Status::Ok();
  auto it = fc->find("Filters");
  if (it == fc->end() || it->value().is_null()) return Status::Ok();
  if (!it->value().is_array() || it->value().as_array().size() > 5) {
    return Invalid("", "sourceParameters.filterCriteria.filters",
                   "Member must be a list of at most 5 filters");
  }
  pattern::MatcherBuilder builder;
  uint32_t id = 0;
  for (const auto& f : it->value().as_array()) {
    std::string field =
        "sourceParameters.filterCriteria.filters." + std::to_string(id + 1) + ".member.pattern";
    const json::object* fo = f.if_object();
    if (!fo) return Invalid("", field, "Member must be a structure");
    BP_ASSIGN_OR_RETURN(auto pat, Str(*fo, "Pattern", field));
    if (!pat) continue;
    if (pat->size() > 4096) {
      return Invalid(*pat, field, "Member must have length less than or equal to 4096");
    }
    auto compiled = pattern::CompilePattern(*pat);
    if (!compiled.ok()) {
      return Status::Validation("1 validation error detected: Value at '" + field +
                                "' failed to satisfy constraint: Invalid filter pattern "
                                "definition. " +
                                compiled.status().message());
    }
    BP_RETURN_IF_ERROR(builder.Add(id++, *compiled));
  }
  if (id > 0) plan.filter = builder.Build();
  return Status::Ok();
}

Status CompileEnrichment(const json::object& pipe, const model::Partition& p,
                         const ResourceResolver& r, PipePlan& plan) {
  BP_ASSIGN_OR_RETURN(auto enrichment, Str(pipe, "Enrichment", "enrichment"));
  if (enrichment && !enrichment->empty()) {
    BP_ASSIGN_OR_RETURN(plan.enrichment_destination,
                        DestinationFromArn(*enrichment, "enrichment", p, r));
    plan.enrichment_arn = *enrichment;
  }
  BP_ASSIGN_OR_RETURN(const json::object* ep,
                      Obj(pipe, "EnrichmentParameters", "enrichmentParameters"));
  if (!ep) return Status::Ok();
  BP_RETURN_IF_ERROR(OnlyMembers(*ep, {"InputTemplate", "HttpParameters"}, "enrichmentParameters",
                                 "EnrichmentParameters has InputTemplate and HttpParameters"));
  BP_ASSIGN_OR_RETURN(auto tpl, Str(*ep, "InputTemplate", "enrichmentParameters.inputTemplate"));
  if (tpl && !tpl->empty()) {
    BP_RETURN_IF_ERROR(ValidateInputTemplate(*tpl, "enrichmentParameters.inputTemplate"));
    plan.enrichment_template = *tpl;
  }
  BP_ASSIGN_OR_RETURN(const json::object* hp,
                      Obj(*ep, "HttpParameters", "enrichmentParameters.httpParameters"));
  if (hp) {
    BP_RETURN_IF_ERROR(CheckHttpParameters(*hp, "enrichmentParameters.httpParameters"));
    plan.enrichment_http_json = json::serialize(*hp);
  }
  return Status::Ok();
}

Status CompileBusParameters(const json::object& bp, PipePlan& plan) {
  const std::string f = "targetParameters.eventBridgeEventBusParameters.";
  BP_RETURN_IF_ERROR(OnlyMembers(bp, {"EndpointId", "DetailType", "Source", "Resources", "Time"},
                                 "targetParameters.eventBridgeEventBusParameters",
                                 "unknown member"));
  BP_ASSIGN_OR_RETURN(auto source, Str(bp, "Source", f + "source"));
  if (source) {
    if (source->empty() || source->size() > 256 || source->starts_with("aws.")) {
      return Invalid(*source, f + "source",
                     "Member must have length between 1 and 256 and must not start with aws.");
    }
    plan.bus_source = *source;
  }
  BP_ASSIGN_OR_RETURN(auto dt, Str(bp, "DetailType", f + "detailType"));
  if (dt) {
    if (dt->empty() || dt->size() > 128) {
      return Invalid(*dt, f + "detailType", "Member must have length between 1 and 128");
    }
    plan.bus_detail_type = *dt;
  }
  BP_ASSIGN_OR_RETURN(auto time, Str(bp, "Time", f + "time"));
  if (time) {
    if (!transform::JsonPath::Parse(*time).ok()) {
      return Invalid(*time, f + "time", "Member must be a JSON path");
    }
    plan.bus_time_path = *time;
  }
  if (auto it = bp.find("Resources"); it != bp.end() && !it->value().is_null()) {
    if (!it->value().is_array() || it->value().as_array().size() > 10) {
      return Invalid("", f + "resources", "Member must be a list of at most 10 ARNs or paths");
    }
    for (const auto& v : it->value().as_array()) {
      if (!v.is_string()) return Invalid("", f + "resources", "Member must be a string");
      plan.bus_resources.emplace_back(v.as_string());
    }
  }
  return Status::Ok();
}

Status CompileTarget(const json::object& pipe, const model::Partition& p, const ResourceResolver& r,
                     PipePlan& plan) {
  BP_ASSIGN_OR_RETURN(auto target, Str(pipe, "Target", "target"));
  if (!target || target->empty()) return Invalid("null", "target", "Member must not be null");
  auto parsed = model::ParseArn(*target);
  plan.target_arn = *target;
  if (parsed && parsed->service == "events" && parsed->type == "api-destination") {
    plan.target_kind = TargetKind::kApiDestination;
    BP_ASSIGN_OR_RETURN(plan.target_resource, DestinationFromArn(*target, "target", p, r));
  } else if (parsed && parsed->service == "events" && parsed->type == "event-bus") {
    plan.target_kind = TargetKind::kEventBus;
    plan.target_resource = parsed->rest;
    if (parsed->region != p.region || parsed->account != p.account || !r.bus_exists(parsed->rest)) {
      return Status::Validation("Event bus " + *target + " does not exist.");
    }
  } else if (parsed && parsed->service == "sqs") {
    plan.target_kind = TargetKind::kQueue;
    plan.target_resource = parsed->resource;
    if (parsed->region != p.region || parsed->account != p.account ||
        !r.queue_exists(parsed->resource)) {
      return Status::Validation("Target queue " + *target + " does not exist.");
    }
  } else {
    return Invalid(*target, "target",
                   "Member must be the ARN of an API destination, an event bus or an SQS queue "
                   "(other target types are not supported by Bridgeport)");
  }
  BP_ASSIGN_OR_RETURN(const json::object* tp, Obj(pipe, "TargetParameters", "targetParameters"));
  if (!tp) return Status::Ok();
  std::string_view specific = plan.target_kind == TargetKind::kApiDestination ? "HttpParameters"
                              : plan.target_kind == TargetKind::kEventBus
                                  ? "EventBridgeEventBusParameters"
                                  : "SqsQueueParameters";
  BP_RETURN_IF_ERROR(OnlyMembers(*tp, {"InputTemplate", specific}, "targetParameters",
                                 "it does not apply to this target type"));
  BP_ASSIGN_OR_RETURN(auto tpl, Str(*tp, "InputTemplate", "targetParameters.inputTemplate"));
  if (tpl && !tpl->empty()) {
    BP_RETURN_IF_ERROR(ValidateInputTemplate(*tpl, "targetParameters.inputTemplate"));
    plan.target_template = *tpl;
  }
  BP_ASSIGN_OR_RETURN(const json::object* hp,
                      Obj(*tp, "HttpParameters", "targetParameters.httpParameters"));
  if (hp) {
    BP_RETURN_IF_ERROR(CheckHttpParameters(*hp, "targetParameters.httpParameters"));
    plan.target_http_json = json::serialize(*hp);
  }
  BP_ASSIGN_OR_RETURN(
      const json::object* bus,
      Obj(*tp, "EventBridgeEventBusParameters", "targetParameters.eventBridgeEventBusParameters"));
  if (bus) BP_RETURN_IF_ERROR(CompileBusParameters(*bus, plan));
  BP_ASSIGN_OR_RETURN(const json::object* sqs,
                      Obj(*tp, "SqsQueueParameters", "targetParameters.sqsQueueParameters"));
  if (sqs && !sqs->empty()) {
    return Status::Validation(
        "MessageGroupId and MessageDeduplicationId apply to FIFO queues, which Bridgeport does "
        "not support.");
  }
  return Status::Ok();
}

Status CompileCommon(const json::object& pipe, PipePlan& plan) {
  static const std::regex kRole(R"(arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role/?[a-zA-Z0-9+=,.@\-_/]+)");
  BP_ASSIGN_OR_RETURN(auto role, Str(pipe, "RoleArn", "roleArn"));
  if (!role) return Invalid("null", "roleArn", "Member must not be null");
  if (role->size() > 1600 || !std::regex_match(*role, kRole)) {
    return Invalid(*role, "roleArn",
                   "Member must satisfy regular expression pattern: "
                   "arn:(aws[a-zA-Z-]*)?:iam::\\d{12}:role/?[a-zA-Z0-9+=,.@\\-_/]+");
  }
  BP_ASSIGN_OR_RETURN(auto desc, Str(pipe, "Description", "description"));
  if (desc && desc->size() > 512) {
    return Invalid("***", "description", "Member must have length less than or equal to 512");
  }
  BP_ASSIGN_OR_RETURN(auto desired, Str(pipe, "DesiredState", "desiredState"));
  if (desired && *desired != "RUNNING" && *desired != "STOPPED") {
    return Invalid(*desired, "desiredState",
                   "Member must satisfy enum value set: [RUNNING, STOPPED]");
  }
  BP_ASSIGN_OR_RETURN(auto kms, Str(pipe, "KmsKeyIdentifier", "kmsKeyIdentifier"));
  if (kms && kms->size() > 2048) {
    return Invalid(*kms, "kmsKeyIdentifier", "Member must have length less than or equal to 2048");
  }
  BP_ASSIGN_OR_RETURN(const json::object* log, Obj(pipe, "LogConfiguration", "logConfiguration"));
  if (log) {
    BP_ASSIGN_OR_RETURN(auto level, Str(*log, "Level", "logConfiguration.level"));
    if (!level) return Invalid("null", "logConfiguration.level", "Member must not be null");
    if (*level != "OFF" && *level != "ERROR" && *level != "INFO" && *level != "TRACE") {
      return Invalid(*level, "logConfiguration.level",
                     "Member must satisfy enum value set: [OFF, ERROR, INFO, TRACE]");
    }
    plan.log_level = *level;
  }
  BP_ASSIGN_OR_RETURN(const json::object* tags, Obj(pipe, "Tags", "tags"));
  if (tags) {
    if (tags->size() > 50)
      return Invalid("", "tags", "Member must have length less than or equal to 50");
    for (const auto& kv : *tags) {
      if (kv.key().empty() || kv.key().size() > 128 || !kv.value().is_string() ||
          kv.value().as_string().size() > 256) {
        return Invalid(kv.key(), "tags",
                       "Map keys must have length 1 to 128 and values length 0 to 256");
      }
    }
  }
  return Status::Ok();
}

}  // namespace

std::string PipeArn(const model::Partition& p, std::string_view name) {
  return "arn:aws:pipes:" + p.region + ":" + p.account + ":pipe/" + std::string(name);
}

StatusOr<PipePlan> CompilePipe(const json::object& pipe, const model::Partition& partition,
                               const ResourceResolver& resolver) {
  static const std::regex kName(R"([\.\-_A-Za-z0-9]+)");
  PipePlan plan;
  BP_ASSIGN_OR_RETURN(auto name, Str(pipe, "Name", "name"));
  if (!name || name->empty() || name->size() > 64 || !std::regex_match(*name, kName)) {
    return Invalid(name ? *name : "", "name",
                   "Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+ and have "
                   "length between 1 and 64");
  }
  plan.name = *name;
  plan.arn = PipeArn(partition, *name);
  BP_RETURN_IF_ERROR(CompileCommon(pipe, plan));
  BP_RETURN_IF_ERROR(CompileSource(pipe, partition, resolver, plan));
  BP_RETURN_IF_ERROR(CompileEnrichment(pipe, partition, resolver, plan));
  BP_RETURN_IF_ERROR(CompileTarget(pipe, partition, resolver, plan));
  return plan;
}

json::object MergeUpdate(const json::object& stored, const json::object& update) {
  json::object out = stored;
  for (const auto& kv : update) {
    std::string_view k = kv.key();
    if (k == "Name" || k == "Source") continue;
    bool params = k == "SourceParameters" || k == "EnrichmentParameters" || k == "TargetParameters";
    if (params && kv.value().is_object() && out.contains(k) && out[k].is_object()) {
      json::object& dst = out[k].as_object();
      for (const auto& sub : kv.value().as_object()) dst[sub.key()] = sub.value();
      continue;
    }
    out[k] = kv.value();
  }
  if (auto it = out.find("Enrichment");
      it != out.end() && it->value().is_string() && it->value().as_string().empty()) {
    out.erase("Enrichment");
  }
  return out;
}

}  // namespace bp::pipes
