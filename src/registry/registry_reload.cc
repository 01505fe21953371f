// Registry::Reload: cluster nodes re-read the control plane after another node changed it.
#include <set>

#include "common/log.h"
#include "registry/registry_internal.h"

namespace bp::registry {

Status Registry::Reload() {
  std::vector<std::string> changed;
  ConnectionListener listener;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto old_buses = std::move(buses_);
    auto old_rules = std::move(rules_);
    auto old_connections = std::move(connections_);
    auto old_destinations = std::move(destinations_);
    auto old_tags = std::move(tags_);
    buses_.clear();
    rules_.clear();
    connections_.clear();
    destinations_.clear();
    tags_.clear();
    Status s = LoadLocked();
    if (!s.ok()) {
      // Keep serving the last good state; the next notification or version check retries.
      buses_ = std::move(old_buses);
      rules_ = std::move(old_rules);
      connections_ = std::move(old_connections);
      destinations_ = std::move(old_destinations);
      tags_ = std::move(old_tags);
      for (auto& [name, bus] : buses_) RebuildBus(name);
      for (auto& [name, c] : connections_) PublishConnection(name);
      for (auto& [name, d] : destinations_) PublishDestination(name);
      return s;
    }
    // LoadLocked published everything it found; withdraw what is gone.
    for (const auto& [name, bus] : old_buses) {
      if (!buses_.count(name)) RebuildBus(name);
    }
    for (const auto& [name, d] : old_destinations) {
      if (!destinations_.count(name)) RemovePublished("destination", name);
    }
    for (auto& [name, old] : old_connections) {
      auto it = connections_.find(name);
      if (it == connections_.end()) {
        RemovePublished("connection", name);
        changed.push_back(name);
        continue;
      }
      Connection& now = *it->second;
      // Generations keep counting across reloads, so an OAuth result computed for credentials
      // that changed meanwhile is still recognised as stale.
      if (now.data == old->data && now.secrets == old->secrets) {
        now.generation = old->generation;
      } else {
        now.generation = old->generation + 1;
        changed.push_back(name);
      }
      PublishConnection(name);
    }
    for (const auto& [name, c] : connections_) {
      if (!old_connections.count(name)) changed.push_back(name);
    }
    listener = connection_listener_;
  }
  if (listener) {
    for (const std::string& name : changed) listener(name);
  }
  return Status::Ok();
}

std::vector<std::shared_ptr<const TargetRoute>> Registry::AllTargets() const {
  std::shared_ptr<const Snapshot> snap;
  {
    std::lock_guard<std::mutex> lock(snapshot_mu_);
    snap = snapshot_;
  }
  std::vector<std::shared_ptr<const TargetRoute>> out;
  out.reserve(snap->targets.size());
  for (const auto& [key, target] : snap->targets) out.push_back(target);
  return out;
}

}  // namespace bp::registry
