// Server configuration: defaults, an optional JSON config file, then command-line flags (flags
// win).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/status.h"
#include "registry/registry.h"

namespace bp::server {

struct Config {
  std::string listen_host = "127.0.0.1";
  uint16_t listen_port = 4010;
  std::string data_dir = "./data";
  std::string region = "us-east-1";
  std::string account = "000000000000";
  std::map<std::string, std::string> access_keys;  // id -> secret
  // Loopback listener: accept unsigned requests / unknown keys. Ignored on other addresses.
  bool allow_unsigned_on_loopback = true;
  std::string master_key_file;
  std::string admin_token;
  std::string log_level = "info";
  int io_threads = 0;
  size_t max_body_bytes = 1 << 20;
  size_t max_client_connections = 10000;  // HTTP client connections held open at once
  // http:// API destinations and OAuth endpoints; defaults to true on a loopback listener.
  int allow_http_endpoints = -1;  // -1: decide from the listen address
  std::string ca_file;            // extra CA bundle for HTTPS destinations
  bool fsync = true;              // never disable outside benchmarks
  registry::Limits limits;

  bool IsLoopback() const;
};

// Parses `serve` flags (argv after the subcommand). `--config FILE` is read first.
StatusOr<Config> ParseServeFlags(int argc, char** argv);

// The text printed by `bridgeport --help`.
std::string UsageText();

}  // namespace bp::server
