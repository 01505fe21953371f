// The control plane: event buses, rules, targets, connections, API destinations and tags.
//
// Each operation takes the decoded AWS request object and returns the AWS response object, so the
// api/ layer stays a thin table. Every change is written to the store (fsynced) before it becomes
// visible, and then published as new immutable routing snapshots for the data plane.
//
// Thread-safety: all methods are thread-safe. Mutations are serialised by one mutex; snapshot
// readers (Routes, FindTarget, FindDestination, FindConnection) never wait for a mutation's fsync.
#pragma once

#include <boost/json/object.hpp>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>

#include "common/clock.h"
#include "common/status.h"
#include "model/arn.h"
#include "registry/routing.h"
#include "store/store.h"

namespace bp::pattern {
class Pattern;
}

namespace bp::registry {

struct Limits {
  int max_buses = 100;
  int max_rules_per_bus = 300;
  int max_targets_per_rule = 5;
  int max_connections = 3000;
  int max_destinations = 3000;
  int max_tags = 50;
  int max_pattern_length = 2048;
};

// Seals/opens secret blobs (AES-GCM in production). `aad` binds a blob to its resource.
struct SecretSealer {
  std::function<std::string(std::string_view plaintext, std::string_view aad)> seal;
  std::function<StatusOr<std::string>(std::string_view sealed, std::string_view aad)> open;
};

struct RegistryOptions {
  model::Partition partition{"us-east-1", "000000000000"};
  Limits limits;
  bool allow_http_endpoints = true;  // http:// destinations (loopback dev mode or by config)
  // Validates a target's Input/InputPath/InputTransformer/HttpParameters (transform module).
  std::function<Status(const boost::json::object& target)> validate_target_input;
  // Queue existence for SQS targets and dead-letter queues (queue module).
  std::function<bool(std::string_view queue_arn)> queue_exists;
  // Validates a PutRule ScheduleExpression (schedule module); null: schedules are refused.
  std::function<Status(std::string_view expression)> validate_schedule;
  // Egress policy for InvocationEndpoint and AuthorizationEndpoint (SPEC §17): the reason a URL
  // is refused when it is saved (a literal denied address, a metadata host name), or nullopt.
  std::function<std::optional<std::string>(std::string_view url)> egress_refusal;
};

// Called after a connection's credentials or state change (the auth runtime listens).
using ConnectionListener = std::function<void(const std::string& connection_name)>;

class Registry {
 public:
  using Json = boost::json::object;

  static StatusOr<std::unique_ptr<Registry>> Open(store::Store& store, const Clock& clock,
                                                  RegistryOptions options, SecretSealer sealer);
  ~Registry();

  // Event buses.
  StatusOr<Json> CreateEventBus(const Json& in);
  StatusOr<Json> DescribeEventBus(const Json& in);
  StatusOr<Json> ListEventBuses(const Json& in);
  StatusOr<Json> DeleteEventBus(const Json& in);
  StatusOr<Json> UpdateEventBus(const Json& in);
  // Rules.
  StatusOr<Json> PutRule(const Json& in);
  StatusOr<Json> DescribeRule(const Json& in);
  StatusOr<Json> ListRules(const Json& in);
  StatusOr<Json> DeleteRule(const Json& in);
  StatusOr<Json> EnableRule(const Json& in);
  StatusOr<Json> DisableRule(const Json& in);
  StatusOr<Json> ListRuleNamesByTarget(const Json& in);
  // Targets.
  StatusOr<Json> PutTargets(const Json& in);
  StatusOr<Json> RemoveTargets(const Json& in);
  StatusOr<Json> ListTargetsByRule(const Json& in);
  // Connections.
  StatusOr<Json> CreateConnection(const Json& in);
  StatusOr<Json> UpdateConnection(const Json& in);
  StatusOr<Json> DescribeConnection(const Json& in);
  StatusOr<Json> ListConnections(const Json& in);
  StatusOr<Json> DeleteConnection(const Json& in);
  StatusOr<Json> DeauthorizeConnection(const Json& in);
  // API destinations.
  StatusOr<Json> CreateApiDestination(const Json& in);
  StatusOr<Json> UpdateApiDestination(const Json& in);
  StatusOr<Json> DescribeApiDestination(const Json& in);
  StatusOr<Json> ListApiDestinations(const Json& in);
  StatusOr<Json> DeleteApiDestination(const Json& in);
  // Tags.
  StatusOr<Json> TagResource(const Json& in);
  StatusOr<Json> UntagResource(const Json& in);
  StatusOr<Json> ListTagsForResource(const Json& in);
  // Bus permissions (registry_permissions.cc): the bus record's "Policy" document.
  StatusOr<Json> PutPermission(const Json& in);
  StatusOr<Json> RemovePermission(const Json& in);

  // --- data plane ---
  // The routes of a bus (null if the bus does not exist).
  std::shared_ptr<const BusRoutes> Routes(std::string_view bus) const;
  std::shared_ptr<const TargetRoute> FindTarget(std::string_view bus, std::string_view rule,
                                                std::string_view target_id) const;
  std::shared_ptr<const DestinationView> FindDestination(std::string_view name) const;
  std::shared_ptr<const ConnectionView> FindConnection(std::string_view name) const;
  bool BusExists(std::string_view bus) const;
  // Every target of every rule (cluster mode: the lanes to lease).
  std::vector<std::shared_ptr<const TargetRoute>> AllTargets() const;

  // Connection state changes made by the auth runtime (OAuth token fetched / permanently failed).
  Status SetConnectionState(const std::string& name, ConnectionState state, std::string reason,
                            uint64_t expected_generation);
  void SetConnectionListener(ConnectionListener listener);
  // Cluster mode: re-reads the whole control plane from the store (another node changed it) and
  // republishes every snapshot; the connection listener hears about connections that changed or
  // vanished. Local mutations wait while it runs. A failed read keeps the current state.
  Status Reload();
  std::vector<std::string> ConnectionNames() const;

  const model::Partition& partition() const { return options_.partition; }

 private:
  struct Rule;
  struct Connection;
  struct Destination;
  struct Snapshot;

  Registry(store::Store& store, const Clock& clock, RegistryOptions options, SecretSealer sealer);
  Status Load();
  Status LoadLocked();  // callers hold mu_
  // LoadLocked's steps, one per record family (callers hold mu_). LoadBuses also creates the
  // default bus when the store has none.
  Status LoadBuses();
  Status LoadRules();
  Status LoadConnections();
  Status LoadDestinations();
  Status LoadTags();

  // Callers hold mu_.
  Status Commit(store::WriteBatch batch);
  void RebuildBus(const std::string& bus);
  void PublishConnection(const std::string& name);
  void PublishDestination(const std::string& name);
  void RemovePublished(std::string_view kind, const std::string& name);
  StatusOr<std::string> ResolveBus(const Json& in, std::string_view member, bool must_exist) const;
  Rule* FindRule(const std::string& bus, const std::string& name);
  // PutRule: writes `rule` (its ARN's tags merged with `tags`) and publishes its bus's routes.
  Status StoreRule(const std::string& bus, const std::string& name, std::unique_ptr<Rule> rule,
                   const boost::json::array* tags);
  StatusOr<Json> SetRuleState(const Json& in, bool enabled);
  Status ValidateSchedule(const std::optional<std::string>& schedule) const;
  // Resolves a NonPartnerEventBusName member of PutPermission/RemovePermission (must exist).
  StatusOr<std::string> PermissionBus(const Json& in) const;
  // Stores `policy` (empty: none) as the bus's policy and republishes its routes.
  Status SetBusPolicy(const std::string& bus, const std::string& policy);
  Status ValidateTarget(const Json& target, const std::string& bus, std::string* error_code);
  std::string TagsKey(std::string_view arn) const;
  bool ArnExists(std::string_view arn) const;
  std::map<std::string, std::string> TagsOf(const std::string& arn) const;
  Json ConnectionPublic(const Connection& c, bool full) const;
  Json DestinationPublic(const Destination& d, bool full) const;
  std::string DestinationState(const Destination& d) const;
  StatusOr<Json> ConnectionSummary(const Connection& c) const;
  Status ParseAuthParameters(const Json& in, const std::string& type, bool update, Connection& c,
                             std::vector<std::string>* reauthorize);
  std::shared_ptr<const ConnectionView> BuildConnectionView(const Connection& c) const;
  // The stored record of a connection (secrets sealed).
  std::string StoredConnection(const Connection& c) const;

  store::Store& store_;
  const Clock& clock_;
  const RegistryOptions options_;
  const SecretSealer sealer_;

  mutable std::mutex mu_;              // serialises mutations and guards the maps below
  std::map<std::string, Json> buses_;  // GUARDED_BY(mu_)
  std::map<std::pair<std::string, std::string>, std::unique_ptr<Rule>> rules_;  // GUARDED_BY(mu_)
  std::map<std::string, std::unique_ptr<Connection>> connections_;              // GUARDED_BY(mu_)
  std::map<std::string, std::unique_ptr<Destination>> destinations_;            // GUARDED_BY(mu_)
  std::map<std::string, std::map<std::string, std::string>> tags_;              // GUARDED_BY(mu_)
  ConnectionListener connection_listener_;                                      // GUARDED_BY(mu_)

  mutable std::mutex snapshot_mu_;  // guards only the pointer swap below
  std::shared_ptr<const Snapshot> snapshot_;
};

}  // namespace bp::registry
