// transform/: request shaping for targets — Input / InputPath / InputTransformer payloads,
// HttpParameters, endpoint `*` wildcards, header merge and deny-list (SPEC §6–§8).
//
// Pure functions over plain structs: no I/O, no locks, no dependency beyond bp_common. The exact
// semantics (quoting, missing values, messages) are in docs/semantics.md.
//
// Two kinds of errors leave this module:
//  * control-plane validation (ValidateTargetInput, ValidateHttpParameters, and
//    PayloadBuilder::Create): StatusCode::kValidation, message = the ValidationException text;
//  * delivery-time failures (PayloadBuilder::Build, BuildHttpRequest): StatusCode::kValidation
//    with the delivery ERROR_CODE as the Status's DetailDomain::kDelivery detail — use
//    ParseDeliveryError() to get {code, message}. Any other status (kInternal: the event text
//    was not valid JSON) is a bug upstream and maps to INTERNAL_ERROR.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/delivery_error_code.h"
#include "common/status.h"

namespace bp::transform {

inline constexpr size_t kMaxInputLength = 8192;
inline constexpr size_t kMaxInputPathLength = 256;
inline constexpr size_t kMaxInputTemplateLength = 8192;
inline constexpr size_t kMaxInputPathsMapEntries = 100;
inline constexpr size_t kMaxHttpParameterLength = 512;
inline constexpr size_t kMaxHttpParameterEntries = 512;
// Default cap on a built payload and on an attempt's expanded URL + headers (the server passes
// its configured value, by default the PutEvents size limit).
inline constexpr size_t kDefaultMaxPayloadBytes = 256 * 1024;

// ---- Payload ------------------------------------------------------------------------------

struct InputTransformerSpec {
  std::vector<std::pair<std::string, std::string>> input_paths_map;  // key -> JSON path
  std::string input_template;
};

// At most one field may be set; none = the whole event is the payload.
struct TargetInputSpec {
  std::optional<std::string> input;
  std::optional<std::string> input_path;
  std::optional<InputTransformerSpec> input_transformer;
};

// PutTargets-time validation. `member_index` (1-based position in the request's Targets list)
// only appears in field paths of "1 validation error detected: …" messages.
[[nodiscard]] Status ValidateTargetInput(std::string_view target_id, const TargetInputSpec& spec,
                                         int member_index = 1);

struct EventContext {
  std::string_view event_json;  // the full envelope exactly as sent to targets (valid JSON)
  std::string_view rule_arn;
  std::string_view rule_name;
  int64_t ingestion_time_seconds = 0;
};

// Compiled once per target configuration, applied per delivery. Immutable after Create; Build is
// const and thread-safe. Cheap to copy.
class PayloadBuilder {
 public:
  // Validates (as ValidateTargetInput) and compiles.
  static StatusOr<PayloadBuilder> Create(std::string_view target_id, const TargetInputSpec& spec);

  // The payload, or a delivery error: INVALID_JSON when a JSON template's output does not parse,
  // INVALID_PARAMETER when it would exceed `max_bytes` (checked while building, so an amplifying
  // template stops at the cap instead of allocating its whole output).
  [[nodiscard]] StatusOr<std::string> Build(const EventContext& event,
                                            size_t max_bytes = kDefaultMaxPayloadBytes) const;

  PayloadBuilder(const PayloadBuilder&);
  PayloadBuilder& operator=(const PayloadBuilder&);
  PayloadBuilder(PayloadBuilder&&) noexcept;
  PayloadBuilder& operator=(PayloadBuilder&&) noexcept;
  ~PayloadBuilder();

 private:
  struct Compiled;
  explicit PayloadBuilder(std::shared_ptr<const Compiled> compiled);
  std::shared_ptr<const Compiled> compiled_;  // immutable, shared by copies
};

// ---- Delivery errors ----------------------------------------------------------------------

// Delivery-time failures of this module are DeliveryErrorCode::kInvalidJson or
// kInvalidParameter (common/delivery_error_code.h).
struct DeliveryError {
  DeliveryErrorCode code;
  std::string message;  // usable as ERROR_MESSAGE
};

// The Status a delivery-time failure is carried in: kValidation with `code` as its
// DetailDomain::kDelivery detail.
Status MakeDeliveryError(DeliveryErrorCode code, std::string_view message);

// Recovers {code, message} from a Status made by MakeDeliveryError; nullopt for anything else.
std::optional<DeliveryError> ParseDeliveryError(const Status& status);

// ---- HTTP request -------------------------------------------------------------------------

// Target HttpParameters. Values starting with `$.` or `$[` are JSON paths into the original event.
struct HttpParametersSpec {
  std::vector<std::string> path_parameter_values;
  std::vector<std::pair<std::string, std::string>> header_parameters;
  std::vector<std::pair<std::string, std::string>> query_string_parameters;
};

// A connection's InvocationHttpParameters (values already unsealed; never dynamic).
struct ConnectionParameter {
  std::string key;
  std::string value;
  bool is_secret = false;
};
struct ConnectionHttpParameters {
  std::vector<ConnectionParameter> header_parameters;
  std::vector<ConnectionParameter> query_string_parameters;
  std::vector<ConnectionParameter> body_parameters;
};

// The authorization header computed by auth/ (API key, Basic, Bearer).
struct AuthHeader {
  std::string name;
  std::string value;
};

// What the HTTP client sends. The client adds Host and Content-Length itself.
struct HttpRequestSpec {
  std::string method;
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;  // names as given, no duplicates
  std::string body;                                          // empty for GET/HEAD
  bool has_body = false;
  // For logs and attempt records: the same URL and headers with every secret value (connection
  // parameters with is_secret, and the auth header) replaced by "***".
  std::string redacted_url;
  std::vector<std::pair<std::string, std::string>> redacted_headers;
};

// Builds the final request per SPEC §8 (details in docs/semantics.md). Errors are delivery
// errors with code INVALID_PARAMETER (wildcard count mismatch, illegal header value, the URL plus
// headers or the body over `max_bytes` — checked as each `$.` value is expanded).
[[nodiscard]] StatusOr<HttpRequestSpec> BuildHttpRequest(
    std::string_view method, std::string_view endpoint, const HttpParametersSpec& target_params,
    const ConnectionHttpParameters& conn_params, const std::optional<AuthHeader>& auth,
    std::string_view original_event_json, std::string payload,
    size_t max_bytes = kDefaultMaxPayloadBytes);

// PutTargets-time validation of HttpParameters (entry counts, key/value lengths and syntax,
// `$.` paths). kValidation with the ValidationException text.
[[nodiscard]] Status ValidateHttpParameters(std::string_view target_id,
                                            const HttpParametersSpec& spec, int member_index = 1);

// Number of `*` path wildcards in an InvocationEndpoint (before any '?' or '#'); lets the
// control plane check PathParameterValues against a destination early if it wants to.
size_t CountEndpointWildcards(std::string_view endpoint);

// True for header names a user may not set (SPEC §8 deny-list), case-insensitive.
bool IsDeniedHeader(std::string_view name);

}  // namespace bp::transform
