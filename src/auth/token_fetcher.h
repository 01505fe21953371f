// Transport for token requests. The cache talks only to this interface, so tests script responses
// and production uses CurlTokenFetcher (curl_token_fetcher.h).
#pragma once

#include <functional>
#include <string>

#include "auth/oauth.h"

namespace bp::auth {

struct FetchResponse {
  enum class Transport {
    kOk,            // an HTTP response arrived; `status` and `body` are set
    kTimeout,       // no complete response within the deadline
    kNetworkError,  // DNS, connect, TLS, reset, shutdown, oversized response...
    kEgressDenied,  // the egress policy refused every address of the endpoint (permanent)
  };
  Transport transport = Transport::kNetworkError;
  int status = 0;
  std::string body;
  std::string error;  // transport error text (no credentials); empty when kOk
};

class TokenFetcher {
 public:
  virtual ~TokenFetcher() = default;
  // Sends `request` and calls `done` exactly once, possibly on another thread and possibly before
  // Fetch returns. Must not block the caller on network I/O.
  virtual void Fetch(TokenRequest request, std::function<void(FetchResponse)> done) = 0;
};

// Transport failures (timeout, network) are transient with reason "timeout: ..." or
// "network error: ..."; HTTP responses are classified by ParseTokenResponse.
TokenResult ClassifyFetchResponse(const FetchResponse& response, int64_t now_micros);

}  // namespace bp::auth
