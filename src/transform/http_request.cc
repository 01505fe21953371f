// HttpParameters: PutTargets validation and the final API-destination request (SPEC §7, §8).
#include <algorithm>
#include <array>

#include "transform/json_path.h"
#include "transform/json_text.h"
#include "transform/transform.h"
#include "transform/validation_message.h"

namespace bp::transform {
namespace {

using Pairs = std::vector<std::pair<std::string, std::string>>;

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                            [](char x, char y) { return Lower(x) == Lower(y); });
}

bool StartsWithIgnoreCase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && EqualsIgnoreCase(s.substr(0, prefix.size()), prefix);
}

// RFC 9110 token characters (header field names).
bool IsTokenChar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool IsHeaderName(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), IsTokenChar);
}

// Field-value bytes that can travel in HTTP/1.1 and HTTP/2: no CR, LF, NUL or other controls
// except HTAB. Bytes >= 0x80 are allowed (obs-text).
bool IsSendableHeaderValue(std::string_view value) {
  return std::none_of(value.begin(), value.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return (u < 0x20 && c != '\t') || u == 0x7F;
  });
}

void AppendPercentEncoded(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (const char c : text) {
    const bool unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                            (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out.push_back(c);
    } else {
      const auto u = static_cast<unsigned char>(c);
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 0xF]);
    }
  }
}

Status InvalidParameter(std::string message) {
  return MakeDeliveryError(DeliveryErrorCode::kInvalidParameter, message);
}

// A target parameter value with `$.` references resolved against the event: nullopt when the
// path is missing; strings as their characters; other values as compact JSON.
StatusOr<std::optional<std::string>> Resolve(std::string_view value, std::string_view event) {
  if (!IsDynamicReference(value)) return std::optional<std::string>(std::string(value));
  StatusOr<JsonPath> path = JsonPath::Parse(value);
  if (!path.ok()) {
    return InvalidParameter("HttpParameters value " + std::string(value) +
                            " is not a valid JSON path (" + path.status().message() + ")");
  }
  const std::optional<std::string_view> found = path->Find(event);
  if (!found.has_value()) return std::optional<std::string>();
  if (KindOf(*found) == JsonKind::kString) {
    std::optional<std::string> decoded = DecodeString(*found);
    if (!decoded.has_value()) return Status::Internal("event text is not valid JSON");
    return decoded;
  }
  std::string compact;
  AppendMinified(compact, *found);
  return std::optional<std::string>(std::move(compact));
}

constexpr std::string_view kRedacted = "***";

// Headers being merged, with a secret flag per entry.
struct HeaderList {
  Pairs headers;
  std::vector<bool> secret;

  // Sets `name` (case-insensitive) to `value`, replacing an earlier entry in place.
  void Upsert(std::string_view name, std::string_view value, bool is_secret) {
    for (size_t i = 0; i < headers.size(); ++i) {
      if (EqualsIgnoreCase(headers[i].first, name)) {
        headers[i] = {std::string(name), std::string(value)};
        secret[i] = is_secret;
        return;
      }
    }
    headers.emplace_back(std::string(name), std::string(value));
    secret.push_back(is_secret);
  }
};

Status CheckHeader(std::string_view name, std::string_view value, std::string_view origin) {
  if (!IsHeaderName(name)) {
    return InvalidParameter(std::string(origin) + " header name '" + std::string(name) +
                            "' is not a valid HTTP header name");
  }
  if (!IsSendableHeaderValue(value)) {
    return InvalidParameter(std::string(origin) + " header '" + std::string(name) +
                            "' has a value with characters not allowed in HTTP headers");
  }
  return Status::Ok();
}

// Merges connection BodyParameters into the top level of a JSON-object payload (connection keys
// replace equal payload keys). Any other payload is returned unchanged.
std::string MergeBodyParameters(std::string payload,
                                const std::vector<ConnectionParameter>& params) {
  if (params.empty()) return payload;
  const size_t begin = SkipWs(payload, 0);
  const size_t end = SkipValue(payload, begin);
  if (end == std::string_view::npos ||
      KindOf(std::string_view(payload).substr(begin)) != JsonKind::kObject ||
      SkipWs(payload, end) != payload.size()) {
    return payload;
  }
  std::string out = "{";
  const std::string_view object = std::string_view(payload).substr(begin, end - begin);
  const bool ok = ForEachMember(object, [&](std::string_view key, std::string_view value) {
    const bool overridden =
        std::any_of(params.begin(), params.end(),
                    [&](const ConnectionParameter& p) { return KeyEquals(key, p.key); });
    if (overridden) return true;
    if (out.size() > 1) out.push_back(',');
    out += key;
    out.push_back(':');
    out += value;
    return true;
  });
  if (!ok) return payload;
  for (const ConnectionParameter& p : params) {
    if (out.size() > 1) out.push_back(',');
    AppendQuoted(out, p.key);
    out.push_back(':');
    AppendQuoted(out, p.value);
  }
  out.push_back('}');
  return out;
}

}  // namespace

size_t CountEndpointWildcards(std::string_view endpoint) {
  const std::string_view path = endpoint.substr(0, endpoint.find_first_of("?#"));
  return static_cast<size_t>(std::count(path.begin(), path.end(), '*'));
}

bool IsDeniedHeader(std::string_view name) {
  static constexpr std::array<std::string_view, 14> kDenied = {
      "User-Agent", "Range",     "Host", "Content-Length", "Connection", "Transfer-Encoding",
      "TE",         "Upgrade",   "Via",  "Date",           "Referer",    "Origin",
      "Expect",     "Keep-Alive"};
  for (const std::string_view denied : kDenied) {
    if (EqualsIgnoreCase(name, denied)) return true;
  }
  return StartsWithIgnoreCase(name, "Proxy-") || StartsWithIgnoreCase(name, "If-");
}

StatusOr<HttpRequestSpec> BuildHttpRequest(std::string_view method, std::string_view endpoint,
                                           const HttpParametersSpec& target_params,
                                           const ConnectionHttpParameters& conn_params,
                                           const std::optional<AuthHeader>& auth,
                                           std::string_view original_event_json,
                                           std::string payload, size_t max_bytes) {
  // `$.` values are expanded one at a time and the running size checked after each, so a
  // parameter set that repeats a large event field stops at the cap.
  auto too_large = [max_bytes](std::string_view what) {
    return InvalidParameter("The expanded " + std::string(what) + " exceed " +
                            std::to_string(max_bytes) + " bytes");
  };
  HttpRequestSpec request;
  request.method = std::string(method);

  // URL: wildcards in the path part, then the merged query. A fragment is never sent.
  const size_t path_end = std::min(endpoint.find_first_of("?#"), endpoint.size());
  const std::string_view path = endpoint.substr(0, path_end);
  std::string_view existing_query;
  if (path_end < endpoint.size() && endpoint[path_end] == '?') {
    existing_query = endpoint.substr(path_end + 1);
    existing_query = existing_query.substr(0, existing_query.find('#'));
  }
  const size_t wildcards = CountEndpointWildcards(endpoint);
  if (wildcards != target_params.path_parameter_values.size()) {
    return InvalidParameter("InvocationEndpoint has " + std::to_string(wildcards) +
                            " path wildcard(s) but PathParameterValues has " +
                            std::to_string(target_params.path_parameter_values.size()) +
                            " value(s)");
  }
  size_t next_value = 0;
  for (const char c : path) {
    if (c != '*') {
      request.url.push_back(c);
      continue;
    }
    BP_ASSIGN_OR_RETURN(
        std::optional<std::string> value,
        Resolve(target_params.path_parameter_values[next_value++], original_event_json));
    AppendPercentEncoded(request.url, value.value_or(std::string()));
    if (request.url.size() > max_bytes) return too_large("URL path parameters");
  }

  std::string query(existing_query);
  std::string redacted_query(existing_query);
  auto add_query = [&](std::string_view key, std::string_view value, bool is_secret) {
    for (std::string* out : {&query, &redacted_query}) {
      if (!out->empty()) out->push_back('&');
      AppendPercentEncoded(*out, key);
      out->push_back('=');
    }
    AppendPercentEncoded(query, value);
    if (is_secret) {
      redacted_query += kRedacted;
    } else {
      AppendPercentEncoded(redacted_query, value);
    }
  };
  for (const auto& param : target_params.query_string_parameters) {
    const std::string& key = param.first;
    const std::string& raw = param.second;
    const bool overridden = std::any_of(
        conn_params.query_string_parameters.begin(), conn_params.query_string_parameters.end(),
        [&key](const ConnectionParameter& p) { return p.key == key; });
    if (overridden) continue;
    BP_ASSIGN_OR_RETURN(std::optional<std::string> value, Resolve(raw, original_event_json));
    if (value.has_value()) add_query(key, *value, false);
    if (request.url.size() + query.size() > max_bytes) return too_large("URL query parameters");
  }
  for (const ConnectionParameter& p : conn_params.query_string_parameters) {
    add_query(p.key, p.value, p.is_secret);
  }
  request.redacted_url = request.url;
  if (!query.empty()) {
    request.url.push_back('?');
    request.url += query;
    request.redacted_url.push_back('?');
    request.redacted_url += redacted_query;
  }

  // Headers: fixed < target < connection < auth; deny-listed user headers are dropped.
  HeaderList headers;
  headers.Upsert("User-Agent", "Amazon/EventBridge/ApiDestinations", false);
  headers.Upsert("Content-Type", "application/json; charset=utf-8", false);
  headers.Upsert("Range", "bytes=0-1048575", false);
  headers.Upsert("Accept-Encoding", "gzip,deflate", false);
  size_t header_bytes = 0;
  for (const auto& [name, raw] : target_params.header_parameters) {
    if (IsDeniedHeader(name)) continue;
    BP_ASSIGN_OR_RETURN(std::optional<std::string> value, Resolve(raw, original_event_json));
    if (!value.has_value()) continue;
    BP_RETURN_IF_ERROR(CheckHeader(name, *value, "Target"));
    header_bytes += name.size() + value->size();
    if (header_bytes > max_bytes) return too_large("header parameters");
    headers.Upsert(name, *value, false);
  }
  for (const ConnectionParameter& p : conn_params.header_parameters) {
    if (IsDeniedHeader(p.key)) continue;
    BP_RETURN_IF_ERROR(CheckHeader(p.key, p.value, "Connection"));
    headers.Upsert(p.key, p.value, p.is_secret);
  }
  if (auth.has_value()) {
    BP_RETURN_IF_ERROR(CheckHeader(auth->name, auth->value, "Authorization"));
    headers.Upsert(auth->name, auth->value, true);
  }
  request.redacted_headers = headers.headers;
  for (size_t i = 0; i < headers.secret.size(); ++i) {
    if (headers.secret[i]) request.redacted_headers[i].second = std::string(kRedacted);
  }
  request.headers = std::move(headers.headers);

  const bool bodyless = EqualsIgnoreCase(method, "GET") || EqualsIgnoreCase(method, "HEAD");
  if (!bodyless) {
    request.body = MergeBodyParameters(std::move(payload), conn_params.body_parameters);
    request.has_body = true;
  }
  return request;
}

// ---- PutTargets validation ----------------------------------------------------------------

namespace {

std::string HttpField(int member_index, std::string_view name) {
  return "targets." + std::to_string(member_index) + ".member.httpParameters." + std::string(name);
}

bool AllBytes(std::string_view s, bool (*ok)(unsigned char)) {
  return std::all_of(s.begin(), s.end(),
                     [ok](char c) { return ok(static_cast<unsigned char>(c)); });
}

// AWS's patterns: header values are printable ASCII or HTAB; query keys exclude C0 controls and
// DEL; query values exclude them too except LF and CR (percent-encoded when sent).
bool HeaderValueByte(unsigned char c) { return c == '\t' || (c >= 0x20 && c < 0x7F); }
bool QueryKeyByte(unsigned char c) { return c >= 0x20 && c != 0x7F; }
bool QueryValueByte(unsigned char c) { return c == '\n' || c == '\r' || (c >= 0x20 && c != 0x7F); }

Status CheckDynamic(std::string_view target_id, std::string_view value) {
  if (!IsDynamicReference(value)) return Status::Ok();
  StatusOr<JsonPath> path = JsonPath::Parse(value);
  if (path.ok()) return Status::Ok();
  return Status::Validation("Invalid HttpParameters for target " + std::string(target_id) + " : " +
                            std::string(value) + " is not a valid JSON path (" +
                            path.status().message() + ").");
}

Status CheckValue(std::string_view target_id, std::string_view value, const std::string& field,
                  bool (*byte_ok)(unsigned char), std::string_view pattern) {
  if (value.size() > kMaxHttpParameterLength) {
    return ShapeError(value, field,
                      "Map value must satisfy constraint: [Member must have length less than or "
                      "equal to 512]");
  }
  if (IsDynamicReference(value)) return CheckDynamic(target_id, value);
  if (value.empty() || !AllBytes(value, byte_ok)) {
    return ShapeError(value, field,
                      "Map value must satisfy constraint: [Member must satisfy regular expression "
                      "pattern: " +
                          std::string(pattern) + "]");
  }
  return Status::Ok();
}

Status CheckCount(size_t count, const std::string& field) {
  if (count <= kMaxHttpParameterEntries) return Status::Ok();
  return ShapeError(std::to_string(count) + " entries", field,
                    "Member must have length less than or equal to 512");
}

}  // namespace

Status ValidateHttpParameters(std::string_view target_id, const HttpParametersSpec& spec,
                              int member_index) {
  const std::string path_field = HttpField(member_index, "pathParameterValues");
  BP_RETURN_IF_ERROR(CheckCount(spec.path_parameter_values.size(), path_field));
  for (const std::string& value : spec.path_parameter_values) {
    const bool blank = std::all_of(value.begin(), value.end(), [](char c) {
      return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
    });
    if (blank || value.size() > kMaxHttpParameterLength) {
      return ShapeError(value, path_field,
                        "Member must satisfy constraint: [Member must have length less than or "
                        "equal to 512, Member must satisfy regular expression pattern: "
                        "^(?!\\s*$).+]");
    }
    BP_RETURN_IF_ERROR(CheckDynamic(target_id, value));
  }

  const std::string header_field = HttpField(member_index, "headerParameters");
  BP_RETURN_IF_ERROR(CheckCount(spec.header_parameters.size(), header_field));
  for (const auto& [key, value] : spec.header_parameters) {
    if (key.size() > kMaxHttpParameterLength || !IsHeaderName(key)) {
      return ShapeError(key, header_field,
                        "Map keys must satisfy constraint: [Member must have length less than or "
                        "equal to 512, Member must satisfy regular expression pattern: "
                        "^[!#$%&'*+-.^_`|~0-9a-zA-Z]+$]");
    }
    BP_RETURN_IF_ERROR(CheckValue(target_id, value, header_field, HeaderValueByte,
                                  "^[ \\t]*[\\x20-\\x7E]+([ \\t]+[\\x20-\\x7E]+)*[ \\t]*$"));
  }

  const std::string query_field = HttpField(member_index, "queryStringParameters");
  BP_RETURN_IF_ERROR(CheckCount(spec.query_string_parameters.size(), query_field));
  for (const auto& [key, value] : spec.query_string_parameters) {
    if (key.empty() || key.size() > kMaxHttpParameterLength || !AllBytes(key, QueryKeyByte)) {
      return ShapeError(key, query_field,
                        "Map keys must satisfy constraint: [Member must have length less than or "
                        "equal to 512, Member must satisfy regular expression pattern: "
                        "[^\\x00-\\x1F\\x7F]+]");
    }
    BP_RETURN_IF_ERROR(CheckValue(target_id, value, query_field, QueryValueByte,
                                  "[^\\x00-\\x09\\x0B\\x0C\\x0E-\\x1F\\x7F]+"));
  }
  return Status::Ok();
}

}  // namespace bp::transform
