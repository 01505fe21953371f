// Cluster membership, lane leases and change feeds for nodes sharing one PostgreSQL database.
//
// Leases: every lane (API destination, queue, bus: "api/NAME", "sqs/ARN", "bus/NAME") has a row
// in bp_leases with an owner and an expiry on the database's clock. Each heartbeat (lease/3) a
// node renews its node row, computes the lane's rightful owner among the live nodes by
// rendezvous hashing, renews the leases it should hold, takes expired ones it should hold, and
// gives up the ones that now belong to another node. Attempts start only while MayStart(lane):
//   * a node stops starting at (send time of its last successful renewal) + lease − skew
//     allowance on its monotonic clock, i.e. before the database can consider the lease expired;
//   * a node that takes a lane from another owner starts nothing before the previous expiry +
//     1 s + skew allowance, so no 1-second window sees starts by two nodes.
//
// Feeds (listener thread, its own connection): NOTIFY bp_control and a version check every
// 500 ms → control_changed; NOTIFY bp_tasks and a poll every 500 ms read bp_task_feed (tasks
// committed by any node) → tasks_committed. After a lost connection both are re-run in full.
//
// Threads: a lease thread and a listener thread; MayStart/Owns are thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"

namespace bp::cluster {

struct ClusterOptions {
  std::string url;
  std::string node_id;
  int lease_ms = 3000;
  int skew_allowance_ms = 500;
};

struct ClusterHooks {
  // Another node (or this one) changed the control plane.
  std::function<void()> control_changed;
  // Tasks committed by other nodes: (store key, encoded task). Empty `rescan`: the feed may have
  // been missed; re-read the owned lanes in full (lanes_acquired with every owned lane).
  std::function<void(std::vector<std::pair<std::string, std::string>> tasks)> tasks_committed;
  // Every lane the control plane currently delivers through.
  std::function<std::vector<std::string>()> lanes;
  // This node now holds these lanes (attempts start once MayStart says so). An error (their
  // stored tasks could not be read) gives them up locally: they are not owned until a later
  // heartbeat acquires them again and this hook succeeds, so no lane is held without its tasks.
  std::function<Status(const std::vector<std::string>& lanes)> lanes_acquired;
  // This node no longer holds this lane.
  std::function<void(const std::string& lane)> lane_released;
  // Ownership or a start wait changed: re-evaluate MayStart.
  std::function<void()> wake;
};

class ClusterNode {
 public:
  // Registers the node (claiming a free slot 0..255 under a table lock).
  static StatusOr<std::unique_ptr<ClusterNode>> Join(ClusterOptions options);
  virtual ~ClusterNode() = default;

  // The node's slot: task sequence numbers of this node are ≡ slot (mod kSlots).
  static constexpr int kSlots = 256;
  virtual int slot() const = 0;
  virtual const std::string& node_id() const = 0;

  // Starts the lease and listener threads.
  virtual void Run(ClusterHooks hooks) = 0;
  // `lane` is this node's: its lease was taken and not given up (possibly still waiting to start,
  // or renewal overdue). Work for it is kept; lane_released is called when that ends.
  virtual bool Owns(const std::string& lane) const = 0;
  // This node may start attempts in `lane` now.
  virtual bool MayStart(const std::string& lane) const = 0;
  // Ingest saw a task for `lane`, which this node does not hold. If no target delivers through
  // the lane any more (removed meanwhile), this node takes the lane like an orphan so that its
  // engine cancels the task; otherwise the lane's rightful owner delivers it.
  virtual void NoteLane(const std::string& lane) = 0;
  // Stops the threads, gives up every lease (expiring it now) and leaves the node table.
  virtual void Leave() = 0;
};

// The rendezvous (highest random weight) owner of `lane` among `nodes` (empty if none).
std::string RendezvousOwner(const std::vector<std::string>& nodes, const std::string& lane);

}  // namespace bp::cluster
