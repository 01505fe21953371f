#include "delivery/curl_multi_http_client.h"

#include <curl/curl.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <deque>
#include <fstream>
#include <iterator>
#include <limits>
#include <mutex>
#include <sstream>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/log.h"
#include "egress/curl_egress.h"

namespace bp::delivery {
namespace {

constexpr size_t kMaxResponseHeaders = 200;
constexpr size_t kMaxHeaderLineBytes = 16 * 1024;

bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// Host part of an absolute URL ("https://user@[::1]:8443/x" -> "[::1]"); empty if malformed.
std::string HostOf(std::string_view url) {
  const size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return {};
  std::string_view rest = url.substr(scheme + 3);
  rest = rest.substr(0, rest.find_first_of("/?#"));
  if (const size_t at = rest.rfind('@'); at != std::string_view::npos) rest.remove_prefix(at + 1);
  if (!rest.empty() && rest.front() == '[') {
    const size_t close = rest.find(']');
    return close == std::string_view::npos ? std::string() : std::string(rest.substr(0, close + 1));
  }
  return std::string(rest.substr(0, rest.find(':')));
}

// "scheme://authority" of an absolute URL: the unit the per-host connection bound applies to.
std::string_view OriginOf(std::string_view url) {
  const size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return url;
  return url.substr(0, url.find_first_of("/?#", scheme + 3));
}

bool ValidHeaderName(std::string_view name) {
  if (name.empty()) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u > 0x20 && u < 0x7f && c != ':' && c != ';';
  });
}

bool ValidHeaderValue(std::string_view value) {
  return value.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

HttpResult::Kind KindOf(CURLcode code) {
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
      return HttpResult::Kind::kTimeout;
    case CURLE_COULDNT_RESOLVE_HOST:
      return HttpResult::Kind::kDnsNotFound;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_ISSUER_ERROR:
      return HttpResult::Kind::kTlsCertificate;
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_HTTP3:
    case CURLE_QUIC_CONNECT_ERROR:
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_BAD_CONTENT_ENCODING:
      return HttpResult::Kind::kConnectionFailed;
    default:
      return HttpResult::Kind::kInternal;
  }
}

struct EasyDeleter {
  void operator()(CURL* e) const { curl_easy_cleanup(e); }
};

StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::Validation("cannot read CA file " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

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

// Idle easy handles kept beyond this many are freed (the pool otherwise stays at its peak).
constexpr size_t kMaxIdleHandles = 1024;
// Upper bound on one epoll_wait, so a missed timer can never stall the loop for long.
constexpr int kMaxWaitMs = 1000;
// While requests wait for a connection, their deadlines are checked this often.
constexpr int kQueueSweepMs = 10;
// HTTP/2 streams assumed per connection (libcurl's CURLMOPT_MAX_CONCURRENT_STREAMS default).
constexpr int kStreamsPerConnection = 100;
// Idle origins (nothing active or waiting) are forgotten once there are more than this many.
constexpr size_t kMaxOrigins = 1024;

// Set on the client thread while it runs, so Send() from a callback skips the eventfd write
// (the loop drains the submission queue before it sleeps again).
thread_local const void* tls_client_thread_of = nullptr;

}  // namespace

class CurlMultiHttpClient::Impl {
 public:
  Impl(const CurlHttpClientOptions& options, const Clock& clock, std::string ca_blob)
      : options_(options), clock_(clock), ca_blob_(std::move(ca_blob)) {}

  ~Impl() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    Notify();
    if (thread_.joinable()) thread_.join();
    // Run() removed every easy handle from the multi handle. The multi handle goes first (it may
    // still report sockets to close), then the easy handles, then the share they use.
    if (multi_ != nullptr) curl_multi_cleanup(multi_);
    free_.clear();
    slots_.clear();
    if (share_ != nullptr) curl_share_cleanup(share_);
    if (event_fd_ >= 0) close(event_fd_);
    if (epoll_fd_ >= 0) close(epoll_fd_);
  }

  Status Start() {
    epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
    if (epoll_fd_ < 0) return Status::Internal("epoll_create1 failed");
    event_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (event_fd_ < 0) return Status::Internal("eventfd failed");
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = event_fd_;
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, event_fd_, &ev) != 0) {
      return Status::Internal("epoll_ctl(eventfd) failed");
    }
    // TLS sessions are shared by all pooled handles, so a new connection can resume a session.
    share_ = curl_share_init();
    if (share_ == nullptr) return Status::Internal("curl_share_init failed");
    curl_share_setopt(share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);

    multi_ = curl_multi_init();
    if (multi_ == nullptr) return Status::Internal("curl_multi_init failed");
    const long total = std::max(1, options_.max_total_connections);
    curl_multi_setopt(multi_, CURLMOPT_MAX_TOTAL_CONNECTIONS, total);
    curl_multi_setopt(multi_, CURLMOPT_MAXCONNECTS, total);
    curl_multi_setopt(multi_, CURLMOPT_MAX_HOST_CONNECTIONS,
                      static_cast<long>(std::max(0, options_.max_host_connections)));
    curl_multi_setopt(multi_, CURLMOPT_PIPELINING, static_cast<long>(CURLPIPE_MULTIPLEX));
    curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &Impl::OnSocket);
    curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
    thread_ = std::thread([this] { Run(); });
    pthread_setname_np(thread_.native_handle(), "bp-http");  // for top/perf
    return Status::Ok();
  }

  void Send(HttpRequest request, Done done) {
    inflight_.fetch_add(1, std::memory_order_relaxed);
    bool notify = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      pending_.push_back(Submission{std::move(request), std::move(done)});
      if (!notified_ && tls_client_thread_of != this) notify = notified_ = true;
    }
    if (notify) Notify();
  }

  int64_t InFlight() const { return inflight_.load(std::memory_order_relaxed); }

 private:
  void Notify() {
    const uint64_t one = 1;
    // EAGAIN means the counter is already non-zero: the loop will wake anyway.
    [[maybe_unused]] const ssize_t n = write(event_fd_, &one, sizeof(one));
  }

  // CURLMOPT_SOCKETFUNCTION: mirrors libcurl's interest in `s` into the epoll set. A socket we
  // registered carries a non-null `socketp` (curl_multi_assign) until libcurl removes it.
  static int OnSocket(CURL*, curl_socket_t s, int what, void* userp, void* socketp) {
    auto* self = static_cast<Impl*>(userp);
    if (what == CURL_POLL_REMOVE) {
      epoll_ctl(self->epoll_fd_, EPOLL_CTL_DEL, s, nullptr);  // may already be closed: ignored
      return 0;
    }
    epoll_event ev{};
    ev.events = ((what & CURL_POLL_IN) ? EPOLLIN : 0u) | ((what & CURL_POLL_OUT) ? EPOLLOUT : 0u);
    ev.data.fd = s;
    if (socketp == nullptr) {
      if (epoll_ctl(self->epoll_fd_, EPOLL_CTL_ADD, s, &ev) != 0 && errno == EEXIST) {
        epoll_ctl(self->epoll_fd_, EPOLL_CTL_MOD, s, &ev);
      }
      curl_multi_assign(self->multi_, s, self);
    } else if (epoll_ctl(self->epoll_fd_, EPOLL_CTL_MOD, s, &ev) != 0 && errno == ENOENT) {
      epoll_ctl(self->epoll_fd_, EPOLL_CTL_ADD, s, &ev);
    }
    return 0;
  }

  // How long the loop may sleep: until libcurl's earliest deadline, at most kMaxWaitMs. Asked of
  // curl_multi_timeout each time rather than taken from a timer callback: libcurl reports a
  // deadline truncated to whole ms and does not repeat an unchanged one, so a timer that fires
  // early would be lost.
  int WaitMs() const {
    long ms = -1;
    curl_multi_timeout(multi_, &ms);
    const long cap = waiting_ > 0 ? kQueueSweepMs : kMaxWaitMs;
    return ms < 0 ? static_cast<int>(cap) : static_cast<int>(std::min<long>(ms, cap));
  }

  void Run() {
    tls_client_thread_of = this;
    std::vector<Submission> batch;
    std::array<epoll_event, 256> events;
    int running = 0;
    while (true) {
      bool stop;
      {
        std::lock_guard<std::mutex> lock(mu_);
        batch.swap(pending_);
        notified_ = false;
        stop = stop_;
      }
      if (stop) break;
      if (!batch.empty()) {
        const SteadyTime now = std::chrono::steady_clock::now();
        for (auto& s : batch) Submit(std::move(s), now);
        batch.clear();
      }

      const int n = epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()), WaitMs());
      for (int i = 0; i < n; ++i) {
        const int fd = events[i].data.fd;
        if (fd == event_fd_) {
          uint64_t count;
          [[maybe_unused]] const ssize_t r = read(event_fd_, &count, sizeof(count));
          continue;
        }
        const uint32_t e = events[i].events;
        int mask = 0;
        if (e & (EPOLLIN | EPOLLHUP)) mask |= CURL_CSELECT_IN;
        if (e & EPOLLOUT) mask |= CURL_CSELECT_OUT;
        if (e & EPOLLERR) mask |= CURL_CSELECT_ERR;
        curl_multi_socket_action(multi_, fd, mask, &running);
      }
      long timeout_ms = -1;
      curl_multi_timeout(multi_, &timeout_ms);
      if (timeout_ms == 0) curl_multi_socket_action(multi_, CURL_SOCKET_TIMEOUT, 0, &running);
      int queued = 0;
      while (CURLMsg* msg = curl_multi_info_read(multi_, &queued)) {
        if (msg->msg == CURLMSG_DONE) Finish(msg->easy_handle, msg->data.result);
      }
      PumpOrigins();
      if (waiting_ > 0) SweepQueues();
    }

    for (auto& s : batch) Fail(std::move(s), HttpResult::Kind::kInternal, "shutdown");
    batch.clear();
    for (auto& [key, origin] : origins_) {
      while (!origin->waiting.empty()) {
        Submission s = std::move(origin->waiting.front());
        origin->waiting.pop_front();
        Fail(std::move(s), HttpResult::Kind::kInternal, "shutdown");
      }
    }
    std::vector<Slot*> busy;
    for (const auto& slot : slots_) {
      if (slot->in_use) busy.push_back(slot.get());
    }
    for (Slot* slot : busy) {  // Release may free a slot, so not a loop over slots_
      curl_multi_remove_handle(multi_, slot->easy.get());
      Release(*slot, HttpResult::Kind::kInternal, "shutdown");
    }
    // Callbacks above may have submitted more work; it fails the same way.
    while (true) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        batch.swap(pending_);
      }
      if (batch.empty()) break;
      for (auto& s : batch) Fail(std::move(s), HttpResult::Kind::kInternal, "shutdown");
      batch.clear();
    }
  }

  // Runs `done` with `result` on the client thread; exceptions stop here.
  void Deliver(Done done, HttpResult result) {
    inflight_.fetch_sub(1, std::memory_order_relaxed);
    try {
      done(std::move(result));
    } catch (const std::exception& e) {
      log::Error("delivery", "http client callback threw", {{"error", e.what()}});
    } catch (...) {
      log::Error("delivery", "http client callback threw");
    }
  }

  // Ends a submission that never got an easy handle.
  void Fail(Submission s, HttpResult::Kind kind, std::string error) {
    HttpResult r;
    r.kind = kind;
    r.error = std::move(error);
    r.host = HostOf(s.request.url);
    r.start_us = clock_.NowMicros();
    Deliver(std::move(s.done), std::move(r));
  }

  // Returns a slot (already detached from the multi handle) to the pool and delivers its result;
  // `error` set means the transfer ends with `kind` and that error. The slot is reusable before
  // the callback runs, so work the callback submits can take it.
  void Release(Slot& slot, HttpResult::Kind kind, std::string error) {
    if (!error.empty()) {
      slot.result.kind = kind;
      slot.result.error = std::move(error);
    }
    Done done = std::move(slot.done);
    HttpResult result = std::move(slot.result);
    slot.result = HttpResult();
    slot.done = nullptr;
    slot.request.body.clear();
    slot.request.headers.clear();
    slot.in_use = false;
    if (Origin* o = std::exchange(slot.origin, nullptr)) {
      o->active--;
      if (!o->waiting.empty()) ready_.push_back(o);
    }
    if (slot.easy) curl_easy_reset(slot.easy.get());
    if (slot.easy && free_.size() < kMaxIdleHandles) {
      free_.push_back(&slot);
    } else {
      DropSlot(&slot);
    }
    Deliver(std::move(done), std::move(result));
  }

  void DropSlot(Slot* slot) {
    auto it = std::find_if(slots_.begin(), slots_.end(),
                           [slot](const std::unique_ptr<Slot>& s) { return s.get() == slot; });
    if (it == slots_.end()) return;
    std::swap(*it, slots_.back());
    slots_.pop_back();
  }

  // An idle slot with a fresh (or reset) easy handle that shares the TLS session cache.
  Slot* AcquireSlot() {
    if (!free_.empty()) {
      Slot* s = free_.back();
      free_.pop_back();
      return s;
    }
    auto slot = std::make_unique<Slot>();
    slot->easy.reset(curl_easy_init());
    if (!slot->easy) return nullptr;
    curl_easy_setopt(slot->easy.get(), CURLOPT_SHARE, share_);  // survives curl_easy_reset
    slots_.push_back(std::move(slot));
    return slots_.back().get();
  }

  static size_t OnBody(char* data, size_t size, size_t nmemb, void* userp) {
    auto* t = static_cast<Slot*>(userp);
    const size_t n = size * nmemb;
    const size_t keep = t->result.body_prefix.size();
    if (keep < t->kept_body_bytes) {
      t->result.body_prefix.append(data, std::min(n, t->kept_body_bytes - keep));
    }
    t->body_bytes += n;
    if (t->body_bytes > t->max_body_bytes) {
      t->too_large = true;
      return 0;  // aborts the transfer with CURLE_WRITE_ERROR
    }
    return n;
  }

  static size_t OnHeader(char* data, size_t size, size_t nmemb, void* userp) {
    auto* t = static_cast<Slot*>(userp);
    const size_t n = size * nmemb;
    std::string_view line(data, n);
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
    if (line.starts_with("HTTP/")) {
      t->result.headers.clear();  // a new (final or interim) response starts
      return n;
    }
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return n;
    if (t->result.headers.size() >= kMaxResponseHeaders || line.size() > kMaxHeaderLineBytes) {
      return n;
    }
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
      value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
    t->result.headers.emplace_back(std::string(line.substr(0, colon)), std::string(value));
    return n;
  }

  // Fills slot.header_text/header_nodes from the request: headers exactly as given; curl's own
  // Accept/Expect/Content-Type are suppressed with "Name:". Returns false for an invalid header.
  // `accept_encoding` is set to the caller's Accept-Encoding, which goes to curl separately.
  static bool BuildHeaders(Slot& slot, const std::string** accept_encoding) {
    std::string& text = slot.header_text;
    std::vector<size_t>& offsets = slot.header_offsets;
    text.clear();
    offsets.clear();
    bool has_accept = false, has_content_type = false;
    auto add = [&](std::string_view a, std::string_view b, std::string_view c) {
      offsets.push_back(text.size());
      text.append(a).append(b).append(c).push_back('\0');
    };
    for (const auto& [name, value] : slot.request.headers) {
      if (!ValidHeaderName(name) || !ValidHeaderValue(value)) return false;
      if (IEquals(name, "Expect")) continue;  // never 100-continue (SPEC §8 drops Expect)
      if (IEquals(name, "Accept-Encoding")) {
        *accept_encoding = &value;  // sent by curl itself so it can decode the body
        continue;
      }
      has_accept = has_accept || IEquals(name, "Accept");
      has_content_type = has_content_type || IEquals(name, "Content-Type");
      if (value.empty()) {
        add(name, ";", "");
      } else {
        add(name, ": ", value);
      }
    }
    if (!has_accept) add("Accept:", "", "");
    if (!has_content_type) add("Content-Type:", "", "");
    add("Expect:", "", "");
    // Link only now: `text` no longer reallocates.
    std::vector<curl_slist>& nodes = slot.header_nodes;
    nodes.resize(offsets.size());
    for (size_t i = 0; i < offsets.size(); ++i) {
      nodes[i].data = text.data() + offsets[i];
      nodes[i].next = i + 1 < offsets.size() ? &nodes[i + 1] : nullptr;
    }
    return true;
  }

  // Transfers of `o` that may be attached to libcurl at once.
  int Limit(const Origin& o) const {
    const int conns = options_.max_host_connections;
    if (conns <= 0) return std::numeric_limits<int>::max();
    return o.multiplexed ? conns * kStreamsPerConnection : conns;
  }

  // Takes a new submission: attached at once if its origin has room, else queued behind it.
  void Submit(Submission s, SteadyTime now) {
    if (HostOf(s.request.url).empty()) {
      return Fail(std::move(s), HttpResult::Kind::kInternal, "invalid URL");
    }
    s.deadline = now + std::chrono::milliseconds(std::max<int64_t>(1, s.request.timeout_ms));
    const std::string_view key = OriginOf(s.request.url);
    auto it = origins_.find(key);
    if (it == origins_.end()) {
      if (origins_.size() >= kMaxOrigins) {  // only when a new origin appears: amortised
        std::erase_if(origins_, [](const auto& kv) {
          return kv.second->active == 0 && kv.second->waiting.empty();
        });
      }
      it = origins_.emplace(std::string(key), std::make_unique<Origin>()).first;
    }
    Origin& o = *it->second;
    if (o.waiting.empty() && o.active < Limit(o)) return Attach(std::move(s), o, now);
    o.waiting.push_back(std::move(s));
    waiting_++;
  }

  // Attaches queued requests of origins that got room (ready_), oldest first.
  void PumpOrigins() {
    while (!ready_.empty()) {
      std::vector<Origin*> ready;
      ready.swap(ready_);
      const SteadyTime now = std::chrono::steady_clock::now();
      for (Origin* o : ready) {
        while (!o->waiting.empty() && o->active < Limit(*o)) {
          Submission s = std::move(o->waiting.front());
          o->waiting.pop_front();
          waiting_--;
          if (s.deadline <= now) {
            FailQueuedTimeout(std::move(s));
          } else {
            Attach(std::move(s), *o, now);
          }
        }
      }
    }
  }

  // Completes queued requests whose whole timeout passed before a connection was free.
  void SweepQueues() {
    const SteadyTime now = std::chrono::steady_clock::now();
    if (now < next_sweep_) return;
    next_sweep_ = now + std::chrono::milliseconds(kQueueSweepMs);
    std::vector<Submission> expired;
    for (auto& [key, o] : origins_) {
      std::deque<Submission>& q = o->waiting;
      if (std::none_of(q.begin(), q.end(),
                       [&](const Submission& s) { return s.deadline <= now; })) {
        continue;
      }
      std::deque<Submission> keep;
      for (auto& s : q) {
        if (s.deadline <= now) {
          expired.push_back(std::move(s));
        } else {
          keep.push_back(std::move(s));
        }
      }
      q.swap(keep);
    }
    waiting_ -= expired.size();
    for (auto& s : expired) FailQueuedTimeout(std::move(s));
  }

  void FailQueuedTimeout(Submission s) {
    const int64_t ms = s.request.timeout_ms;
    Fail(std::move(s), HttpResult::Kind::kTimeout,
         "timed out after " + std::to_string(ms) + " ms waiting for a free connection");
  }

  // Configures a pooled easy handle for `s` (whose origin `o` has room) and hands it to
  // libcurl, or completes the submission with an error.
  void Attach(Submission s, Origin& o, SteadyTime now) {
    Slot* slot = AcquireSlot();
    if (slot == nullptr) {
      return Fail(std::move(s), HttpResult::Kind::kInternal, "curl_easy_init failed");
    }
    Slot& t = *slot;
    t.in_use = true;
    t.origin = &o;
    o.active++;
    // libcurl's own timeout gets what is left after the wait in the origin queue.
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(s.deadline - now).count();
    s.request.timeout_ms = std::max<int64_t>(1, left);
    t.request = std::move(s.request);
    t.done = std::move(s.done);
    t.body_bytes = 0;
    t.too_large = false;
    t.errbuf[0] = '\0';
    t.max_body_bytes = options_.max_response_bytes;
    t.kept_body_bytes = t.request.keep_body_bytes
                            ? std::min(t.request.keep_body_bytes, options_.max_response_bytes)
                            : options_.kept_body_bytes;
    t.result.host = HostOf(t.request.url);
    t.result.start_us = clock_.NowMicros();
    t.start_mono_us = clock_.MonotonicMicros();
    t.result.headers.reserve(16);

    const std::string* accept_encoding = nullptr;
    if (!BuildHeaders(t, &accept_encoding)) {
      return Release(t, HttpResult::Kind::kInternal, "invalid request header");
    }
    CURL* e = t.easy.get();
    const HttpRequest& req = t.request;
    curl_easy_setopt(e, CURLOPT_PRIVATE, slot);
    curl_easy_setopt(e, CURLOPT_URL, req.url.c_str());
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS,
                     static_cast<long>(std::max<int64_t>(1, req.timeout_ms)));
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_2TLS));
    if (req.url.starts_with("https:")) curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, t.header_nodes.data());
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t.errbuf);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &Impl::OnBody);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, slot);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &Impl::OnHeader);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, slot);
    t.egress.Arm(e, options_.egress.get(), req.url);
    if (accept_encoding != nullptr) {
      curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, accept_encoding->c_str());
    }
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, options_.verify_tls ? 1L : 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, options_.verify_tls ? 2L : 0L);
    if (!ca_blob_.empty()) {
      curl_blob blob{ca_blob_.data(), ca_blob_.size(), CURL_BLOB_NOCOPY};
      curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &blob);
    }

    const std::string& m = req.method;
    const bool sends_body = !req.body.empty() || m == "POST" || m == "PUT" || m == "PATCH";
    if (m == "HEAD") {
      curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    } else if (sends_body) {
      curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
      curl_easy_setopt(e, CURLOPT_POSTFIELDS, req.body.data());
      if (m != "POST") curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, m.c_str());
    } else if (m != "GET") {
      curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, m.c_str());
    }

    if (curl_multi_add_handle(multi_, e) != CURLM_OK) {
      return Release(t, HttpResult::Kind::kInternal, "curl_multi_add_handle failed");
    }
  }

  void Finish(CURL* easy, CURLcode code) {
    char* priv = nullptr;
    curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
    auto* slot = reinterpret_cast<Slot*>(priv);
    if (slot == nullptr || !slot->in_use) return;
    curl_multi_remove_handle(multi_, easy);

    HttpResult& r = slot->result;
    r.duration_us = clock_.MonotonicMicros() - slot->start_mono_us;
    long status = 0;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    long connects = 0;
    curl_easy_getinfo(easy, CURLINFO_NUM_CONNECTS, &connects);
    r.reused_connection = connects == 0;
    if (code == CURLE_OK && slot->origin != nullptr) {
      long version = 0;
      curl_easy_getinfo(easy, CURLINFO_HTTP_VERSION, &version);
      const bool multiplexed = version >= CURL_HTTP_VERSION_2_0;
      if (multiplexed != slot->origin->multiplexed) {
        slot->origin->multiplexed = multiplexed;
        ready_.push_back(slot->origin);  // more (or fewer) transfers may be attached now
      }
    }
    std::string error;
    if (code == CURLE_OK) {
      r.kind = HttpResult::Kind::kResponse;
      r.status = static_cast<int>(status);
    } else if (code == CURLE_WRITE_ERROR && slot->too_large) {
      r.kind = HttpResult::Kind::kResponseTooLarge;
      r.status = static_cast<int>(status);
      r.error =
          "response body larger than " + std::to_string(options_.max_response_bytes) + " bytes";
    } else if (slot->egress.denial().has_value()) {
      r.kind = HttpResult::Kind::kEgressDenied;
      r.error = slot->egress.denial()->Message();
    } else {
      r.kind = KindOf(code);
      r.error = curl_easy_strerror(code);
      if (slot->errbuf[0] != '\0') r.error += std::string(" (") + slot->errbuf + ")";
    }
    Release(*slot, r.kind, std::string());
  }

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
  std::unordered_map<std::string, std::unique_ptr<Origin>, StringHash, std::equal_to<>> origins_;
  std::vector<Origin*> ready_;  // origins with waiting requests that may have room now
  size_t waiting_ = 0;          // requests in all Origin::waiting queues
  SteadyTime next_sweep_{};
};

StatusOr<std::unique_ptr<CurlMultiHttpClient>> CurlMultiHttpClient::Create(
    const CurlHttpClientOptions& options, const Clock& clock) {
  static std::once_flag init_once;
  static CURLcode init_code = CURLE_OK;
  std::call_once(init_once, [] { init_code = curl_global_init(CURL_GLOBAL_DEFAULT); });
  if (init_code != CURLE_OK) return Status::Internal("curl_global_init failed");
  if (options.kept_body_bytes > options.max_response_bytes) {
    return Status::Validation("kept_body_bytes must not exceed max_response_bytes");
  }

  std::string ca_blob;
  if (!options.extra_ca_file.empty()) {
    // libcurl takes one CA bundle, so the system bundle and the extra file are concatenated.
    std::unique_ptr<CURL, EasyDeleter> probe(curl_easy_init());
    char* system_path = nullptr;
    if (probe) curl_easy_getinfo(probe.get(), CURLINFO_CAINFO, &system_path);
    if (system_path != nullptr) {
      StatusOr<std::string> system = ReadFile(system_path);
      if (system.ok()) ca_blob = std::move(system.value()) + "\n";
    }
    BP_ASSIGN_OR_RETURN(std::string extra, ReadFile(options.extra_ca_file));
    if (extra.find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
      return Status::Validation("CA file " + options.extra_ca_file + " holds no PEM certificate");
    }
    ca_blob += extra;
  }

  auto impl = std::make_unique<Impl>(options, clock, std::move(ca_blob));
  BP_RETURN_IF_ERROR(impl->Start());
  return std::make_unique<CurlMultiHttpClient>(std::move(impl));
}

CurlMultiHttpClient::CurlMultiHttpClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
CurlMultiHttpClient::~CurlMultiHttpClient() = default;

void CurlMultiHttpClient::Send(HttpRequest request, Done done) {
  impl_->Send(std::move(request), std::move(done));
}

int64_t CurlMultiHttpClient::InFlight() const { return impl_->InFlight(); }

}  // namespace bp::delivery
