// Immutable routing snapshots published by the registry for the data plane (ingest, delivery).
//
// A snapshot is never modified after publication; readers hold a shared_ptr<const ...> and never
// lock. Control-plane changes build new snapshots for the resources they touch and publish them.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bp::pattern {
class Matcher;
}

namespace bp::registry {

enum class TargetKind { kApiDestination, kQueue, kEventBus };

// One target of one rule, as configured now.
struct TargetRoute {
  std::string bus;
  std::string rule_name;
  std::string rule_arn;
  std::string target_id;
  std::string target_arn;
  TargetKind kind = TargetKind::kApiDestination;
  std::string resource_name;   // destination name, queue ARN, or bus name (by kind)
  boost::json::object config;  // the target as stored (Input*, HttpParameters, ...)
  int max_retry_attempts = 185;
  int64_t max_event_age_seconds = 86400;
  std::string dead_letter_arn;                   // empty: none
  std::map<std::string, std::string> rule_tags;  // for bridgeport:* settings
};

struct RuleRoute {
  std::string name;
  std::string arn;
  bool enabled = true;
  std::string schedule_expression;  // scheduled rules only (default bus)
  std::vector<std::shared_ptr<const TargetRoute>> targets;
};

// Everything ingest needs for one bus: a matcher whose rule ids index `rules`.
struct BusRoutes {
  std::string name;
  std::string arn;
  // The bus's resource policy (PutPermission), empty if none; see PolicyAllowsPutEvents.
  std::string policy;
  std::shared_ptr<const pattern::Matcher> matcher;  // null: no rules
  std::vector<RuleRoute> rules;
};

// True if `policy` (an event bus resource policy document) lets `account` (a member of
// `organization`, empty if unknown) call events:PutEvents on `bus_arn`: some Allow statement
// matches and no Deny statement does (registry_permissions.cc).
bool PolicyAllowsPutEvents(std::string_view policy, std::string_view bus_arn,
                           std::string_view account, std::string_view organization);

enum class ConnectionState {
  kCreating,
  kUpdating,
  kDeleting,
  kAuthorized,
  kDeauthorized,
  kAuthorizing,
  kDeauthorizing
};
std::string_view ConnectionStateName(ConnectionState s);

struct ConnectionParam {
  std::string key, value;
  bool is_secret = false;
};

// A connection's AuthorizationType.
enum class AuthType { kBasic, kApiKey, kOAuthClientCredentials };
// "BASIC", "API_KEY", "OAUTH_CLIENT_CREDENTIALS"; ParseAuthType is its inverse (nullopt for any
// other text).
std::string_view AuthTypeName(AuthType t);
std::optional<AuthType> ParseAuthType(std::string_view name);

// A connection with its secrets opened (for the delivery engine only; never serialised).
struct ConnectionView {
  std::string name, arn;
  AuthType auth_type = AuthType::kApiKey;
  ConnectionState state = ConnectionState::kAuthorized;
  uint64_t generation = 0;  // changes whenever credentials change
  // BASIC
  std::string username, password;
  // API_KEY
  std::string api_key_name, api_key_value;
  // OAUTH_CLIENT_CREDENTIALS
  std::string client_id, client_secret, authorization_endpoint, oauth_http_method;
  std::vector<ConnectionParam> oauth_headers, oauth_query, oauth_body;
  // InvocationHttpParameters
  std::vector<ConnectionParam> headers, query, body;
  std::map<std::string, std::string> tags;
};

struct DestinationView {
  std::string name, arn;
  std::string connection_name, connection_arn;
  std::string endpoint;
  std::string http_method;
  int rate_limit_per_second = 300;
  std::map<std::string, std::string> tags;
};

}  // namespace bp::registry
