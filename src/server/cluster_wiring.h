// Cluster mode glue: a ClusterNode's hooks connected to the registry, the store and the delivery
// engine, and the engine as ingest sees it (new tasks only for lanes this node holds; the owner
// of any other lane picks them up from the task feed).
#pragma once

#include <memory>

#include "cluster/cluster_node.h"
#include "delivery/engine.h"
#include "registry/registry.h"
#include "store/store.h"

namespace bp::server {

// Starts `node`'s threads with hooks onto the other parts. All references must outlive the node's
// Leave().
void RunClusterNode(cluster::ClusterNode& node, store::Store& store, registry::Registry& registry,
                    delivery::DeliveryEngine& engine);

// The engine for ingest on a cluster node: forwards everything, but Enqueue keeps only tasks of
// lanes this node holds.
std::unique_ptr<delivery::DeliveryEngine> OwnedLanesEngine(cluster::ClusterNode& node,
                                                           delivery::DeliveryEngine& engine);

}  // namespace bp::server
