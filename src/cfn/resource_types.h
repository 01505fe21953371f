// Resource types a stack can hold: how each is created, updated, replaced and deleted through the
// ordinary control-plane calls (the EventBridge handler table, the queue service, the secret
// store), and the Ref/Fn::GetAtt values it exposes.
//
// Threads: providers run on the stack engine's worker thread and block on each call.
#pragma once

#include <boost/json.hpp>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "api/events_api.h"
#include "common/status.h"
#include "queue/queue_service.h"
#include "secrets/secret_store.h"

namespace bp::pipes {
class PipeService;
}

namespace bp::cfn {

struct ProviderEnv {
  const api::EventsApi* events = nullptr;
  queue::QueueService* queues = nullptr;
  secrets::SecretStore* secrets = nullptr;
  pipes::PipeService* pipes = nullptr;  // null: AWS::Pipes::Pipe fails with a clear reason
  std::string region, account;
  std::string base_url;  // "{scheme}://{host}" for queue URLs
};

// What a created resource is: Ref value plus Fn::GetAtt attributes. `state` keeps whatever the
// provider needs to update/delete it later (names, bus), and is persisted with the stack.
struct Physical {
  std::string ref;
  boost::json::object attributes;
  boost::json::object state;
};

using CreateFn = std::function<StatusOr<Physical>(const ProviderEnv&, const std::string& name,
                                                  const boost::json::object& props)>;
using UpdateFn = std::function<StatusOr<Physical>(const ProviderEnv&, const Physical& current,
                                                  const boost::json::object& old_props,
                                                  const boost::json::object& new_props)>;
using DeleteFn = std::function<Status(const ProviderEnv&, const Physical& current)>;

struct ResourceType {
  std::string type;
  // Property holding the physical name (empty: the resource has no name). When the template
  // leaves it out, the engine generates "{stack}-{logicalId}-{random}" cut to name_max.
  std::string name_property;
  size_t name_max = 64;
  // A change to any of these properties replaces the resource (create new, delete old).
  std::vector<std::string> replace_on;
  bool iam = false;            // needs CAPABILITY_IAM (CAPABILITY_NAMED_IAM when named)
  bool any_attribute = false;  // unknown Fn::GetAtt names resolve to placeholders (no-op types)
  CreateFn create;
  UpdateFn update;  // empty: every change replaces
  DeleteFn remove;
};

// The built-in types plus one recorded no-op type per entry of `noop_types`.
std::vector<ResourceType> BuiltinResourceTypes(const std::set<std::string>& noop_types);

// Pieces shared by the provider files.
StatusOr<boost::json::object> CallEvents(const ProviderEnv& env, std::string_view op,
                                         const boost::json::object& input);
// Copies the listed members of `from` that are present.
boost::json::object Pick(const boost::json::object& from,
                         std::initializer_list<std::string_view> members);
std::string PropString(const boost::json::object& props, std::string_view key);
// A no-op type: nothing is created; Ref is the name, Arn a placeholder.
ResourceType RecordedType(std::string type, std::string arn_service, std::string arn_kind,
                          bool iam);
void AddEventsTypes(std::vector<ResourceType>& out);
void AddOtherTypes(std::vector<ResourceType>& out);
// AWS::Pipes::Pipe and AWS::Events::EventBusPolicy.
void AddPipeTypes(std::vector<ResourceType>& out);

}  // namespace bp::cfn
