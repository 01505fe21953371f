#include "delivery/curl_multi_http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <fstream>
#include <iterator>
#include <mutex>
#include <sstream>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/log.h"

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

struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
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

// One request on its way through libcurl. Owned by Impl::active_ while attached to the multi
// handle; every field is touched only by the client thread after submission.
struct Transfer {
  HttpRequest request;
  HttpClient::Done done;
  std::unique_ptr<CURL, EasyDeleter> easy;
  std::unique_ptr<curl_slist, SlistDeleter> headers;
  HttpResult result;
  size_t body_bytes = 0;
  bool too_large = false;
  int64_t start_mono_us = 0;
  size_t max_body_bytes = 0;   // read limit
  size_t kept_body_bytes = 0;  // body_prefix limit
  char errbuf[CURL_ERROR_SIZE] = {};
};

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
    if (multi_ != nullptr) curl_multi_wakeup(multi_);
    if (thread_.joinable()) thread_.join();
    if (multi_ != nullptr) curl_multi_cleanup(multi_);
  }

  Status Start() {
    multi_ = curl_multi_init();
    if (multi_ == nullptr) return Status::Internal("curl_multi_init failed");
    const long total = std::max(1, options_.max_total_connections);
    curl_multi_setopt(multi_, CURLMOPT_MAX_TOTAL_CONNECTIONS, total);
    curl_multi_setopt(multi_, CURLMOPT_MAXCONNECTS, total);
    curl_multi_setopt(multi_, CURLMOPT_MAX_HOST_CONNECTIONS,
                      static_cast<long>(std::max(0, options_.max_host_connections)));
    curl_multi_setopt(multi_, CURLMOPT_PIPELINING, static_cast<long>(CURLPIPE_MULTIPLEX));
    thread_ = std::thread([this] { Run(); });
    return Status::Ok();
  }

  void Send(HttpRequest request, Done done) {
    auto t = std::make_unique<Transfer>();
    t->request = std::move(request);
    t->done = std::move(done);
    inflight_.fetch_add(1, std::memory_order_relaxed);
    {
      std::lock_guard<std::mutex> lock(mu_);
      pending_.push_back(std::move(t));
    }
    curl_multi_wakeup(multi_);
  }

  int64_t InFlight() const { return inflight_.load(std::memory_order_relaxed); }

 private:
  void Run() {
    std::vector<std::unique_ptr<Transfer>> batch;
    while (true) {
      bool stop;
      {
        std::lock_guard<std::mutex> lock(mu_);
        batch.swap(pending_);
        stop = stop_;
      }
      if (stop) {
        for (auto& t : batch) Complete(std::move(t), HttpResult::Kind::kInternal, "shutdown");
        break;
      }
      for (auto& t : batch) Attach(std::move(t));
      batch.clear();
      int running = 0;
      curl_multi_perform(multi_, &running);
      int queued = 0;
      while (CURLMsg* msg = curl_multi_info_read(multi_, &queued)) {
        if (msg->msg == CURLMSG_DONE) Finish(msg->easy_handle, msg->data.result);
      }
      curl_multi_poll(multi_, nullptr, 0, 1000, nullptr);
    }
    for (auto& [easy, t] : active_) {
      curl_multi_remove_handle(multi_, easy);
      Complete(std::move(t), HttpResult::Kind::kInternal, "shutdown");
    }
    active_.clear();
    // Callbacks above may have submitted more work; it fails the same way.
    while (true) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        batch.swap(pending_);
      }
      if (batch.empty()) break;
      for (auto& t : batch) Complete(std::move(t), HttpResult::Kind::kInternal, "shutdown");
      batch.clear();
    }
  }

  // Ends a transfer that has no (or no longer has a) libcurl handle.
  void Complete(std::unique_ptr<Transfer> t, HttpResult::Kind kind, std::string error) {
    t->result.kind = kind;
    t->result.error = std::move(error);
    if (t->result.host.empty()) t->result.host = HostOf(t->request.url);
    Deliver(std::move(t));
  }

  void Deliver(std::unique_ptr<Transfer> t) {
    inflight_.fetch_sub(1, std::memory_order_relaxed);
    Done done = std::move(t->done);
    HttpResult result = std::move(t->result);
    t.reset();  // free the easy handle before the callback possibly submits more work
    try {
      done(std::move(result));
    } catch (const std::exception& e) {
      log::Error("delivery", "http client callback threw", {{"error", e.what()}});
    } catch (...) {
      log::Error("delivery", "http client callback threw");
    }
  }

  static size_t OnBody(char* data, size_t size, size_t nmemb, void* userp) {
    auto* t = static_cast<Transfer*>(userp);
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
    auto* t = static_cast<Transfer*>(userp);
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

  // Builds the easy handle and hands it to libcurl, or completes the transfer with an error.
  void Attach(std::unique_ptr<Transfer> t) {
    t->max_body_bytes = options_.max_response_bytes;
    t->kept_body_bytes = options_.kept_body_bytes;
    t->result.host = HostOf(t->request.url);
    t->result.start_us = clock_.NowMicros();
    t->start_mono_us = clock_.MonotonicMicros();
    if (t->result.host.empty()) {
      return Complete(std::move(t), HttpResult::Kind::kInternal, "invalid URL");
    }
    t->easy.reset(curl_easy_init());
    if (!t->easy)
      return Complete(std::move(t), HttpResult::Kind::kInternal, "curl_easy_init failed");
    CURL* e = t->easy.get();
    const HttpRequest& req = t->request;

    // Headers exactly as given; curl's own Accept/Expect/Content-Type are suppressed with "Name:".
    curl_slist* list = nullptr;
    bool has_accept = false, has_content_type = false;
    const std::string* accept_encoding = nullptr;
    bool headers_ok = true;
    for (const auto& [name, value] : req.headers) {
      if (!ValidHeaderName(name) || !ValidHeaderValue(value)) {
        headers_ok = false;
        break;
      }
      if (IEquals(name, "Expect")) continue;  // never 100-continue (SPEC §8 drops Expect)
      if (IEquals(name, "Accept-Encoding")) {
        accept_encoding = &value;  // sent by curl itself so it can decode the body
        continue;
      }
      has_accept = has_accept || IEquals(name, "Accept");
      has_content_type = has_content_type || IEquals(name, "Content-Type");
      const std::string line = value.empty() ? name + ";" : name + ": " + value;
      list = curl_slist_append(list, line.c_str());
    }
    if (!has_accept) list = curl_slist_append(list, "Accept:");
    if (!has_content_type) list = curl_slist_append(list, "Content-Type:");
    list = curl_slist_append(list, "Expect:");
    t->headers.reset(list);
    if (!headers_ok) {
      return Complete(std::move(t), HttpResult::Kind::kInternal, "invalid request header");
    }

    curl_easy_setopt(e, CURLOPT_PRIVATE, t.get());
    curl_easy_setopt(e, CURLOPT_URL, req.url.c_str());
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS,
                     static_cast<long>(std::max<int64_t>(1, req.timeout_ms)));
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_2TLS));
    if (req.url.starts_with("https:")) curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->errbuf);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &Impl::OnBody);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, t.get());
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &Impl::OnHeader);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, t.get());
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
      return Complete(std::move(t), HttpResult::Kind::kInternal, "curl_multi_add_handle failed");
    }
    active_.emplace(e, std::move(t));
  }

  void Finish(CURL* easy, CURLcode code) {
    auto it = active_.find(easy);
    if (it == active_.end()) return;
    std::unique_ptr<Transfer> t = std::move(it->second);
    active_.erase(it);
    curl_multi_remove_handle(multi_, easy);

    HttpResult& r = t->result;
    r.duration_us = clock_.MonotonicMicros() - t->start_mono_us;
    long status = 0;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    long connects = 0;
    curl_easy_getinfo(easy, CURLINFO_NUM_CONNECTS, &connects);
    r.reused_connection = connects == 0;
    if (code == CURLE_OK) {
      r.kind = HttpResult::Kind::kResponse;
      r.status = static_cast<int>(status);
    } else if (code == CURLE_WRITE_ERROR && t->too_large) {
      r.kind = HttpResult::Kind::kResponseTooLarge;
      r.status = static_cast<int>(status);
      r.error =
          "response body larger than " + std::to_string(options_.max_response_bytes) + " bytes";
    } else {
      r.kind = KindOf(code);
      r.error = curl_easy_strerror(code);
      if (t->errbuf[0] != '\0') r.error += std::string(" (") + t->errbuf + ")";
    }
    Deliver(std::move(t));
  }

  const CurlHttpClientOptions options_;
  const Clock& clock_;
  std::string
      ca_blob_;  // never modified; PEM bundle (system + extra CAs), empty = libcurl's default
  CURLM* multi_ = nullptr;
  std::thread thread_;
  std::atomic<int64_t> inflight_{0};

  std::mutex mu_;
  std::vector<std::unique_ptr<Transfer>> pending_;  // GUARDED_BY(mu_)
  bool stop_ = false;                               // GUARDED_BY(mu_)

  // Client thread only.
  std::unordered_map<CURL*, std::unique_ptr<Transfer>> active_;
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
