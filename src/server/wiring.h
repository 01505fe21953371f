// The data plane of a server process: metrics, the HTTP client, OAuth token fetching, the
// delivery engine and PutEvents, wired together.
#pragma once

#include <boost/json/object.hpp>
#include <memory>
#include <string>

#include "api/events_api.h"
#include "cluster/cluster_node.h"
#include "common/status.h"
#include "egress/egress_policy.h"
#include "http/server.h"
#include "pipes/pipe_service.h"
#include "queue/queue_service.h"
#include "registry/registry.h"
#include "server/config.h"
#include "store/store.h"

namespace bp::server {

// PutTargets-time validation of a target's Input*/HttpParameters (transform module).
Status ValidateTargetInputJson(const boost::json::object& target);

// The egress policy from the configuration (SPEC §17); kValidation for a bad allow-list entry.
StatusOr<std::shared_ptr<egress::Policy>> MakeEgressPolicy(const Config& config);

class DataPlane {
 public:
  // Starts the delivery engine (recovering pending work) and registers PutEvents on `api`. With
  // `cluster` (cluster mode) attempts start only in lanes the node leases, and the node's
  // threads are started onto this data plane (call cluster->Leave() before Stop()).
  static StatusOr<std::unique_ptr<DataPlane>> Start(const Config& config, store::Store& store,
                                                    registry::Registry& registry,
                                                    queue::QueueService& queues,
                                                    api::EventsApi& api,
                                                    std::shared_ptr<const egress::Policy> egress,
                                                    cluster::ClusterNode* cluster = nullptr);
  virtual ~DataPlane() = default;
  virtual std::string MetricsText() = 0;
  virtual void HandleAdmin(http::Request&& req, http::Responder respond) = 0;
  // EventBridge Pipes (control plane and runners), started with the data plane.
  virtual pipes::PipeService& Pipes() = 0;
  // Stops the engine and the HTTP client; in-flight attempts end (their outcome is recorded or,
  // at worst, the attempt is repeated after restart).
  virtual void Stop() = 0;
};

}  // namespace bp::server
