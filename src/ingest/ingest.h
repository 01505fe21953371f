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

#include "common/clock.h"
#include "common/status.h"
#include "delivery/engine.h"
#include "ingest/admission.h"
#include "metrics/metrics.h"
#include "registry/registry.h"
#include "store/store.h"

namespace bp::ingest {

struct IngestOptions {
  std::string region = "us-east-1";
  std::string account = "000000000000";
  int max_entries = 10;
  size_t max_request_bytes = 256 * 1024;
  // Backpressure bounds (0 = none): beyond them entries fail with ThrottlingException.
  AdmissionLimits admission{};
};

using Reply = std::function<void(StatusOr<boost::json::object>)>;

class Ingest {
 public:
  Ingest(store::Store& store, registry::Registry& registry, delivery::DeliveryEngine& engine,
         metrics::Registry& metrics, const Clock& clock, IngestOptions options);

  // The PutEvents operation; `reply` runs once the accepted entries are durable.
  void PutEvents(const boost::json::object& request, Reply reply);

  // Matches an existing envelope on `bus` and adds its tasks to `batch` (event-bus targets).
  StatusOr<std::vector<delivery::NewTask>> Fanout(const std::string& bus,
                                                  const std::string& event_json,
                                                  int64_t ingestion_ms, int hops,
                                                  store::WriteBatch& batch);

 private:
  // Adds the tasks for one envelope to `batch`; returns how many rules matched.
  int Route(const registry::BusRoutes& routes, const std::string& event_id,
            const std::string& envelope, int64_t ingestion_ms, int hops, store::WriteBatch& batch,
            std::vector<delivery::NewTask>& tasks);

  struct BusCounters {
    metrics::Counter* ingested = nullptr;
    metrics::Counter* matched = nullptr;
  };
  BusCounters CountersFor(const std::string& bus);

  store::Store& store_;
  registry::Registry& registry_;
  delivery::DeliveryEngine& engine_;
  metrics::Registry& metrics_;
  const Clock& clock_;
  const IngestOptions options_;
  metrics::Histogram* commit_seconds_;
  Admission admission_;
  std::mutex counters_mu_;
  std::unordered_map<std::string, BusCounters> counters_;  // GUARDED_BY(counters_mu_)
};

}  // namespace bp::ingest
