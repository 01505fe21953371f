// HttpClient on libcurl's multi interface: one background thread drives every transfer with
// curl_multi_socket_action over epoll, so each wake-up costs in proportion to the sockets that are
// ready, not to the transfers in flight. Easy handles are pooled and reused.
//
// Behaviour (SPEC §8): connections are kept alive and shared across requests to the same origin;
// HTTP/2 is negotiated over TLS where the server offers it; TLS verification is on unless the
// global switch is off; redirects are never followed; the timeout covers the whole exchange;
// headers go out exactly as given (no Expect, Accept or Content-Type of curl's own, no
// User-Agent); HEAD has no body.
//
// Threading: Send() may be called from any thread; `done` callbacks run on the client's thread,
// one at a time, and must be cheap. Lifecycle: the destructor stops the thread; every transfer
// still queued or in flight then completes with kind kInternal and error "shutdown" (callbacks run
// on the client thread before the destructor returns); so do requests those callbacks submit.
// Send() racing with destruction from another thread is a bug.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "common/clock.h"
#include "common/status.h"
#include "delivery/http_client.h"
#include "egress/egress_policy.h"

namespace bp::delivery {

struct CurlHttpClientOptions {
  // Upper bound on open connections (all hosts), also the size of the idle-connection cache.
  int max_total_connections = 512;
  // Upper bound on connections per origin (scheme://authority; 0 = only the total bound
  // applies). One receiver rarely gains from more parallel HTTP/1.1 connections than this; over
  // HTTP/2 up to 100 transfers share each connection. Requests beyond it wait in the client in
  // FIFO order per origin (beyond the total bound, inside libcurl); the wait counts against their
  // timeout, and a request whose timeout passes while waiting fails with kTimeout unsent.
  int max_host_connections = 64;

  // PEM file with CAs trusted in addition to the system bundle.
  std::string extra_ca_file;
  // Global switch only (SPEC §8); never per destination.
  bool verify_tls = true;
  // Response body bytes read before the exchange is cut off as kResponseTooLarge.
  size_t max_response_bytes = size_t{1} << 20;
  // Response body bytes kept in HttpResult::body_prefix.
  size_t kept_body_bytes = 1024;
  // Judges every address a connection is opened to (SPEC §17); null allows everything. A transfer
  // whose every candidate address is refused completes with kEgressDenied.
  std::shared_ptr<const egress::Policy> egress;
};

class CurlMultiHttpClient final : public HttpClient {
 public:
  class Impl;

  // Validates options (reads the CA files) and starts the client thread. `clock` must outlive
  // the client; it stamps HttpResult::start_us / duration_us.
  [[nodiscard]] static StatusOr<std::unique_ptr<CurlMultiHttpClient>> Create(
      const CurlHttpClientOptions& options, const Clock& clock = RealClock::Get());

  // Use Create(); public only so that Create can use std::make_unique.
  explicit CurlMultiHttpClient(std::unique_ptr<Impl> impl);
  ~CurlMultiHttpClient() override;
  CurlMultiHttpClient(const CurlMultiHttpClient&) = delete;
  CurlMultiHttpClient& operator=(const CurlMultiHttpClient&) = delete;

  void Send(HttpRequest request, Done done) override;

  // Transfers submitted and not yet completed (for the `destination_inflight` family of gauges).
  int64_t InFlight() const;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace bp::delivery
