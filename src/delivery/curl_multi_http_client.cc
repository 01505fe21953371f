// The client thread's loop (epoll + curl_multi_socket_action), the pool of easy handles, and
// completing transfers. Queueing per origin and configuring a transfer: curl_multi_transfer.cc.
#include "delivery/curl_multi_http_client.h"

#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <utility>

#include "common/log.h"
#include "delivery/curl_multi_impl.h"

namespace bp::delivery {
namespace {

using curl_detail::EasyDeleter;
using curl_detail::HostOf;
using curl_detail::KindOf;
using curl_detail::kQueueSweepMs;
using curl_detail::ReadFile;

// Idle easy handles kept beyond this many are freed (the pool otherwise stays at its peak).
constexpr size_t kMaxIdleHandles = 1024;
// Upper bound on one epoll_wait, so a missed timer can never stall the loop for long.
constexpr int kMaxWaitMs = 1000;

// Set on the client thread while it runs, so Send() from a callback skips the eventfd write
// (the loop drains the submission queue before it sleeps again).
thread_local const void* tls_client_thread_of = nullptr;

}  // namespace

CurlMultiHttpClient::Impl::~Impl() {
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

Status CurlMultiHttpClient::Impl::Start() {
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

void CurlMultiHttpClient::Impl::Send(HttpRequest request, Done done) {
  inflight_.fetch_add(1, std::memory_order_relaxed);
  bool notify = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    pending_.push_back(Submission{std::move(request), std::move(done)});
    if (!notified_ && tls_client_thread_of != this) notify = notified_ = true;
  }
  if (notify) Notify();
}

void CurlMultiHttpClient::Impl::Notify() {
  const uint64_t one = 1;
  // EAGAIN means the counter is already non-zero: the loop will wake anyway.
  [[maybe_unused]] const ssize_t n = write(event_fd_, &one, sizeof(one));
}

int CurlMultiHttpClient::Impl::OnSocket(CURL*, curl_socket_t s, int what, void* userp,
                                        void* socketp) {
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

int CurlMultiHttpClient::Impl::WaitMs() const {
  long ms = -1;
  curl_multi_timeout(multi_, &ms);
  const long cap = waiting_ > 0 ? kQueueSweepMs : kMaxWaitMs;
  return ms < 0 ? static_cast<int>(cap) : static_cast<int>(std::min<long>(ms, cap));
}

void CurlMultiHttpClient::Impl::Run() {
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

void CurlMultiHttpClient::Impl::Deliver(Done done, HttpResult result) {
  inflight_.fetch_sub(1, std::memory_order_relaxed);
  try {
    done(std::move(result));
  } catch (const std::exception& e) {
    log::Error("delivery", "http client callback threw", {{"error", e.what()}});
  } catch (...) {
    log::Error("delivery", "http client callback threw");
  }
}

void CurlMultiHttpClient::Impl::Fail(Submission s, HttpResult::Kind kind, std::string error) {
  HttpResult r;
  r.kind = kind;
  r.error = std::move(error);
  r.host = HostOf(s.request.url);
  r.start_us = clock_.NowMicros();
  Deliver(std::move(s.done), std::move(r));
}

void CurlMultiHttpClient::Impl::Release(Slot& slot, HttpResult::Kind kind, std::string error) {
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

void CurlMultiHttpClient::Impl::DropSlot(Slot* slot) {
  auto it = std::find_if(slots_.begin(), slots_.end(),
                         [slot](const std::unique_ptr<Slot>& s) { return s.get() == slot; });
  if (it == slots_.end()) return;
  std::swap(*it, slots_.back());
  slots_.pop_back();
}

auto CurlMultiHttpClient::Impl::AcquireSlot() -> Slot* {
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

void CurlMultiHttpClient::Impl::Finish(CURL* easy, CURLcode code) {
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
    r.error = "response body larger than " + std::to_string(options_.max_response_bytes) + " bytes";
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
