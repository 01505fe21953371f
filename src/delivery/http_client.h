// The HTTP client interface the delivery engine sends attempts through, and its result type.
//
// The scheduler builds an HttpRequest (final headers, body, timeout) and calls Send(); exactly
// one HttpResult comes back through `done` per Send(). Nothing here interprets status codes:
// retry_policy.h classifies results.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bp::delivery {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method;  // GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS
  std::string url;
  // Sent exactly as given, in order (the client adds only Host and, with a body, Content-Length).
  HttpHeaders headers;
  std::string body;
  int64_t timeout_ms = 5000;  // the whole exchange, from submission to the last byte read
  // Bytes of the response body to keep in HttpResult::body_prefix; 0 keeps the client's default
  // (1 KiB). Pipe enrichments keep the whole body (up to the read limit).
  size_t keep_body_bytes = 0;
};

struct HttpResult {
  enum class Kind {
    kResponse,          // a complete response was read; `status` is set
    kTimeout,           // the exchange did not finish within timeout_ms
    kConnectionFailed,  // refused, reset, TLS handshake/I/O error, transient DNS failure
    kDnsNotFound,       // the host name does not resolve
    kTlsCertificate,    // the server certificate was rejected
    kResponseTooLarge,  // more than the read limit (1 MiB) of body; `status` is set
    kInternal,          // bad request fields, client shut down, out of resources
    kEgressDenied,      // every address was refused by the egress policy (SPEC §17)
  };

  Kind kind = Kind::kInternal;
  int status = 0;           // HTTP status when kind is kResponse or kResponseTooLarge, else 0
  std::string host;         // host part of the request URL, for error messages
  HttpHeaders headers;      // response headers of the final response, names as received
  std::string body_prefix;  // the first <= 1 KiB (or keep_body_bytes) of the response body
  int64_t start_us = 0;     // wall clock when the transfer was handed to the transport
  int64_t duration_us = 0;  // monotonic time from start to completion
  bool reused_connection = false;  // no new connection had to be opened for this exchange
  std::string error;               // transport error description; empty for kResponse

  // First header named `name` (ASCII case-insensitive), if any.
  std::optional<std::string_view> Header(std::string_view name) const;
};

std::string_view HttpResultKindName(HttpResult::Kind kind);

// Sends HTTP requests asynchronously. Implementations are thread-safe for Send().
class HttpClient {
 public:
  using Done = std::function<void(HttpResult)>;
  virtual ~HttpClient() = default;

  // Starts `request`; `done` is called exactly once with the result, on a thread chosen by the
  // implementation (possibly before Send returns). `done` must be cheap and must not block.
  virtual void Send(HttpRequest request, Done done) = 0;
};

}  // namespace bp::delivery
