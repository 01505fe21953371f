#include "server/config.h"

#include <algorithm>
#include <boost/json.hpp>
#include <charconv>
#include <fstream>
#include <optional>
#include <sstream>
#include <string_view>

namespace bp::server {

namespace json = boost::json;

bool Config::IsLoopback() const {
  return listen_host == "127.0.0.1" || listen_host == "localhost" || listen_host == "::1" ||
         listen_host.rfind("127.", 0) == 0;
}

size_t Config::EffectiveMaxBodyBytes() const {
  if (max_body_bytes) return max_body_bytes;
  constexpr size_t kSqsMessageMax = 1 << 20;  // MaximumMessageSize's maximum
  return 3 * std::max(max_event_bytes, kSqsMessageMax) + (64 << 10);
}

namespace {

// `bridgeport --help`, in sections only so that no one literal is too long to read.
constexpr std::string_view kUsageCommands =
    R"(bridgeport - an EventBridge-compatible event bus with API destinations

Usage:
  bridgeport serve [flags]            run the server in the foreground (SIGTERM/SIGINT stop it)
  bridgeport bench-match --events FILE.jsonl --rulesets FILE.json [--set NAME] [--expected FILE]
                                      matcher throughput over a rule-set file
  bridgeport bench-ingest [flags]     PutEvents load generator against a running server
  bridgeport bench-sink [flags]       a fast local HTTP sink for delivery benchmarks
  bridgeport --help | --version

)";

constexpr std::string_view kUsageServeGeneralFlags =
    R"(serve flags (a JSON config file may set the same keys; flags win):
  --config FILE            JSON file with any of: listen, data_dir, region, account,
                           access_keys [{"id","secret"}], master_key_file, admin_token,
                           log_level, io_threads, max_body_bytes, max_event_bytes,
                           allow_http_endpoints, require_signatures, max_client_connections,
                           replay_events_per_second, archive_sweep_seconds, ca_file, postgres,
                           limits {max_buses, max_rules_per_bus, max_targets_per_rule,
                           max_connections, max_destinations,
                           max_pattern_length (2048, at most 4096)},
                           egress_allow [..], egress_allow_private, max_payload_bytes,
                           max_pending_deliveries, max_store_bytes,
                           cloudformation_noop_types [TYPE...], ssm_parameters {NAME: VALUE}
  --listen HOST:PORT       listen address (default 127.0.0.1:4010; port 0 picks a free one and
                           prints it)
  --data-dir DIR           embedded store directory (default ./data)
  --region REGION          region in ARNs (default us-east-1)
  --account ID             12-digit account id in ARNs (default 000000000000)
  --access-key ID:SECRET   SigV4 key pair; repeatable. On a loopback listener any credentials
                           are accepted unless --require-signatures is given; on any other
                           address signatures are always verified against these keys.
  --require-signatures     verify SigV4 even on loopback
  --master-key-file FILE   32-byte key (64 hex chars or base64) that seals connection secrets.
                           Also: env BRIDGEPORT_MASTER_KEY. Default: generated on first start
                           into DATA_DIR/master.key (mode 0600).
  --admin-token TOKEN      bearer token for /_bridgeport/ outside loopback
  --log-level LEVEL        debug|info|warn|error (default info)
)";

constexpr std::string_view kUsageServeHttpAndEgressFlags =
    R"(  --io-threads N           HTTP io threads (default: one per core)
  --max-body-bytes N       request size limit (default 3 x max-event-bytes + 64 KiB)
  --max-event-bytes N      PutEvents total entry size limit (default 1048576)
  --key-account ID:ACCOUNT[:ORG]
                           the 12-digit account (and organization id) of access key ID;
                           repeatable. Such keys may only call PutEvents, to buses whose policy
                           (PutPermission) allows their account.
  --max-client-connections N
                           HTTP client connections held open at once (default 10000); at the
                           bound the longest-idle connection is closed to admit a new one
  --allow-http-endpoints true|false
                           allow http:// destinations (default: true on loopback only)
  --ca-file FILE           extra CA certificates for HTTPS destinations
  --replay-events-per-second N
                           pace each replay to at most N events/s (default 0: unpaced)
  --archive-sweep-seconds N
                           how often expired archived events are deleted (default 60)
  --egress-allow CIDR|HOST  allow outbound connections to this range or host name although the
                           egress policy denies it (repeatable; see docs/operations.md)
  --egress-allow-private true|false
                           allow loopback and private addresses (default: true on loopback only)
  --max-payload-bytes N    cap on a target's built payload and expanded HTTP parameters
                           (default: the PutEvents size limit)
)";

constexpr std::string_view kUsageServeStorageAndClusterFlags =
    R"(  --max-pending-deliveries N
                           PutEvents entries fail with ThrottlingException while more deliveries
                           are pending (default 2000000; 0 = no bound)
  --max-store-bytes N      the same for the store's size on disk (default 0 = no bound)
  --postgres URL           cluster mode: keep all state in this PostgreSQL database (libpq URL,
                           e.g. postgresql://bp@127.0.0.1:5432/bridgeport) instead of DATA_DIR;
                           nodes on one database share everything (docs/operations.md)
  --node-id ID             cluster node name (default: host name and pid)
  --lease-ms N             lane lease duration in cluster mode (default 5000)
  --clock-skew-allowance-ms N
                           extra wait before a new lease owner starts (default 500)
  --cloudformation-noop-type TYPE
                           accept this CloudFormation resource type as a recorded no-op;
                           repeatable (e.g. AWS::Lambda::Function)
  --ssm-parameter NAME=VALUE
                           a value of the built-in parameter store (SSM parameter types and
                           {{resolve:ssm:NAME}} in templates); repeatable
  --max-rules-per-bus N, --max-targets-per-rule N, --max-buses N,
  --max-connections N, --max-destinations N
                           limits (defaults 300, 5, 100, 3000, 3000)

)";

constexpr std::string_view kUsageEndpoints =
    R"(Endpoints: POST / (AWS JSON 1.1 AWSEvents.*, AWS JSON 1.0 AmazonSQS.*, SQS Query,
CloudFormation Query, AWS JSON 1.1 secretsmanager.*),
GET /health, GET /ready, GET /metrics, /_bridgeport/v1/... (admin API).
)";

}  // namespace

std::string UsageText() {
  std::string text;
  for (std::string_view section :
       {kUsageCommands, kUsageServeGeneralFlags, kUsageServeHttpAndEgressFlags,
        kUsageServeStorageAndClusterFlags, kUsageEndpoints}) {
    text += section;
  }
  return text;
}

namespace {

Status ParseInt(std::string_view flag, std::string_view text, int64_t lo, int64_t hi,
                int64_t* out) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size() || v < lo || v > hi) {
    return Status::Validation(std::string(flag) + " must be an integer in [" + std::to_string(lo) +
                              ", " + std::to_string(hi) + "], got '" + std::string(text) + "'");
  }
  *out = v;
  return Status::Ok();
}

Status ParseListen(std::string_view text, Config& c) {
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return Status::Validation("--listen must be HOST:PORT");
  std::string host(text.substr(0, colon));
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  int64_t port;
  BP_RETURN_IF_ERROR(ParseInt("--listen port", text.substr(colon + 1), 0, 65535, &port));
  c.listen_host = host.empty() ? "0.0.0.0" : host;
  c.listen_port = static_cast<uint16_t>(port);
  return Status::Ok();
}

Status AddKey(std::string_view text, Config& c) {
  size_t colon = text.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == text.size()) {
    return Status::Validation("--access-key must be ID:SECRET");
  }
  c.access_keys[std::string(text.substr(0, colon))] = std::string(text.substr(colon + 1));
  return Status::Ok();
}

// "ID:ACCOUNT[:ORG]" (ACCOUNT 12 digits).
Status AddKeyAccount(std::string_view text, Config& c) {
  size_t colon = text.find(':');
  std::string_view id = text.substr(0, colon);
  std::string_view rest = colon == std::string_view::npos ? "" : text.substr(colon + 1);
  size_t org_colon = rest.find(':');
  std::string_view account = rest.substr(0, org_colon);
  std::string_view org = org_colon == std::string_view::npos ? "" : rest.substr(org_colon + 1);
  if (id.empty() || account.size() != 12 ||
      account.find_first_not_of("0123456789") != std::string_view::npos) {
    return Status::Validation("--key-account must be ID:ACCOUNT[:ORG] with a 12-digit ACCOUNT");
  }
  c.key_accounts[std::string(id)] = {std::string(account), std::string(org)};
  return Status::Ok();
}

Status ApplyLimit(std::string_view key, int64_t v, Config& c) {
  auto& l = c.limits;
  if (key == "max_buses" || key == "max-buses")
    l.max_buses = static_cast<int>(v);
  else if (key == "max_rules_per_bus" || key == "max-rules-per-bus")
    l.max_rules_per_bus = static_cast<int>(v);
  else if (key == "max_targets_per_rule" || key == "max-targets-per-rule")
    l.max_targets_per_rule = static_cast<int>(v);
  else if (key == "max_connections" || key == "max-connections")
    l.max_connections = static_cast<int>(v);
  else if (key == "max_destinations" || key == "max-destinations")
    l.max_destinations = static_cast<int>(v);
  else if (key == "max_pattern_length" && v <= 4096)  // AWS's quota is adjustable up to 4096
    l.max_pattern_length = static_cast<int>(v);
  else
    return Status::Validation("unknown limit '" + std::string(key) + "'");
  return Status::Ok();
}

// One key of the config file, with its value's checked conversions.
struct ConfigEntry {
  std::string_view k;
  const json::value& val;

  StatusOr<std::string> Str() const {
    if (!val.is_string())
      return Status::Validation("config key " + std::string(k) + " must be a string");
    return std::string(val.as_string());
  }
  StatusOr<int64_t> Num(int64_t lo, int64_t hi) const {
    if (!val.is_int64() || val.as_int64() < lo || val.as_int64() > hi) {
      return Status::Validation("config key " + std::string(k) + " must be an integer in range");
    }
    return val.as_int64();
  }
};

// The Apply*Key functions each handle one kind of key and return nullopt for any other.

std::optional<Status> ApplyTextKey(const ConfigEntry& entry, Config& c) {
  const std::string_view k = entry.k;
  if (k == "listen") {
    BP_ASSIGN_OR_RETURN(auto s, entry.Str());
    BP_RETURN_IF_ERROR(ParseListen(s, c));
  } else if (k == "data_dir") {
    BP_ASSIGN_OR_RETURN(c.data_dir, entry.Str());
  } else if (k == "region") {
    BP_ASSIGN_OR_RETURN(c.region, entry.Str());
  } else if (k == "account") {
    BP_ASSIGN_OR_RETURN(c.account, entry.Str());
    if (c.account.size() != 12 || c.account.find_first_not_of("0123456789") != std::string::npos) {
      return Status::Validation("config key account must be 12 digits");
    }
  } else if (k == "postgres") {
    BP_ASSIGN_OR_RETURN(c.postgres_url, entry.Str());
  } else if (k == "master_key_file") {
    BP_ASSIGN_OR_RETURN(c.master_key_file, entry.Str());
  } else if (k == "admin_token") {
    BP_ASSIGN_OR_RETURN(c.admin_token, entry.Str());
  } else if (k == "log_level") {
    BP_ASSIGN_OR_RETURN(c.log_level, entry.Str());
  } else if (k == "ca_file") {
    BP_ASSIGN_OR_RETURN(c.ca_file, entry.Str());
  } else {
    return std::nullopt;
  }
  return Status::Ok();
}

std::optional<Status> ApplyNumericKey(const ConfigEntry& entry, Config& c) {
  const std::string_view k = entry.k;
  if (k == "io_threads") {
    BP_ASSIGN_OR_RETURN(int64_t n, entry.Num(0, 256));
    c.io_threads = static_cast<int>(n);
  } else if (k == "max_body_bytes") {
    BP_ASSIGN_OR_RETURN(int64_t n, entry.Num(1024, 64 << 20));
    c.max_body_bytes = static_cast<size_t>(n);
  } else if (k == "max_event_bytes") {
    BP_ASSIGN_OR_RETURN(int64_t n, entry.Num(1024, 16 << 20));
    c.max_event_bytes = static_cast<size_t>(n);
  } else if (k == "max_client_connections") {
    BP_ASSIGN_OR_RETURN(int64_t n, entry.Num(1, 10000000));
    c.max_client_connections = static_cast<size_t>(n);
  } else if (k == "replay_events_per_second") {
    BP_ASSIGN_OR_RETURN(c.replay_events_per_second, entry.Num(0, 1000000));
  } else if (k == "archive_sweep_seconds") {
    BP_ASSIGN_OR_RETURN(c.archive_sweep_seconds, entry.Num(1, 86400));
  } else if (k == "max_payload_bytes") {
    BP_ASSIGN_OR_RETURN(int64_t n, entry.Num(1024, 64 << 20));
    c.max_payload_bytes = static_cast<size_t>(n);
  } else if (k == "max_pending_deliveries") {
    BP_ASSIGN_OR_RETURN(c.max_pending_deliveries, entry.Num(0, int64_t{1} << 40));
  } else if (k == "max_store_bytes") {
    BP_ASSIGN_OR_RETURN(c.max_store_bytes, entry.Num(0, int64_t{1} << 50));
  } else {
    return std::nullopt;
  }
  return Status::Ok();
}

std::optional<Status> ApplyBoolKey(const ConfigEntry& entry, Config& c) {
  const std::string_view k = entry.k;
  const json::value& val = entry.val;
  if (k == "allow_http_endpoints") {
    if (!val.is_bool()) return Status::Validation("allow_http_endpoints must be a boolean");
    c.allow_http_endpoints = val.as_bool() ? 1 : 0;
  } else if (k == "require_signatures") {
    if (!val.is_bool()) return Status::Validation("require_signatures must be a boolean");
    c.allow_unsigned_on_loopback = !val.as_bool();
  } else if (k == "egress_allow_private") {
    if (!val.is_bool()) return Status::Validation("egress_allow_private must be a boolean");
    c.egress_allow_private = val.as_bool() ? 1 : 0;
  } else {
    return std::nullopt;
  }
  return Status::Ok();
}

Status ApplyAccessKeys(const json::value& val, Config& c) {
  if (!val.is_array()) return Status::Validation("access_keys must be a list");
  for (const auto& e : val.as_array()) {
    if (!e.is_object() || !e.as_object().contains("id") || !e.as_object().contains("secret")) {
      return Status::Validation("access_keys entries need id and secret");
    }
    std::string id(e.as_object().at("id").as_string());
    c.access_keys[id] = std::string(e.as_object().at("secret").as_string());
    if (const auto* a = e.as_object().if_contains("account")) {
      std::string text = id + ":" + (a->is_string() ? std::string(a->as_string()) : "");
      if (const auto* o = e.as_object().if_contains("organization"); o && o->is_string()) {
        text += ":" + std::string(o->as_string());
      }
      BP_RETURN_IF_ERROR(AddKeyAccount(text, c));
    }
  }
  return Status::Ok();
}

// Keys whose values are lists or objects.
std::optional<Status> ApplyCollectionKey(const ConfigEntry& entry, Config& c) {
  const std::string_view k = entry.k;
  const json::value& val = entry.val;
  if (k == "access_keys") {
    BP_RETURN_IF_ERROR(ApplyAccessKeys(val, c));
  } else if (k == "egress_allow") {
    if (!val.is_array()) return Status::Validation("egress_allow must be a list of strings");
    for (const auto& e : val.as_array()) {
      if (!e.is_string()) return Status::Validation("egress_allow must be a list of strings");
      c.egress_allow.emplace_back(e.as_string());
    }
  } else if (k == "limits") {
    if (!val.is_object()) return Status::Validation("limits must be an object");
    for (const auto& [lk, lv] : val.as_object()) {
      if (!lv.is_int64() || lv.as_int64() < 1)
        return Status::Validation("limits must be positive integers");
      BP_RETURN_IF_ERROR(ApplyLimit(lk, lv.as_int64(), c));
    }
  } else if (k == "cloudformation_noop_types") {
    if (!val.is_array()) return Status::Validation("cloudformation_noop_types must be a list");
    for (const auto& t : val.as_array()) {
      if (!t.is_string()) return Status::Validation("cloudformation_noop_types are strings");
      c.cloudformation_noop_types.insert(std::string(t.as_string()));
    }
  } else if (k == "ssm_parameters") {
    if (!val.is_object()) return Status::Validation("ssm_parameters must be an object");
    for (const auto& [pk, pv] : val.as_object()) {
      if (!pv.is_string()) return Status::Validation("ssm_parameters values are strings");
      c.ssm_parameters[std::string(pk)] = std::string(pv.as_string());
    }
  } else {
    return std::nullopt;
  }
  return Status::Ok();
}

Status ApplyConfigFile(const std::string& path, Config& c) {
  std::ifstream in(path);
  if (!in) return Status::IoError("cannot read config file " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  json::error_code ec;
  json::value v = json::parse(ss.str(), ec);
  if (ec || !v.is_object())
    return Status::Validation("config file " + path + " is not a JSON object");
  for (const auto& member : v.as_object()) {
    const ConfigEntry entry{member.key(), member.value()};
    std::optional<Status> applied = ApplyTextKey(entry, c);
    if (!applied) applied = ApplyNumericKey(entry, c);
    if (!applied) applied = ApplyBoolKey(entry, c);
    if (!applied) applied = ApplyCollectionKey(entry, c);
    if (!applied) return Status::Validation("unknown config key '" + std::string(entry.k) + "'");
    BP_RETURN_IF_ERROR(*applied);
  }
  return Status::Ok();
}

// The config file first, so flags override it.
Status ApplyConfigFiles(int argc, char** argv, Config& c) {
  for (int i = 0; i < argc; ++i) {
    if (std::string_view(argv[i]) == "--config") {
      if (i + 1 >= argc) return Status::Validation("--config needs a file");
      BP_RETURN_IF_ERROR(ApplyConfigFile(argv[i + 1], c));
    }
  }
  return Status::Ok();
}

// The command-line argument at *i as a flag: "--flag VALUE" or "--flag=VALUE".
class FlagArg {
 public:
  FlagArg(int argc, char** argv, int* i) : argc_(argc), argv_(argv), i_(i), flag_(argv[*i]) {
    size_t eq = flag_.find('=');
    inline_value_ = flag_.substr(0, 2) == "--" && eq != std::string_view::npos;
    if (inline_value_) {
      value_ = flag_.substr(eq + 1);
      flag_ = flag_.substr(0, eq);
    }
  }

  std::string_view flag() const { return flag_; }

  // A value that is not inline is the next argument, which this consumes.
  StatusOr<std::string_view> need() {
    if (inline_value_) return value_;
    if (*i_ + 1 >= argc_) return Status::Validation(std::string(flag_) + " needs a value");
    return std::string_view(argv_[++*i_]);
  }

 private:
  int argc_;
  char** argv_;
  int* i_;
  std::string_view flag_;
  std::string_view value_;
  bool inline_value_ = false;
};

// The Apply*Flag functions each handle one kind of flag and return nullopt for any other.

std::optional<Status> ApplyTextFlag(FlagArg& f, Config& c) {
  const std::string_view flag = f.flag();
  if (flag == "--config") {
    BP_ASSIGN_OR_RETURN(auto v, f.need());
    (void)v;
  } else if (flag == "--listen") {
    BP_ASSIGN_OR_RETURN(auto v, f.need());
    BP_RETURN_IF_ERROR(ParseListen(v, c));
  } else if (flag == "--data-dir") {
    BP_ASSIGN_OR_RETURN(auto v, f.need());
    c.data_dir = v;
  } else if (flag == "--region") {
    BP_ASSIGN_OR_RETURN(auto v, f.need());
    c.region = v;
  } else if (flag == "--account") {
    BP_ASSIGN_OR_RETURN(auto v, f.need());
    if (v.size() != 12 || v.find_first_not_of("0123456789") != std::string_view::npos) {
      return Status::Validation("--account must be 12 digits");
    }
    c.account = v;
  } else if (flag == "--access-key") {
    BP_ASSIGN_OR_RETURN(auto v, f.need());
    BP_RETURN_IF_ERROR(AddKey(v, c));
  } else if (flag == "--master-key-file") {
    BP_ASSIGN_OR_RETURN(auto v, f.need());
    c.master_key_file = v;
  } else if (flag == "--admin-token") {
    BP_ASSIGN_OR_RETURN(auto v, f.need());
    c.admin_token = v;
  } else if (flag == "--log-level") {
    BP_ASSIGN_OR_RETURN(auto v, f.need());
    c.log_level = v;
  } else if (flag == "--ca-file") {
    BP_ASSIGN_OR_RETURN(auto v, f.need());
    c.ca_file = v;
  } else if (flag == "--key-account") {
    BP_ASSIGN_OR_RETURN(auto v, f.need());
    BP_RETURN_IF_ERROR(AddKeyAccount(v, c));
  } else if (flag == "--egress-allow") {
    BP_ASSIGN_OR_RETURN(auto v, f.need());
    c.egress_allow.emplace_back(v);
  } else if (flag == "--postgres") {
    BP_ASSIGN_OR_RETURN(auto v, f.need());
    c.postgres_url = v;
  } else if (flag == "--node-id") {
    BP_ASSIGN_OR_RETURN(auto v, f.need());
    c.node_id = v;
  } else if (flag == "--cloudformation-noop-type") {
    BP_ASSIGN_OR_RETURN(auto v, f.need());
    c.cloudformation_noop_types.insert(std::string(v));
  } else if (flag == "--ssm-parameter") {
    BP_ASSIGN_OR_RETURN(auto v, f.need());
    size_t eq = std::string_view(v).find('=');
    if (eq == std::string_view::npos) return Status::Validation("--ssm-parameter is NAME=VALUE");
    c.ssm_parameters[std::string(std::string_view(v).substr(0, eq))] =
        std::string(std::string_view(v).substr(eq + 1));
  } else {
    return std::nullopt;
  }
  return Status::Ok();
}

std::optional<Status> ApplyNumericFlag(FlagArg& f, Config& c) {
  const std::string_view flag = f.flag();
  if (flag == "--io-threads") {
    BP_ASSIGN_OR_RETURN(auto v, f.need());
    int64_t n;
    BP_RETURN_IF_ERROR(ParseInt(flag, v, 0, 256, &n));
    c.io_threads = static_cast<int>(n);
  } else if (flag == "--max-body-bytes") {
    BP_ASSIGN_OR_RETURN(auto v, f.need());
    int64_t n;
    BP_RETURN_IF_ERROR(ParseInt(flag, v, 1024, 64 << 20, &n));
    c.max_body_bytes = static_cast<size_t>(n);
  } else if (flag == "--max-event-bytes") {
    BP_ASSIGN_OR_RETURN(auto v, f.need());
    int64_t n;
    BP_RETURN_IF_ERROR(ParseInt(flag, v, 1024, 16 << 20, &n));
    c.max_event_bytes = static_cast<size_t>(n);
  } else if (flag == "--max-client-connections") {
    BP_ASSIGN_OR_RETURN(auto v, f.need());
    int64_t n;
    BP_RETURN_IF_ERROR(ParseInt(flag, v, 1, 10000000, &n));
    c.max_client_connections = static_cast<size_t>(n);
  } else if (flag == "--replay-events-per-second" || flag == "--archive-sweep-seconds") {
    BP_ASSIGN_OR_RETURN(auto v, f.need());
    bool replay = flag == "--replay-events-per-second";
    BP_RETURN_IF_ERROR(ParseInt(flag, v, replay ? 0 : 1, replay ? 1000000 : 86400,
                                replay ? &c.replay_events_per_second : &c.archive_sweep_seconds));
  } else if (flag == "--max-payload-bytes") {
    BP_ASSIGN_OR_RETURN(auto v, f.need());
    int64_t n;
    BP_RETURN_IF_ERROR(ParseInt(flag, v, 1024, 64 << 20, &n));
    c.max_payload_bytes = static_cast<size_t>(n);
  } else if (flag == "--max-pending-deliveries") {
    BP_ASSIGN_OR_RETURN(auto v, f.need());
    BP_RETURN_IF_ERROR(ParseInt(flag, v, 0, int64_t{1} << 40, &c.max_pending_deliveries));
  } else if (flag == "--max-store-bytes") {
    BP_ASSIGN_OR_RETURN(auto v, f.need());
    BP_RETURN_IF_ERROR(ParseInt(flag, v, 0, int64_t{1} << 50, &c.max_store_bytes));
  } else if (flag == "--lease-ms" || flag == "--clock-skew-allowance-ms") {
    BP_ASSIGN_OR_RETURN(auto v, f.need());
    int64_t n;
    BP_RETURN_IF_ERROR(ParseInt(flag, v, flag == "--lease-ms" ? 1000 : 0, 600000, &n));
    (flag == "--lease-ms" ? c.lease_ms : c.clock_skew_allowance_ms) = static_cast<int>(n);
  } else if (flag == "--max-rules-per-bus" || flag == "--max-targets-per-rule" ||
             flag == "--max-buses" || flag == "--max-connections" || flag == "--max-destinations") {
    BP_ASSIGN_OR_RETURN(auto v, f.need());
    int64_t n;
    BP_RETURN_IF_ERROR(ParseInt(flag, v, 1, 1000000, &n));
    BP_RETURN_IF_ERROR(ApplyLimit(flag.substr(2), n, c));
  } else {
    return std::nullopt;
  }
  return Status::Ok();
}

// Switches, and flags whose value is true or false.
std::optional<Status> ApplyBoolFlag(FlagArg& f, Config& c) {
  const std::string_view flag = f.flag();
  if (flag == "--require-signatures") {
    c.allow_unsigned_on_loopback = false;
  } else if (flag == "--allow-http-endpoints") {
    BP_ASSIGN_OR_RETURN(auto v, f.need());
    if (v != "true" && v != "false")
      return Status::Validation("--allow-http-endpoints is true or false");
    c.allow_http_endpoints = v == "true" ? 1 : 0;
  } else if (flag == "--egress-allow-private") {
    BP_ASSIGN_OR_RETURN(auto v, f.need());
    if (v != "true" && v != "false")
      return Status::Validation("--egress-allow-private is true or false");
    c.egress_allow_private = v == "true" ? 1 : 0;
  } else if (flag == "--no-fsync-for-benchmarks-only") {
    c.fsync = false;
  } else {
    return std::nullopt;
  }
  return Status::Ok();
}

}  // namespace

StatusOr<Config> ParseServeFlags(int argc, char** argv) {
  Config c;
  BP_RETURN_IF_ERROR(ApplyConfigFiles(argc, argv, c));
  for (int i = 0; i < argc; ++i) {
    FlagArg f(argc, argv, &i);
    std::optional<Status> applied = ApplyTextFlag(f, c);
    if (!applied) applied = ApplyNumericFlag(f, c);
    if (!applied) applied = ApplyBoolFlag(f, c);
    if (!applied) {
      return Status::Validation("unknown flag '" + std::string(f.flag()) +
                                "' (see bridgeport --help)");
    }
    BP_RETURN_IF_ERROR(*applied);
  }
  return c;
}

}  // namespace bp::server
