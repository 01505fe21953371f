// PutEvents: validation, the event envelope, matching against the bus's rules, fan-out into one
// delivery task per (matched rule, target), and an acknowledgement only after the tasks are
// durable (the store's group commit).
//
// Thread-safety: all methods may be called concurrently from io threads.
#pragma once

#include <boost/json/object.hpp>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "archive/archive_store.h"
#include "common/clock.h"
#include "common/status.h"
#include "ingest/admission.h"
#include "ingest/bus_access.h"
#include "metrics/metrics.h"
#include "registry/registry.h"
#include "store/store.h"
#include "tasks/tasks.h"

namespace bp::ingest {

struct IngestOptions {
  std::string region = "us-east-1";
  std::string account = "000000000000";
  int max_entries = 10;
  // Total entry size limit (SPEC §4): AWS's 1 MiB since January 2026; configurable.
  size_t max_request_bytes = 1024 * 1024;
  // Backpressure bounds (0 = none): beyond them entries fail with ThrottlingException.
  AdmissionLimits admission{};
};

using Reply = std::function<void(StatusOr<boost::json::object>)>;

// PutEvents' working state: one result per entry, and what the accepted entries add to the
// store (their tasks and archive copies in one batch).
struct EntryResult {
  std::string event_id;
  std::string error_code;
  std::string error_message;
  bool needs_commit = false;  // the entry's tasks or archive copies are in the batch
};
struct Pending {
  store::WriteBatch batch;
  std::shared_ptr<std::vector<tasks::NewTask>> tasks =
      std::make_shared<std::vector<tasks::NewTask>>();
  std::shared_ptr<std::vector<archive::ArchiveCopy>> archived =
      std::make_shared<std::vector<archive::ArchiveCopy>>();
};

class Ingest {
 public:
  Ingest(store::Store& store, registry::Registry& registry, tasks::TaskSink& sink,
         metrics::Registry& metrics, const Clock& clock, IngestOptions options);

  // The PutEvents operation; `reply` runs once the accepted entries are durable.
  // `caller` is the signing account (empty: the server's own); see bus_access.h.
  void PutEvents(const boost::json::object& request, Reply reply, const Caller& caller = {});

  // Archives of the buses: PutEvents adds an archive copy of each accepted event to its batch.
  // Set once before serving; may stay null (no archiving).
  void SetArchives(const archive::ArchiveStore* archives) { archives_ = archives; }

  // Replays: matches an existing envelope on `bus` and adds the tasks of the matching rules whose
  // ARN is in `rule_arns` (every rule if empty) to `batch`. The event is not archived.
  StatusOr<std::vector<tasks::NewTask>> FanoutReplay(const std::string& bus,
                                                     const std::string& event_id,
                                                     const std::string& event_json,
                                                     const std::vector<std::string>& rule_arns,
                                                     store::WriteBatch& batch);
  // Scheduled rules: adds a task for every target of the enabled rule `rule` on `bus`, without
  // matching, to `batch`.
  StatusOr<std::vector<tasks::NewTask>> FanoutToRule(const std::string& bus,
                                                     const std::string& rule,
                                                     const std::string& event_id,
                                                     const std::string& event_json,
                                                     store::WriteBatch& batch);

  // Matches an existing envelope on `bus` and adds its tasks to `batch` (event-bus targets).
  StatusOr<std::vector<tasks::NewTask>> Fanout(const std::string& bus,
                                               const std::string& event_json, int64_t ingestion_ms,
                                               int hops, store::WriteBatch& batch);

 private:
  // Routes and archives one accepted envelope into `pending`; true if it added to the batch.
  bool Add(const registry::BusRoutes& routes, const std::string& event_id, int64_t time_s,
           const std::string& envelope, int64_t now_ms, Pending& pending);
  // Admission, then the one store write; `reply` runs once it is durable (or refused).
  void CommitAndReply(std::shared_ptr<std::vector<EntryResult>> results, Pending pending,
                      Reply reply);
  // Adds the tasks for one envelope to `batch`; returns how many rules matched. `only_arns`, when
  // not null and not empty, keeps only those rules (replays).
  int Route(const registry::BusRoutes& routes, const std::string& event_id,
            const std::string& envelope, int64_t ingestion_ms, int hops, store::WriteBatch& batch,
            std::vector<tasks::NewTask>& tasks,
            const std::vector<std::string>* only_arns = nullptr);
  // One task per target of `rule`.
  void AddRuleTasks(const std::string& bus, const registry::RuleRoute& rule,
                    const std::string& event_id, const std::string& envelope, int64_t ingestion_ms,
                    int hops, store::WriteBatch& batch, std::vector<tasks::NewTask>& tasks);

  struct BusCounters {
    metrics::Counter* ingested = nullptr;
    metrics::Counter* matched = nullptr;
  };
  BusCounters CountersFor(const std::string& bus);

  store::Store& store_;
  registry::Registry& registry_;
  tasks::TaskSink& sink_;
  metrics::Registry& metrics_;
  const Clock& clock_;
  const IngestOptions options_;
  const archive::ArchiveStore* archives_ = nullptr;
  metrics::Histogram* commit_seconds_;
  Admission admission_;
  std::mutex counters_mu_;
  std::unordered_map<std::string, BusCounters> counters_;  // GUARDED_BY(counters_mu_)
};

}  // namespace bp::ingest
