// Private to the libcurl client (curl_multi_http_client.cc: the client thread's loop and the
// handle pool; curl_multi_transfer.cc: per-origin queueing and configuring one transfer). Nothing
// outside src/delivery includes this.
#pragma once

#include <curl/curl.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "delivery/curl_multi_http_client.h"
#include "egress/curl_egress.h"

namespace bp::delivery {
namespace curl_detail {

struct EasyDeleter {
  void operator()(CURL* e) const { curl_easy_cleanup(e); }
};

// Host part of an absolute URL ("https://user@[::1]:8443/x" -> "[::1]"); empty if malformed.
std::string HostOf(std::string_view url);
// The HttpResult kind a failed transfer's CURLcode stands for.
HttpResult::Kind KindOf(CURLcode code);
StatusOr<std::string> ReadFile(const std::string& path);

struct Origin;

// One pooled easy handle and the state of the transfer it currently carries. A slot is either
// in Impl::free_ (idle, easy handle reset) or attached to the multi handle (in_use); every field
// is touched only by the client thread.
struct Slot {
  std::unique_ptr<CURL, EasyDeleter> easy;
  bool in_use = false;
  Origin* origin = nullptr;  // while in use
  HttpRequest request;
  HttpClient::Done done;
  HttpResult result;
  size_t body_bytes = 0;
  bool too_large = false;
  int64_t start_mono_us = 0;
  size_t max_body_bytes = 0;   // read limit
  size_t kept_body_bytes = 0;  // body_prefix limit
  // The request header list, built without allocating once warm: `header_text` holds the lines
  // NUL-separated and `header_nodes` links them. libcurl only reads the list.
  std::string header_text;
  std::vector<curl_slist> header_nodes;
  std::vector<size_t> header_offsets;
  char errbuf[CURL_ERROR_SIZE] = {};
  egress::CurlEgressGuard egress;  // this transfer's socket check
};

using SteadyTime = std::chrono::steady_clock::time_point;

// A request waiting for the client thread to pick it up, or for a connection to its origin.
struct Submission {
  HttpRequest request;
  HttpClient::Done done;
  SteadyTime deadline{};  // submission + timeout; set when the client thread takes it
};

// Requests to one origin. At most Impl::Limit(origin) of them are attached to libcurl at a time;
// the rest wait here in FIFO order, so libcurl never holds transfers that have no connection
// (its pending list costs a connection-cache scan per retry, which doubled the CPU per request).
struct Origin {
  int active = 0;            // transfers attached to the multi handle
  bool multiplexed = false;  // the last response came over HTTP/2
  std::deque<Submission> waiting;
};

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
};

// While requests wait for a connection, their deadlines are checked this often.
constexpr int kQueueSweepMs = 10;

}  // namespace curl_detail

class CurlMultiHttpClient::Impl {
 public:
  using Slot = curl_detail::Slot;
  using Submission = curl_detail::Submission;
  using Origin = curl_detail::Origin;
  using SteadyTime = curl_detail::SteadyTime;

  Impl(const CurlHttpClientOptions& options, const Clock& clock, std::string ca_blob)
      : options_(options), clock_(clock), ca_blob_(std::move(ca_blob)) {}
  ~Impl();
  Status Start();
  void Send(HttpRequest request, Done done);

  int64_t InFlight() const { return inflight_.load(std::memory_order_relaxed); }

 private:
  void Notify();
  // CURLMOPT_SOCKETFUNCTION: mirrors libcurl's interest in `s` into the epoll set. A socket we
  // registered carries a non-null `socketp` (curl_multi_assign) until libcurl removes it.
  static int OnSocket(CURL*, curl_socket_t s, int what, void* userp, void* socketp);
  // How long the loop may sleep: until libcurl's earliest deadline, at most kMaxWaitMs. Asked of
  // curl_multi_timeout each time rather than taken from a timer callback: libcurl reports a
  // deadline truncated to whole ms and does not repeat an unchanged one, so a timer that fires
  // early would be lost.
  int WaitMs() const;
  void Run();
  // Runs `done` with `result` on the client thread; exceptions stop here.
  void Deliver(Done done, HttpResult result);
  // Ends a submission that never got an easy handle.
  void Fail(Submission s, HttpResult::Kind kind, std::string error);
  // Returns a slot (already detached from the multi handle) to the pool and delivers its result;
  // `error` set means the transfer ends with `kind` and that error. The slot is reusable before
  // the callback runs, so work the callback submits can take it.
  void Release(Slot& slot, HttpResult::Kind kind, std::string error);
  void DropSlot(Slot* slot);
  // An idle slot with a fresh (or reset) easy handle that shares the TLS session cache.
  Slot* AcquireSlot();
  static size_t OnBody(char* data, size_t size, size_t nmemb, void* userp);
  static size_t OnHeader(char* data, size_t size, size_t nmemb, void* userp);
  // Fills slot.header_text/header_nodes from the request: headers exactly as given; curl's own
  // Accept/Expect/Content-Type are suppressed with "Name:". Returns false for an invalid header.
  // `accept_encoding` is set to the caller's Accept-Encoding, which goes to curl separately.
  static bool BuildHeaders(Slot& slot, const std::string** accept_encoding);
  // Transfers of `o` that may be attached to libcurl at once.
  int Limit(const Origin& o) const;
  // Takes a new submission: attached at once if its origin has room, else queued behind it.
  void Submit(Submission s, SteadyTime now);
  // Attaches queued requests of origins that got room (ready_), oldest first.
  void PumpOrigins();
  // Completes queued requests whose whole timeout passed before a connection was free.
  void SweepQueues();
  void FailQueuedTimeout(Submission s);
  // Configures a pooled easy handle for `s` (whose origin `o` has room) and hands it to
  // libcurl, or completes the submission with an error.
  void Attach(Submission s, Origin& o, SteadyTime now);
  void Finish(CURL* easy, CURLcode code);

  const CurlHttpClientOptions options_;
  const Clock& clock_;
  std::string ca_blob_;  // never modified; PEM bundle (system + extra CAs), empty = curl default
  CURLM* multi_ = nullptr;
  CURLSH* share_ = nullptr;
  int epoll_fd_ = -1;
  int event_fd_ = -1;  // written by Notify() to wake the client thread
  std::thread thread_;
  std::atomic<int64_t> inflight_{0};

  std::mutex mu_;
  std::vector<Submission> pending_;  // GUARDED_BY(mu_)
  bool notified_ = false;  // GUARDED_BY(mu_); an eventfd write is on its way since the last drain
  bool stop_ = false;      // GUARDED_BY(mu_)

  // Client thread only.
  std::vector<std::unique_ptr<Slot>> slots_;  // every slot, idle or in use
  std::vector<Slot*> free_;                   // idle slots, most recently used last
  std::unordered_map<std::string, std::unique_ptr<Origin>, curl_detail::StringHash, std::equal_to<>>
      origins_;
  std::vector<Origin*> ready_;  // origins with waiting requests that may have room now
  size_t waiting_ = 0;          // requests in all Origin::waiting queues
  SteadyTime next_sweep_{};
};

}  // namespace bp::delivery
