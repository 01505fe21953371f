// CurlTokenFetcher: TokenFetcher over libcurl. One worker thread drives a curl multi handle, so
// any number of token fetches proceed concurrently and Fetch() never blocks on the network.
// Lifecycle: Create -> Fetch from any thread -> destroy (joins the worker; transfers still in
// flight or queued complete with kNetworkError "fetcher shut down"). `done` callbacks run on the
// worker thread and must not block.
#pragma once

#include <memory>
#include <string>

#include "auth/token_fetcher.h"
#include "common/status.h"
#include "egress/egress_policy.h"

namespace bp::auth {

class CurlTokenFetcher final : public TokenFetcher {
 public:
  struct Options {
    int64_t timeout_ms = 5000;                 // whole exchange, DNS to last byte
    int64_t max_response_bytes = 1024 * 1024;  // larger answers fail as kNetworkError
    std::string ca_file;  // extra PEM CAs, trusted in addition to the system bundle
    // Judges every address a token request connects to (SPEC §17); null allows everything.
    // A refused endpoint answers kEgressDenied.
    std::shared_ptr<const egress::Policy> egress;
  };

  // kIoError/kValidation if ca_file is set but unreadable or holds no PEM certificate.
  static StatusOr<std::unique_ptr<CurlTokenFetcher>> Create(const Options& options);
  ~CurlTokenFetcher() override;

  // TLS peer and host verification are always on; redirects are never followed; only http and
  // https URLs are accepted.
  void Fetch(TokenRequest request, std::function<void(FetchResponse)> done) override;

  struct Impl;  // defined in the .cc; only Create can make one
  explicit CurlTokenFetcher(std::unique_ptr<Impl> impl);

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace bp::auth
