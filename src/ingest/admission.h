// Backpressure at ingest (SPEC §4 "store full"): while the deliveries waiting in the engine or
// the store's size exceed their configured bounds, PutEvents entries that would add work fail
// with the retryable ThrottlingException instead of growing the backlog until the disk fills.
// The control plane is never affected.
//
// Thread-safety: Check() is called concurrently from io threads; it reads the two gauges through
// cheap callbacks, the store size at most every 250 ms.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>

#include "common/clock.h"
#include "metrics/metrics.h"

namespace bp::ingest {

struct AdmissionLimits {
  int64_t max_pending_deliveries = 0;  // 0: no bound
  uint64_t max_store_bytes = 0;        // 0: no bound
};

class Admission {
 public:
  Admission(AdmissionLimits limits, std::function<int64_t()> pending_deliveries,
            std::function<uint64_t()> store_bytes, metrics::Registry& metrics, const Clock& clock);

  // nullopt when new work may be accepted, else the ThrottlingException message. Each refusal of
  // `entries` entries is counted in bridgeport_ingest_throttled_total{reason}; a warning is
  // logged at most every 10 s.
  std::optional<std::string> Check(int entries);

 private:
  uint64_t StoreBytes();

  const AdmissionLimits limits_;
  const std::function<int64_t()> pending_;
  const std::function<uint64_t()> store_bytes_;
  metrics::Registry& metrics_;
  const Clock& clock_;
  std::atomic<int64_t> store_bytes_at_us_{-1};
  std::atomic<uint64_t> store_bytes_value_{0};
  std::atomic<int64_t> last_log_us_{-1};
};

}  // namespace bp::ingest
