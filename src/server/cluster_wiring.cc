#include "server/cluster_wiring.h"

#include <map>
#include <set>

#include "common/log.h"
#include "tasks/task_record.h"

namespace bp::server {

namespace {

// The NewTask for a stored task, or nullopt if its target is gone (the owner cancels it).
std::optional<tasks::NewTask> ToNewTask(registry::Registry& registry, std::string_view key,
                                        std::string_view value, std::string* lane) {
  auto seq = tasks::SeqFromTaskKey(key);
  auto task = tasks::DecodeTask(value, /*with_event=*/false);
  if (!seq || !task) return std::nullopt;
  auto target = registry.FindTarget(task->bus, task->rule, task->target_id);
  if (!target) return std::nullopt;
  tasks::NewTask t;
  t.seq = *seq;
  t.lane = tasks::LaneFor(*target);
  t.ingestion_ms = task->ingestion_ms;
  t.due_ms = task->due_ms;
  t.max_age_s = static_cast<int32_t>(target->max_event_age_seconds);
  *lane = t.lane;
  return t;
}

// Reads every stored task of `lanes` and hands each lane to the engine (DropLane first, so that
// what the engine keeps is exactly what the store holds plus what arrives meanwhile). If the
// store cannot be read the lanes stay dropped and the error goes back to the cluster node,
// which gives them up and takes them again later: adopting a lane with only some of its tasks
// would leave the rest undelivered until a restart.
Status AdoptLanes(store::Store& store, registry::Registry& registry,
                  delivery::DeliveryEngine& engine, const std::vector<std::string>& lanes) {
  for (const std::string& l : lanes) engine.DropLane(l);
  std::set<std::string> wanted(lanes.begin(), lanes.end());
  // A lane no target delivers through is taken to cancel what is left of it; tasks whose target
  // is gone have no lane any more, so they go to the first such lane (the engine cancels them).
  std::set<std::string> live;
  for (const auto& t : registry.AllTargets()) live.insert(tasks::LaneFor(*t));
  std::string orphan_lane;
  for (const std::string& l : lanes) {
    if (!live.count(l) && orphan_lane.empty()) orphan_lane = l;
  }
  std::map<std::string, std::vector<tasks::NewTask>> found;
  Status s = store.Scan(store::Family::kTasks, "t", store::PrefixEnd("t"),
                        [&](std::string_view k, std::string_view v) {
                          std::string lane;
                          auto t = ToNewTask(registry, k, v, &lane);
                          if (t && wanted.count(lane)) found[lane].push_back(std::move(*t));
                          if (!t && !orphan_lane.empty()) {
                            auto seq = tasks::SeqFromTaskKey(k);
                            auto task = tasks::DecodeTask(v, /*with_event=*/false);
                            if (seq && task) {
                              tasks::NewTask o;
                              o.seq = *seq;
                              o.lane = orphan_lane;
                              o.ingestion_ms = task->ingestion_ms;
                              found[orphan_lane].push_back(std::move(o));
                            }
                          }
                          return true;
                        });
  if (!s.ok()) {
    log::Error("cluster", "cannot read the tasks of acquired lanes", {{"error", s.message()}});
    return s;
  }
  for (const std::string& l : lanes) engine.AdoptLane(l, std::move(found[l]));
  return Status::Ok();
}

class OwnedLanes final : public delivery::DeliveryEngine {
 public:
  OwnedLanes(cluster::ClusterNode& node, delivery::DeliveryEngine& engine)
      : node_(node), engine_(engine) {}
  uint64_t NextSeq() override { return engine_.NextSeq(); }
  void Enqueue(std::vector<tasks::NewTask> tasks) override {
    std::vector<tasks::NewTask> mine;
    mine.reserve(tasks.size());
    for (auto& t : tasks) {
      if (node_.Owns(t.lane)) {
        mine.push_back(std::move(t));
      } else {
        node_.NoteLane(t.lane);
      }
    }
    if (!mine.empty()) engine_.Enqueue(std::move(mine));
  }
  void ConnectionChanged(const std::string& name) override { engine_.ConnectionChanged(name); }
  void AdoptLane(const std::string& lane, std::vector<tasks::NewTask> tasks) override {
    engine_.AdoptLane(lane, std::move(tasks));
  }
  void DropLane(const std::string& lane) override { engine_.DropLane(lane); }
  void Wake() override { engine_.Wake(); }
  void Stop() override { engine_.Stop(); }
  void HandleAdmin(const http::Request& req, http::Responder respond) override {
    engine_.HandleAdmin(req, std::move(respond));
  }
  int64_t PendingDeliveries() const override { return engine_.PendingDeliveries(); }
  std::vector<int> RecentStarts(const std::string& destination, int64_t now_s,
                                int seconds) override {
    return engine_.RecentStarts(destination, now_s, seconds);
  }
  void SubmitPipeCall(delivery::PipeCall call, delivery::PipeCallDone done) override {
    engine_.SubmitPipeCall(std::move(call), std::move(done));
  }

 private:
  cluster::ClusterNode& node_;
  delivery::DeliveryEngine& engine_;
};

}  // namespace

std::unique_ptr<delivery::DeliveryEngine> OwnedLanesEngine(cluster::ClusterNode& node,
                                                           delivery::DeliveryEngine& engine) {
  return std::make_unique<OwnedLanes>(node, engine);
}

void RunClusterNode(cluster::ClusterNode& node, store::Store& store, registry::Registry& registry,
                    delivery::DeliveryEngine& engine) {
  cluster::ClusterHooks hooks;
  hooks.control_changed = [&registry] {
    Status s = registry.Reload();
    if (!s.ok()) log::Error("cluster", "control-plane reload failed", {{"error", s.message()}});
  };
  hooks.lanes = [&registry] {
    std::set<std::string> lanes;
    for (const auto& t : registry.AllTargets()) lanes.insert(tasks::LaneFor(*t));
    return std::vector<std::string>(lanes.begin(), lanes.end());
  };
  hooks.lanes_acquired = [&store, &registry, &engine](const std::vector<std::string>& lanes) {
    return AdoptLanes(store, registry, engine, lanes);
  };
  hooks.lane_released = [&engine](const std::string& lane) { engine.DropLane(lane); };
  hooks.tasks_committed = [&node, &registry,
                           &engine](std::vector<std::pair<std::string, std::string>> rows) {
    std::vector<tasks::NewTask> mine;
    for (const auto& [k, v] : rows) {
      std::string lane;
      auto t = ToNewTask(registry, k, v, &lane);
      if (!t || !node.Owns(lane)) continue;
      t->record = std::make_shared<const std::string>(v);
      mine.push_back(std::move(*t));
    }
    if (!mine.empty()) engine.Enqueue(std::move(mine));
  };
  hooks.wake = [&engine] { engine.Wake(); };
  node.Run(std::move(hooks));
}

}  // namespace bp::server
