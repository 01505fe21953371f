// AWS::SQS::*, AWS::SecretsManager::Secret, and the recorded no-op types (IAM, CDK metadata).
#include <boost/json.hpp>

#include "cfn/intrinsics.h"
#include "cfn/resource_types.h"
#include "queue/queue_errors.h"

namespace bp::cfn {

namespace json = boost::json;

namespace {

// Queue attributes CloudFormation sets, with the queue service's defaults (used when an update
// removes one from the template).
constexpr std::pair<std::string_view, std::string_view> kQueueAttributes[] = {
    {"DelaySeconds", "0"},
    {"MaximumMessageSize", "1048576"},
    {"MessageRetentionPeriod", "345600"},
    {"ReceiveMessageWaitTimeSeconds", "0"},
    {"VisibilityTimeout", "30"},
    {"RedrivePolicy", ""},
    {"RedriveAllowPolicy", ""},
};

// A queue error as a stack resource reports it: code and message, without the queue's error kind.
Status QueueStatus(const Status& s) {
  if (s.ok()) return s;
  return Status(s.code(), s.message());
}

// Template properties as SQS attribute strings. FifoQueue is passed on so the queue service
// refuses it with its own message.
queue::QueueAttributes QueueAttrs(const json::object& props, bool with_defaults) {
  queue::QueueAttributes out;
  for (const auto& [name, def] : kQueueAttributes) {
    const json::value* v = props.if_contains(name);
    if (v) {
      out[std::string(name)] = v->is_object() ? json::serialize(*v) : ScalarText(*v);
    } else if (with_defaults) {
      out[std::string(name)] = std::string(def);
    }
  }
  if (const json::value* f = props.if_contains("FifoQueue")) out["FifoQueue"] = ScalarText(*f);
  return out;
}

StatusOr<Physical> CreateQueue(const ProviderEnv& env, const std::string& name,
                               const json::object& props) {
  auto url = env.queues->CreateQueue(name, QueueAttrs(props, false), env.base_url);
  if (!url.ok()) return QueueStatus(url.status());
  Physical p;
  p.ref = *url;
  p.attributes["Arn"] = env.queues->QueueArn(name);
  p.attributes["QueueName"] = name;
  p.attributes["QueueUrl"] = *url;
  p.state["Name"] = name;
  return p;
}

StatusOr<Physical> UpdateQueue(const ProviderEnv& env, const Physical& cur, const json::object&,
                               const json::object& props) {
  queue::QueueAttributes attrs = QueueAttrs(props, true);
  attrs.erase("FifoQueue");
  BP_RETURN_IF_ERROR(
      QueueStatus(env.queues->SetQueueAttributes(PropString(cur.state, "Name"), attrs)));
  return cur;
}

Status DeleteQueue(const ProviderEnv& env, const Physical& cur) {
  std::string name = PropString(cur.state, "Name");
  if (name.empty()) name = cur.ref.substr(cur.ref.rfind('/') + 1);
  Status s = env.queues->DeleteQueue(name);
  if (!s.ok() && queue::ErrorKindOf(s) == queue::ErrorKind::kQueueDoesNotExist) return Status::Ok();
  return QueueStatus(s);
}

// ---- AWS::SecretsManager::Secret ----
StatusOr<std::string> SecretValue(const json::object& props) {
  const json::value* gen = props.if_contains("GenerateSecretString");
  if (!gen) return PropString(props, "SecretString");
  if (props.contains("SecretString")) {
    return Status::Validation("SecretString and GenerateSecretString cannot both be set.");
  }
  if (!gen->is_object()) return Status::Validation("GenerateSecretString must be an object.");
  const json::object& g = gen->as_object();
  BP_ASSIGN_OR_RETURN(secrets::PasswordOptions opts, secrets::ParsePasswordOptions(g));
  BP_ASSIGN_OR_RETURN(std::string password, secrets::GeneratePassword(opts));
  std::string tmpl = PropString(g, "SecretStringTemplate");
  std::string key = PropString(g, "GenerateStringKey");
  if (tmpl.empty() != key.empty()) {
    return Status::Validation(
        "GenerateSecretString needs both SecretStringTemplate and GenerateStringKey, or neither.");
  }
  if (tmpl.empty()) return password;
  json::error_code ec;
  json::value t = json::parse(tmpl, ec);
  if (ec || !t.is_object()) {
    return Status::Validation("SecretStringTemplate must be a JSON object.");
  }
  t.as_object()[key] = password;
  return json::serialize(t);
}

StatusOr<Physical> CreateSecret(const ProviderEnv& env, const std::string& name,
                                const json::object& props) {
  json::object in = Pick(props, {"Description", "KmsKeyId", "Tags"});
  in["Name"] = name;
  BP_ASSIGN_OR_RETURN(std::string value, SecretValue(props));
  in["SecretString"] = value;
  BP_ASSIGN_OR_RETURN(json::object r, env.secrets->CreateSecret(in));
  Physical p;
  p.ref = PropString(r, "ARN");
  p.attributes["Id"] = p.ref;
  p.state["Name"] = name;
  return p;
}

StatusOr<Physical> UpdateSecret(const ProviderEnv& env, const Physical& cur,
                                const json::object& old_props, const json::object& props) {
  json::object in = Pick(props, {"Description", "KmsKeyId"});
  in["SecretId"] = cur.ref;
  const json::value* old_gen = old_props.if_contains("GenerateSecretString");
  const json::value* new_gen = props.if_contains("GenerateSecretString");
  bool value_changed = PropString(old_props, "SecretString") != PropString(props, "SecretString") ||
                       (old_gen == nullptr) != (new_gen == nullptr) ||
                       (old_gen && new_gen && *old_gen != *new_gen);
  if (value_changed) {
    BP_ASSIGN_OR_RETURN(std::string value, SecretValue(props));
    in["SecretString"] = value;
  }
  BP_ASSIGN_OR_RETURN(json::object r, env.secrets->UpdateSecret(in));
  return cur;
}

Status DeleteSecret(const ProviderEnv& env, const Physical& cur) {
  // Stack deletion removes the secret at once (no recovery window), so a redeploy can reuse the
  // name.
  auto r = env.secrets->DeleteSecret({{"SecretId", cur.ref}, {"ForceDeleteWithoutRecovery", true}});
  if (r.ok() || r.status().code() == StatusCode::kNotFound) return Status::Ok();
  return r.status();
}

}  // namespace

void AddOtherTypes(std::vector<ResourceType>& out) {
  out.push_back({.type = "AWS::SQS::Queue",
                 .name_property = "QueueName",
                 .name_max = 80,
                 .replace_on = {"QueueName", "FifoQueue"},
                 .create = CreateQueue,
                 .update = UpdateQueue,
                 .remove = DeleteQueue});
  out.push_back({.type = "AWS::SecretsManager::Secret",
                 .name_property = "Name",
                 .name_max = 512,
                 .replace_on = {"Name"},
                 .create = CreateSecret,
                 .update = UpdateSecret,
                 .remove = DeleteSecret});
  // Recorded, not enforced: Bridgeport has no IAM and does not evaluate queue policies.
  out.push_back(RecordedType("AWS::SQS::QueuePolicy", "sqs", "policy", false));
  ResourceType role = RecordedType("AWS::IAM::Role", "iam", "role", true);
  role.name_property = "RoleName";
  out.push_back(role);
  ResourceType policy = RecordedType("AWS::IAM::Policy", "iam", "policy", true);
  out.push_back(policy);
  ResourceType managed = RecordedType("AWS::IAM::ManagedPolicy", "iam", "policy", true);
  managed.name_property = "ManagedPolicyName";
  managed.create = [](const ProviderEnv& env, const std::string& name,
                      const json::object&) -> StatusOr<Physical> {
    Physical p;
    p.ref = "arn:aws:iam::" + env.account + ":policy/" + name;
    p.attributes["PolicyArn"] = p.ref;
    p.attributes["PolicyId"] = name;
    return p;
  };
  out.push_back(managed);
  out.push_back(RecordedType("AWS::CDK::Metadata", "cloudformation", "metadata", false));
}

}  // namespace bp::cfn
