// Test helper: runs tests/integration/fakes/sink.py as a child process on 127.0.0.1.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "common/status.h"

namespace bp::delivery::testing {

class SinkProcess {
 public:
  // Starts `python3 <script> --port 0 <extra_args...>` and waits (bounded) for its PORT= line.
  [[nodiscard]] static StatusOr<std::unique_ptr<SinkProcess>> Start(
      const std::string& script, const std::vector<std::string>& extra_args = {});
  SinkProcess(pid_t pid, int port) : pid_(pid), port_(port) {}
  ~SinkProcess();  // SIGTERM, then SIGKILL if it has not exited; always reaps the child
  SinkProcess(const SinkProcess&) = delete;
  SinkProcess& operator=(const SinkProcess&) = delete;

  int port() const { return port_; }
  std::string Url(const std::string& path, const std::string& scheme = "http") const {
    return scheme + "://127.0.0.1:" + std::to_string(port_) + path;
  }

 private:
  pid_t pid_;
  int port_;
};

}  // namespace bp::delivery::testing
