// ClusterNode on PostgreSQL: membership, the lease loop and the change feeds (see the header).
#include "cluster/cluster_node.h"

#include <poll.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "common/clock.h"
#include "common/log.h"
#include "store/pg_conn.h"

namespace bp::cluster {

namespace {

using store::PgConn;
using store::PgInt64;
using store::PgParam;
using store::PgResult;
using store::PgText;

uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

uint64_t Fnv(std::string_view s, uint64_t h = 1469598103934665603ULL) {
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ULL;
  return h;
}

int64_t MonoMicros() { return RealClock::Get().MonotonicMicros(); }

// A lease this node holds: attempts may start in [start_after, valid_until) (monotonic µs).
struct Held {
  int64_t start_after = 0;
  int64_t valid_until = 0;
};

class NodeImpl final : public ClusterNode {
 public:
  NodeImpl(ClusterOptions options, int slot, std::unique_ptr<PgConn> conn, std::string cursor)
      : options_(std::move(options)),
        slot_(slot),
        conn_(std::move(conn)),
        feed_cursor_(std::move(cursor)) {}
  ~NodeImpl() override { Leave(); }

  int slot() const override { return slot_; }
  const std::string& node_id() const override { return options_.node_id; }

  void Run(ClusterHooks hooks) override {
    hooks_ = std::move(hooks);
    lease_thread_ = std::thread([this] { LeaseLoop(); });
    listen_thread_ = std::thread([this] { ListenLoop(); });
  }

  bool Owns(const std::string& lane) const override {
    std::lock_guard<std::mutex> lock(mu_);
    return held_.count(lane) > 0;
  }

  bool MayStart(const std::string& lane) const override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = held_.find(lane);
    if (it == held_.end()) return false;
    int64_t now = MonoMicros();
    return now >= it->second.start_after && now < it->second.valid_until;
  }

  void NoteLane(const std::string& lane) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (noted_.size() < 10000) noted_.insert(lane);
  }

  void Leave() override {
    if (left_.exchange(true)) return;
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
      held_.clear();  // nothing starts from here on
    }
    cv_.notify_all();
    if (lease_thread_.joinable()) lease_thread_.join();
    if (listen_thread_.joinable()) listen_thread_.join();
    // Hand the lanes over at once: the next owner waits 1 s + skew from now.
    if (Connected()) {
      conn_
          ->Exec("UPDATE bp_leases SET expires_at = now() WHERE owner = $1",
                 {PgText(options_.node_id)})
          .status()
          .IgnoreError();
      conn_
          ->Exec("DELETE FROM bp_nodes WHERE node_id = $1 AND slot = $2::int8",
                 {PgText(options_.node_id), PgInt64(slot_)})
          .status()
          .IgnoreError();
    }
    log::Info("cluster", "left the cluster", {{"node", options_.node_id}});
  }

 private:
  bool Connected() {
    if (conn_ && !conn_->broken()) return true;
    conn_.reset();
    auto c = PgConn::Connect(options_.url);
    if (!c.ok()) return false;
    conn_ = std::move(*c);
    return true;
  }

  // Waits up to `ms` or until Leave(); false when stopping.
  bool Sleep(int ms) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, std::chrono::milliseconds(ms), [this] { return stopping_; });
    return !stopping_;
  }

  void LeaseLoop() {
    int period = std::max(100, options_.lease_ms / 3);
    bool first = true;
    int64_t last_prune = 0;
    do {
      Status s = Tick(first);
      if (!s.ok()) {
        log::Warn("cluster", "lease renewal failed", {{"error", s.message()}});
      } else if (first) {
        first = false;
      }
      if (s.ok() && MonoMicros() - last_prune > 60'000'000) {
        last_prune = MonoMicros();
        conn_->Run("DELETE FROM bp_task_feed WHERE at < now() - interval '10 minutes'")
            .IgnoreError();
      }
      if (hooks_.wake) hooks_.wake();
    } while (Sleep(period));
  }

  StatusOr<std::vector<std::string>> LiveNodes() {
    auto beat = conn_->Exec(
        "UPDATE bp_nodes SET heartbeat_at = now() WHERE node_id = $1 AND slot = $2::int8",
        {PgText(options_.node_id), PgInt64(slot_)});
    if (!beat.ok()) return beat.status();
    if (beat->Affected() == 0) {
      // Declared dead and removed (possibly with its slot reused): continuing could allocate
      // task keys another node also allocates. Fail-stop; a supervisor restarts the node.
      log::Error("cluster", "this node was removed from bp_nodes (unreachable too long); exiting",
                 {{"node", options_.node_id}});
      std::_Exit(70);
    }
    BP_ASSIGN_OR_RETURN(PgResult r,
                        conn_->Exec("SELECT node_id FROM bp_nodes WHERE heartbeat_at > now() - "
                                    "$1::int8 * interval '1 millisecond' ORDER BY node_id",
                                    {PgInt64(options_.lease_ms)}));
    std::vector<std::string> nodes;
    for (int i = 0; i < r.rows(); ++i) nodes.emplace_back(r.Get(i, 0));
    return nodes;
  }

  // One heartbeat: membership, renewals, releases, acquisitions.
  Status Tick(bool first) {
    if (!Connected()) return Status::Unavailable("PostgreSQL unreachable");
    int64_t send = MonoMicros();
    BP_ASSIGN_OR_RETURN(std::vector<std::string> live, LiveNodes());
    std::set<std::string> lanes;
    if (hooks_.lanes) {
      for (std::string& l : hooks_.lanes()) lanes.insert(std::move(l));
    }
    std::vector<std::string> held = HeldLanes();
    std::set<std::string> want = WantedLanes(live, lanes, held);
    // Renew what we hold and still want; everything else we hold is given up.
    BP_ASSIGN_OR_RETURN(std::set<std::string> renewed, RenewLeases(held, want));
    int64_t valid_until = send + (int64_t{options_.lease_ms} - options_.skew_allowance_ms) * 1000;
    ApplyRenewals(renewed, want, valid_until);
    std::vector<std::string> acquired;
    Status acquiring = AcquireLanes(want, renewed, valid_until, &acquired);
    if (first && hooks_.lane_released) {
      // Work recovered at start for lanes another node holds is that node's to deliver.
      for (const std::string& l : lanes) {
        if (!want.count(l)) hooks_.lane_released(l);
      }
    }
    Status handed = HandOverAcquired(acquired);
    return acquiring.ok() ? handed : acquiring;
  }

  std::vector<std::string> HeldLanes() const {
    std::vector<std::string> held;
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [lane, h] : held_) held.push_back(lane);
    return held;
  }

  // The lanes this node should hold: those of `lanes` (every target's) that `live` assigns to
  // it, plus the `held` and noted lanes no target delivers through.
  std::set<std::string> WantedLanes(const std::vector<std::string>& live,
                                    const std::set<std::string>& lanes,
                                    const std::vector<std::string>& held) {
    std::set<std::string> want;
    for (const std::string& l : lanes) {
      if (RendezvousOwner(live, l) == options_.node_id) want.insert(l);
    }
    // A lane no target delivers through any more stays with its holder: its engine cancels the
    // remaining tasks (target removed). No other node wants it, so keeping it costs one row.
    // Lanes ingest saw without a holder are taken the same way once their target is gone.
    for (const std::string& l : held) {
      if (!lanes.count(l)) want.insert(l);
    }
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = noted_.begin(); it != noted_.end();) {
      if (lanes.count(*it)) {
        it = noted_.erase(it);  // delivered by its rightful owner
      } else {
        want.insert(*it);
        ++it;
      }
    }
    return want;
  }

  // Extends the leases of the `held` lanes still in `want`; returns those renewed.
  StatusOr<std::set<std::string>> RenewLeases(const std::vector<std::string>& held,
                                              const std::set<std::string>& want) {
    std::vector<std::string> keep;
    for (const std::string& l : held) {
      if (want.count(l)) keep.push_back(l);
    }
    std::set<std::string> renewed;
    if (!keep.empty()) {
      BP_ASSIGN_OR_RETURN(
          PgResult r,
          conn_->Exec(
              "UPDATE bp_leases SET expires_at = now() + $2::int8 * interval '1 millisecond'"
              " WHERE owner = $1 AND lane = ANY($3::text[]) RETURNING lane",
              {PgText(options_.node_id), PgInt64(options_.lease_ms), store::PgTextArray(keep)}));
      for (int i = 0; i < r.rows(); ++i) renewed.emplace(r.Get(i, 0));
    }
    return renewed;
  }

  // Moves the start gate of the `renewed` lanes to `valid_until` and releases every other lane
  // held. Only the lease rows of lanes not in `want` are given up; the others were not renewed
  // because they are no longer ours, and AcquireLanes tries to take them again.
  void ApplyRenewals(const std::set<std::string>& renewed, const std::set<std::string>& want,
                     int64_t valid_until) {
    std::vector<std::string> released;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (auto it = held_.begin(); it != held_.end();) {
        if (renewed.count(it->first)) {
          it->second.valid_until = valid_until;
          ++it;
        } else {
          released.push_back(it->first);
          it = held_.erase(it);  // the gate closes before the lease is given up below
        }
      }
    }
    for (const std::string& l : released) {
      if (want.count(l) == 0) {
        conn_
            ->Exec("UPDATE bp_leases SET expires_at = now() WHERE lane = $1 AND owner = $2",
                   {PgText(l), PgText(options_.node_id)})
            .status()
            .IgnoreError();
      }
      log::Info("cluster", "lane released", {{"lane", l}});
      if (hooks_.lane_released) hooks_.lane_released(l);
    }
  }

  // Tries to take each lane of `want` not `renewed`, appending those taken to `acquired`. Stops
  // at the first error and returns it.
  Status AcquireLanes(const std::set<std::string>& want, const std::set<std::string>& renewed,
                      int64_t valid_until, std::vector<std::string>* acquired) {
    for (const std::string& l : want) {
      if (renewed.count(l)) continue;
      auto wait_ms = TryAcquire(l);
      // On an error the lanes taken so far are still handed over (Tick).
      if (!wait_ms.ok()) return wait_ms.status();
      if (!*wait_ms) continue;
      int64_t now = MonoMicros();
      std::lock_guard<std::mutex> lock(mu_);
      held_[l] = Held{now + **wait_ms * 1000, valid_until};
      noted_.erase(l);
      acquired->push_back(l);
      log::Info("cluster", "lane acquired", {{"lane", l}, {"start_wait_ms", **wait_ms}});
    }
    return Status::Ok();
  }

  // Hands the `acquired` lanes to the engine; if it cannot take them, they are released again.
  Status HandOverAcquired(const std::vector<std::string>& acquired) {
    if (acquired.empty() || !hooks_.lanes_acquired) return Status::Ok();
    Status handed = hooks_.lanes_acquired(acquired);
    if (!handed.ok()) {
      // Not owned until a later heartbeat takes them again (the lease row stays ours, so
      // that is the next one) and their tasks can be read.
      {
        std::lock_guard<std::mutex> lock(mu_);
        for (const std::string& l : acquired) {
          held_.erase(l);
          noted_.insert(l);
        }
      }
      for (const std::string& l : acquired) {
        if (hooks_.lane_released) hooks_.lane_released(l);
      }
      log::Warn("cluster", "acquired lanes given up until their tasks can be read",
                {{"lanes", static_cast<int64_t>(acquired.size())}, {"error", handed.message()}});
    }
    return handed;
  }

  // Takes `lane` if it is free or expired. Returns the start wait in ms, or nullopt if another
  // node holds the lane.
  StatusOr<std::optional<int64_t>> TryAcquire(const std::string& lane) {
    BP_RETURN_IF_ERROR(conn_->Run("BEGIN"));
    auto done = [this](Status s) -> Status {
      if (s.ok()) return conn_->Run("COMMIT");
      if (!conn_->broken()) conn_->Run("ROLLBACK").IgnoreError();
      return s;
    };
    auto old = conn_->Exec(
        "SELECT owner, (extract(epoch FROM (expires_at - clock_timestamp())) * 1000)::int8"
        " FROM bp_leases WHERE lane = $1 FOR UPDATE",
        {PgText(lane)});
    if (!old.ok()) return done(old.status());
    std::optional<int64_t> wait;
    if (old->rows() == 0) {
      auto ins = conn_->Exec(
          "INSERT INTO bp_leases (lane, owner, expires_at) VALUES ($1, $2, now() + $3::int8 * "
          "interval '1 millisecond') ON CONFLICT (lane) DO NOTHING",
          {PgText(lane), PgText(options_.node_id), PgInt64(options_.lease_ms)});
      if (!ins.ok()) return done(ins.status());
      if (ins->Affected() == 1) wait = 0;  // never owned before
    } else {
      bool mine = old->Get(0, 0) == options_.node_id;
      int64_t remaining_ms = old->GetInt64(0, 1);
      if (mine || remaining_ms < 0) {
        auto up = conn_->Exec(
            "UPDATE bp_leases SET owner = $2, expires_at = now() + $3::int8 * interval "
            "'1 millisecond', epoch = epoch + 1 WHERE lane = $1",
            {PgText(lane), PgText(options_.node_id), PgInt64(options_.lease_ms)});
        if (!up.ok()) return done(up.status());
        // A previous incarnation of this node stopped starting when it died, and the engine
        // waits 1 s after a start; another owner's last start was before its expiry.
        wait = mine ? 0 : std::max<int64_t>(0, remaining_ms + 1000 + options_.skew_allowance_ms);
      }
    }
    BP_RETURN_IF_ERROR(done(Status::Ok()));
    return wait;
  }

  // ---- listener ----

  void ListenLoop() {
    std::unique_ptr<PgConn> c;
    int64_t last_check = 0;
    int64_t version = -1;
    while (!stopped()) {
      if (!c || c->broken()) {
        c.reset();
        auto opened = PgConn::Connect(options_.url);
        if (!opened.ok() || !(*opened)->Run("LISTEN bp_control; LISTEN bp_tasks").ok()) {
          if (!Sleep(500)) return;
          continue;
        }
        c = std::move(*opened);
        version = -1;  // re-read everything after a gap
      }
      bool notified_control = false, notified_tasks = false;
      pollfd p{c->socket(), POLLIN, 0};
      if (::poll(&p, 1, 100) > 0) {
        if (!PQconsumeInput(c->raw())) continue;  // broken; reconnect above
        while (PGnotify* n = PQnotifies(c->raw())) {
          std::string_view channel = n->relname;
          if (channel == "bp_control") notified_control = true;
          if (channel == "bp_tasks") notified_tasks = true;
          PQfreemem(n);
        }
      }
      int64_t now = MonoMicros();
      bool periodic = now - last_check >= 500'000;
      if (periodic) last_check = now;
      if (notified_control || periodic) CheckControl(*c, version, notified_control);
      if (notified_tasks || periodic) ReadFeed(*c);
    }
  }

  bool stopped() {
    std::lock_guard<std::mutex> lock(mu_);
    return stopping_;
  }

  void CheckControl(PgConn& c, int64_t& version, bool notified) {
    auto r = c.Exec("SELECT version FROM bp_control WHERE id = 1");
    if (!r.ok() || r->rows() == 0) return;
    int64_t v = r->GetInt64(0, 0);
    if (v == version && !notified) return;
    version = v;  // -1 after a (re)connect: reload once, changes may have been missed
    if (hooks_.control_changed) hooks_.control_changed();
  }

  void ReadFeed(PgConn& c) {
    auto upper = c.Exec("SELECT pg_snapshot_xmin(pg_current_snapshot())::text");
    if (!upper.ok() || upper->rows() == 0) return;
    std::string hi(upper->Get(0, 0));
    if (hi == feed_cursor_) return;
    auto rows = c.Exec(
        "SELECT f.k, t.v FROM bp_task_feed f JOIN bp_tasks t ON t.k = f.k"
        " WHERE f.xid >= $1::text::xid8 AND f.xid < $2::text::xid8",
        {PgText(feed_cursor_), PgText(hi)});
    if (!rows.ok()) return;
    feed_cursor_ = hi;
    std::vector<std::pair<std::string, std::string>> tasks;
    for (int i = 0; i < rows->rows(); ++i) {
      std::string_view k = rows->Get(i, 0);
      // Keys are "t" + big-endian sequence; this node's own tasks are already in its engine.
      if (k.size() == 9 && static_cast<unsigned char>(k[8]) == slot_) continue;
      tasks.emplace_back(std::string(k), std::string(rows->Get(i, 1)));
    }
    if (!tasks.empty() && hooks_.tasks_committed) hooks_.tasks_committed(std::move(tasks));
  }

  const ClusterOptions options_;
  const int slot_;
  std::unique_ptr<PgConn> conn_;  // lease thread (and Leave after it stopped)
  std::string feed_cursor_;       // listener thread: first transaction id not yet read
  ClusterHooks hooks_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, Held> held_;  // GUARDED_BY(mu_)
  std::set<std::string> noted_;       // GUARDED_BY(mu_): lanes ingest saw without holding them
  bool stopping_ = false;             // GUARDED_BY(mu_)
  std::atomic<bool> left_{false};
  std::thread lease_thread_, listen_thread_;
};

std::string DefaultNodeId() {
  char host[256] = {0};
  if (::gethostname(host, sizeof(host) - 1) != 0) host[0] = 0;
  return std::string(host[0] ? host : "node") + "-" + std::to_string(::getpid());
}

}  // namespace

std::string RendezvousOwner(const std::vector<std::string>& nodes, const std::string& lane) {
  std::string best;
  uint64_t best_score = 0;
  uint64_t lane_hash = Fnv(lane);
  for (const std::string& n : nodes) {
    uint64_t score = Mix(Fnv(n, lane_hash));
    if (best.empty() || score > best_score || (score == best_score && n < best)) {
      best = n;
      best_score = score;
    }
  }
  return best;
}

StatusOr<std::unique_ptr<ClusterNode>> ClusterNode::Join(ClusterOptions options) {
  if (options.node_id.empty()) options.node_id = DefaultNodeId();
  if (options.skew_allowance_ms * 2 >= options.lease_ms) {
    return Status::Validation("the clock-skew allowance must be less than half the lease");
  }
  BP_ASSIGN_OR_RETURN(std::unique_ptr<PgConn> conn, PgConn::Connect(options.url));
  BP_RETURN_IF_ERROR(conn->Run("BEGIN; LOCK TABLE bp_nodes IN EXCLUSIVE MODE"));
  auto fail = [&conn](Status s) {
    conn->Run("ROLLBACK").IgnoreError();
    return s;
  };
  // Rows of nodes silent for 10 leases are dead; a restart under the same id replaces its row.
  auto del = conn->Exec(
      "DELETE FROM bp_nodes WHERE node_id = $1 OR heartbeat_at < now() - $2::int8 * interval "
      "'1 millisecond'",
      {PgText(options.node_id), PgInt64(int64_t{options.lease_ms} * 10)});
  if (!del.ok()) return fail(del.status());
  auto used = conn->Exec("SELECT slot::int8 FROM bp_nodes");
  if (!used.ok()) return fail(used.status());
  std::set<int64_t> taken;
  for (int i = 0; i < used->rows(); ++i) taken.insert(used->GetInt64(i, 0));
  int slot = 0;
  while (slot < kSlots && taken.count(slot)) ++slot;
  if (slot == kSlots) return fail(Status::LimitExceeded("the cluster already has 256 live nodes"));
  auto ins = conn->Exec(
      "INSERT INTO bp_nodes (node_id, slot, started_at, heartbeat_at) VALUES ($1, $2::int8, "
      "now(), now())",
      {PgText(options.node_id), PgInt64(slot)});
  if (!ins.ok()) return fail(ins.status());
  BP_RETURN_IF_ERROR(conn->Run("COMMIT"));
  BP_ASSIGN_OR_RETURN(PgResult cursor,
                      conn->Exec("SELECT pg_snapshot_xmin(pg_current_snapshot())::text"));
  log::Info("cluster", "joined the cluster",
            {{"node", options.node_id},
             {"slot", slot},
             {"lease_ms", options.lease_ms},
             {"skew_allowance_ms", options.skew_allowance_ms}});
  std::string start(cursor.Get(0, 0));
  return std::unique_ptr<ClusterNode>(
      new NodeImpl(std::move(options), slot, std::move(conn), std::move(start)));
}

}  // namespace bp::cluster
