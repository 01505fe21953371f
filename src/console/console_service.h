// The web console's server side: the embedded web assets under /console/ and the admin endpoints
// the console needs beyond the delivery engine's (overview with live per-destination start rates,
// dead-letter browsing, durable rate-capped redrive, pattern testing, connection actions).
//
// Threads: HandleAdmin runs on io threads. The service owns two threads: a sampler that records
// each destination's attempt starts once per second (a ring buffer of the last kHistorySeconds),
// and the redrive worker. Start() resumes redrives that were running before a restart; Stop()
// joins both threads and must run before the engine, queues or store go away.
#pragma once

#include <memory>

#include "common/clock.h"
#include "common/status.h"
#include "http/server.h"

namespace bp::store {
class Store;
}
namespace bp::registry {
class Registry;
}
namespace bp::queue {
class QueueService;
}
namespace bp::metrics {
class Registry;
}
namespace bp::delivery {
class DeliveryEngine;
}

namespace bp::console {

struct ConsoleDeps {
  store::Store* store = nullptr;
  registry::Registry* registry = nullptr;
  queue::QueueService* queues = nullptr;
  metrics::Registry* metrics = nullptr;
  delivery::DeliveryEngine* engine = nullptr;
  const Clock* clock = nullptr;
};

class ConsoleService {
 public:
  [[nodiscard]] static StatusOr<std::unique_ptr<ConsoleService>> Start(ConsoleDeps deps);
  virtual ~ConsoleService() = default;

  // True for the /_bridgeport/v1/ paths this service answers (the rest go to the engine).
  static bool Handles(const http::Request& req);
  virtual void HandleAdmin(const http::Request& req, http::Responder respond) = 0;
  virtual void Stop() = 0;
};

// GET/HEAD /console and /console/...: the embedded assets (index.html for the bare path). The
// assets hold no data; every datum comes from the admin API, which enforces authentication.
void ServeAsset(const http::Request& req, http::Responder respond);

}  // namespace bp::console
