// Server configuration: defaults, an optional JSON config file, then command-line flags (flags
// win).
#pragma once

#include <cstdint>
#include <map>
#include <set>
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
  // The account (and organization) an access key belongs to, when it is not the server's own:
  // PutEvents from it is governed by the bus policies (docs/semantics.md, bus permissions).
  struct KeyAccount {
    std::string account;
    std::string organization;
  };
  std::map<std::string, KeyAccount> key_accounts;  // id -> account
  // Loopback listener: accept unsigned requests / unknown keys. Ignored on other addresses.
  bool allow_unsigned_on_loopback = true;
  std::string master_key_file;
  std::string admin_token;
  std::string log_level = "info";
  int io_threads = 0;
  size_t max_body_bytes = 0;              // 0: derived from max_event_bytes (EffectiveMaxBodyBytes)
  size_t max_event_bytes = 1 << 20;       // PutEvents total entry size (SPEC §4)
  size_t max_client_connections = 10000;  // HTTP client connections held open at once
  // http:// API destinations and OAuth endpoints; defaults to true on a loopback listener.
  int allow_http_endpoints = -1;  // -1: decide from the listen address
  std::string ca_file;            // extra CA bundle for HTTPS destinations
  bool fsync = true;              // never disable outside benchmarks
  // Archives and replays: replayed events per second per replay (0 = unpaced) and the retention
  // sweep interval.
  int64_t replay_events_per_second = 0;
  int64_t archive_sweep_seconds = 60;
  registry::Limits limits;
  // Egress policy (SPEC §17): allow-list entries (CIDRs, host names), and whether loopback and
  // private ranges are open (-1: only on a loopback listener).
  std::vector<std::string> egress_allow;
  int egress_allow_private = -1;
  // Cap on a built delivery payload and on expanded HTTP parameters (0: the PutEvents size limit).
  size_t max_payload_bytes = 0;
  // Backpressure: PutEvents entries fail with ThrottlingException beyond these (0: no bound).
  int64_t max_pending_deliveries = 2'000'000;
  int64_t max_store_bytes = 0;
  // Cluster mode: all state in this PostgreSQL database (libpq URL); empty = embedded RocksDB.
  std::string postgres_url;
  std::string node_id;                // cluster node name (default: host name + pid)
  int lease_ms = 5000;                // lane lease duration
  int clock_skew_allowance_ms = 500;  // extra wait before a new owner starts a lane
  // CloudFormation: resource types accepted as recorded no-ops, and the built-in parameter store
  // behind AWS::SSM::Parameter::Value<...> parameters and {{resolve:ssm:...}}.
  std::set<std::string> cloudformation_noop_types;
  std::map<std::string, std::string> ssm_parameters;

  bool IsLoopback() const;
  // The listener's body limit: max_body_bytes if set, else room for a PutEvents request or an SQS
  // message at their limits (1 MiB each by default) after JSON or form encoding (3x) + 64 KiB.
  size_t EffectiveMaxBodyBytes() const;
};

// Parses `serve` flags (argv after the subcommand). `--config FILE` is read first.
StatusOr<Config> ParseServeFlags(int argc, char** argv);

// The text printed by `bridgeport --help`.
std::string UsageText();

}  // namespace bp::server
