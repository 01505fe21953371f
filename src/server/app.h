// Wiring of one Bridgeport server process: the only place that names concrete implementations.
//
// Lifecycle: Start() opens the store, loads the control plane, recovers pending deliveries, then
// starts the delivery engine and finally the listener; Stop() reverses that order. Stop is called
// from the main thread after SIGTERM/SIGINT.
#pragma once

#include <memory>

#include "common/status.h"
#include "server/config.h"

namespace bp::server {

class App {
 public:
  static StatusOr<std::unique_ptr<App>> Start(const Config& config);
  virtual ~App() = default;
  virtual uint16_t port() const = 0;
  virtual void Stop() = 0;
};

}  // namespace bp::server
