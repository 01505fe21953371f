// PutTargets: the parameter blocks of botocore's Target shape that belong to AWS target kinds
// Bridgeport does not deliver to (ECS, Batch, Kinesis, Run Command, Redshift, SageMaker, AppSync,
// FIFO queues). Their enum members are validated with AWS's wording first (a client that sends a
// wrong value learns that, as from AWS); then the block itself is refused, so nothing is stored
// that would silently never take effect.
#include <boost/json.hpp>

#include "model/validation.h"
#include "registry/registry_internal.h"

namespace bp::registry {

namespace json = boost::json;

namespace {

void CheckEnum(model::Validator& v, const json::object& o, std::string_view member,
               const std::string& field, std::initializer_list<std::string_view> allowed) {
  auto it = o.find(member);
  if (it == o.end() || !it->value().is_string()) return;
  v.Enum(field, it->value().as_string(), allowed);
}

// Enum members of EcsParameters (botocore: LaunchType, PropagateTags, AssignPublicIp,
// PlacementConstraintType, PlacementStrategyType).
void CheckEcsEnums(model::Validator& v, const json::object& ecs, const std::string& base) {
  CheckEnum(v, ecs, "LaunchType", base + "launchType", {"EC2", "FARGATE", "EXTERNAL"});
  CheckEnum(v, ecs, "PropagateTags", base + "propagateTags", {"TASK_DEFINITION"});
  if (auto nc = ecs.find("NetworkConfiguration"); nc != ecs.end() && nc->value().is_object()) {
    const auto& n = nc->value().as_object();
    if (auto vpc = n.find("awsvpcConfiguration"); vpc != n.end() && vpc->value().is_object()) {
      CheckEnum(v, vpc->value().as_object(), "AssignPublicIp",
                base + "networkConfiguration.awsvpcConfiguration.assignPublicIp",
                {"ENABLED", "DISABLED"});
    }
  }
  auto each = [&](std::string_view member, const std::string& field,
                  std::initializer_list<std::string_view> allowed) {
    auto it = ecs.find(member);
    if (it == ecs.end() || !it->value().is_array()) return;
    const auto& list = it->value().as_array();
    for (size_t i = 0; i < list.size(); ++i) {
      if (!list[i].is_object()) continue;
      CheckEnum(v, list[i].as_object(), "type",
                base + field + "." + std::to_string(i + 1) + ".member.type", allowed);
    }
  };
  each("PlacementConstraints", "placementConstraints", {"distinctInstance", "memberOf"});
  each("PlacementStrategy", "placementStrategy", {"random", "spread", "binpack"});
}

}  // namespace

Status ValidateTargetParameterBlocks(const json::object& target, size_t index) {
  const std::string base = "targets." + std::to_string(index + 1) + ".member.";
  model::Validator v;
  if (auto ecs = target.find("EcsParameters"); ecs != target.end() && ecs->value().is_object()) {
    CheckEcsEnums(v, ecs->value().as_object(), base + "ecsParameters.");
  }
  BP_RETURN_IF_ERROR(v.Finish());
  static constexpr std::string_view kUnsupported[] = {
      "EcsParameters",        "BatchParameters",        "KinesisParameters",
      "RunCommandParameters", "RedshiftDataParameters", "SageMakerPipelineParameters",
      "AppSyncParameters",    "SqsParameters"};
  for (std::string_view block : kUnsupported) {
    auto it = target.find(block);
    if (it == target.end() || it->value().is_null()) continue;
    std::string id = JsonString(target, "Id");
    if (block == "SqsParameters") {
      return Status::Validation("Parameter SqsParameters is not valid for target " + id +
                                ": MessageGroupId applies to FIFO queues, and Bridgeport queues "
                                "are standard queues.");
    }
    return Status::Validation("Parameter " + std::string(block) + " is not valid for target " + id +
                              ": it configures a target type Bridgeport does not deliver to "
                              "(targets are API destinations, queues and event buses).");
  }
  return Status::Ok();
}

}  // namespace bp::registry
