#include "ingest/admission.h"

#include "common/log.h"

namespace bp::ingest {

namespace {
constexpr int64_t kStoreSizeRefreshUs = 250'000;
constexpr int64_t kLogIntervalUs = 10'000'000;
}  // namespace

Admission::Admission(AdmissionLimits limits, std::function<int64_t()> pending_deliveries,
                     std::function<uint64_t()> store_bytes, metrics::Registry& metrics,
                     const Clock& clock)
    : limits_(limits),
      pending_(std::move(pending_deliveries)),
      store_bytes_(std::move(store_bytes)),
      metrics_(metrics),
      clock_(clock) {}

uint64_t Admission::StoreBytes() {
  const int64_t now = clock_.MonotonicMicros();
  int64_t at = store_bytes_at_us_.load(std::memory_order_relaxed);
  if (at < 0 || now - at >= kStoreSizeRefreshUs) {
    // One caller refreshes; the others use the previous value meanwhile.
    if (store_bytes_at_us_.compare_exchange_strong(at, now)) {
      store_bytes_value_.store(store_bytes_ ? store_bytes_() : 0, std::memory_order_relaxed);
    }
  }
  return store_bytes_value_.load(std::memory_order_relaxed);
}

std::optional<std::string> Admission::Check(int entries) {
  std::string reason;
  std::string message;
  if (limits_.max_pending_deliveries > 0 && pending_) {
    const int64_t pending = pending_();
    if (pending >= limits_.max_pending_deliveries) {
      reason = "pending_deliveries";
      message = "Too many deliveries are pending (" + std::to_string(pending) + ", limit " +
                std::to_string(limits_.max_pending_deliveries) + "); retry later.";
    }
  }
  if (reason.empty() && limits_.max_store_bytes > 0) {
    const uint64_t bytes = StoreBytes();
    if (bytes >= limits_.max_store_bytes) {
      reason = "store_bytes";
      message = "The event store is full (" + std::to_string(bytes) + " bytes, limit " +
                std::to_string(limits_.max_store_bytes) + "); retry later.";
    }
  }
  if (reason.empty()) return std::nullopt;
  metrics_
      .GetCounter("bridgeport_ingest_throttled_total", "PutEvents entries refused by backpressure",
                  {{"reason", reason}})
      .Inc(entries);
  const int64_t now = clock_.MonotonicMicros();
  int64_t last = last_log_us_.load(std::memory_order_relaxed);
  if ((last < 0 || now - last >= kLogIntervalUs) &&
      last_log_us_.compare_exchange_strong(last, now)) {
    log::Warn("ingest", "backpressure: refusing new events with ThrottlingException",
              {{"reason", reason}, {"error", message}});
  }
  return message;
}

}  // namespace bp::ingest
