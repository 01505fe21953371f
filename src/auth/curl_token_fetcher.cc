#include "auth/curl_token_fetcher.h"

#include <curl/curl.h>

#include <cstring>
#include <deque>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>
#include <unordered_set>
#include <vector>

#include "egress/curl_egress.h"

namespace bp::auth {
namespace {

// One token request in flight. Owned by the worker once dequeued.
struct Transfer {
  TokenRequest request;
  std::function<void(FetchResponse)> done;
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  std::string response;
  int64_t max_bytes = 0;
  bool too_large = false;
  char error[CURL_ERROR_SIZE] = {0};
  egress::CurlEgressGuard egress;

  ~Transfer() {
    if (easy != nullptr) curl_easy_cleanup(easy);
    if (headers != nullptr) curl_slist_free_all(headers);
  }
};

size_t OnBody(char* data, size_t size, size_t nmemb, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t n = size * nmemb;
  if (static_cast<int64_t>(t->response.size() + n) > t->max_bytes) {
    t->too_large = true;
    return 0;  // aborts the transfer with CURLE_WRITE_ERROR
  }
  t->response.append(data, n);
  return n;
}

void Complete(std::unique_ptr<Transfer> t, FetchResponse r) {
  auto done = std::move(t->done);
  t.reset();  // release curl resources before running user code
  done(std::move(r));
}

StatusOr<std::string> ReadTextFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IoError("cannot read CA file " + path);
  std::ostringstream data;
  data << in.rdbuf();
  return data.str();
}

// The system CA bundle followed by `extra_file`, so the extra CAs add to the system ones rather
// than replacing them (CURLOPT_CAINFO alone would replace them).
StatusOr<std::string> CombinedCaBundle(const std::string& extra_file) {
  auto extra = ReadTextFile(extra_file);
  if (!extra.ok()) return extra.status();
  if (extra->find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
    return Status::Validation("CA file " + extra_file + " holds no PEM certificate");
  }
  std::string bundle;
  CURL* probe = curl_easy_init();
  char* system_path = nullptr;
  if (probe != nullptr) curl_easy_getinfo(probe, CURLINFO_CAINFO, &system_path);
  if (system_path != nullptr) {
    auto system = ReadTextFile(system_path);
    if (system.ok()) bundle = std::move(*system) + "\n";
  }
  if (probe != nullptr) curl_easy_cleanup(probe);
  return bundle + *extra;
}

FetchResponse ShutdownResponse() {
  FetchResponse r;
  r.transport = FetchResponse::Transport::kNetworkError;
  r.error = "fetcher shut down";
  return r;
}

}  // namespace

struct CurlTokenFetcher::Impl {
  Options options;
  std::string ca_bundle;  // PEM; empty = curl's default (system) bundle
  CURLM* multi = nullptr;
  std::thread worker;

  std::mutex mu;
  std::deque<std::unique_ptr<Transfer>> queue;  // guarded by mu
  bool stopping = false;                        // guarded by mu

  ~Impl() {
    if (multi != nullptr) curl_multi_cleanup(multi);
  }

  // Configures `t->easy`; returns an error text or empty on success.
  std::string Setup(Transfer& t) {
    t.easy = curl_easy_init();
    if (t.easy == nullptr) return "curl_easy_init failed";
    t.max_bytes = options.max_response_bytes;
    CURL* e = t.easy;
    const TokenRequest& req = t.request;
    curl_easy_setopt(e, CURLOPT_URL, req.url.c_str());
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(options.timeout_ms));
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
    if (!ca_bundle.empty()) {
      curl_blob blob{ca_bundle.data(), ca_bundle.size(), CURL_BLOB_NOCOPY};
      curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &blob);
    }
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t.error);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &OnBody);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(e, CURLOPT_PRIVATE, &t);
    t.egress.Arm(e, options.egress.get(), req.url);
    if (req.method == "GET") {
      curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    } else {
      curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, static_cast<long>(req.body.size()));
      curl_easy_setopt(e, CURLOPT_POSTFIELDS, req.body.c_str());
      if (req.method != "POST") curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, req.method.c_str());
    }
    for (const auto& [name, value] : req.headers) {
      std::string line = name + ": " + value;
      curl_slist* next = curl_slist_append(t.headers, line.c_str());
      if (next == nullptr) return "curl_slist_append failed";
      t.headers = next;
    }
    // No "Expect: 100-continue" round trip for bodies.
    curl_slist* next = curl_slist_append(t.headers, "Expect:");
    if (next == nullptr) return "curl_slist_append failed";
    t.headers = next;
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, t.headers);
    return "";
  }

  FetchResponse Finish(Transfer& t, CURLcode code) {
    FetchResponse r;
    if (code == CURLE_OK) {
      long status = 0;
      curl_easy_getinfo(t.easy, CURLINFO_RESPONSE_CODE, &status);
      r.transport = FetchResponse::Transport::kOk;
      r.status = static_cast<int>(status);
      r.body = std::move(t.response);
      return r;
    }
    r.transport = code == CURLE_OPERATION_TIMEDOUT ? FetchResponse::Transport::kTimeout
                                                   : FetchResponse::Transport::kNetworkError;
    if (t.egress.denial().has_value()) {
      r.transport = FetchResponse::Transport::kEgressDenied;
      r.error = t.egress.denial()->Message();
    } else if (t.too_large) {
      r.error = "response larger than " + std::to_string(t.max_bytes) + " bytes";
    } else {
      r.error = t.error[0] != '\0' ? std::string(t.error) : std::string(curl_easy_strerror(code));
    }
    return r;
  }

  void Run() {
    std::unordered_set<Transfer*> active;  // owned; released via unique_ptr on completion
    for (;;) {
      std::deque<std::unique_ptr<Transfer>> fresh;
      bool stop;
      {
        std::lock_guard lock(mu);
        fresh.swap(queue);
        stop = stopping;
      }
      for (auto& t : fresh) {
        if (stop) {
          Complete(std::move(t), ShutdownResponse());
          continue;
        }
        std::string err = Setup(*t);
        if (err.empty() && curl_multi_add_handle(multi, t->easy) != CURLM_OK) {
          err = "curl_multi_add_handle failed";
        }
        if (!err.empty()) {
          FetchResponse r;
          r.error = err;
          Complete(std::move(t), std::move(r));
          continue;
        }
        active.insert(t.release());
      }
      if (stop) break;

      int running = 0;
      curl_multi_perform(multi, &running);
      int left = 0;
      while (CURLMsg* msg = curl_multi_info_read(multi, &left)) {
        if (msg->msg != CURLMSG_DONE) continue;
        Transfer* raw = nullptr;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &raw);
        CURLcode code = msg->data.result;
        curl_multi_remove_handle(multi, raw->easy);
        active.erase(raw);
        std::unique_ptr<Transfer> t(raw);
        FetchResponse r = Finish(*t, code);
        Complete(std::move(t), std::move(r));
      }
      // Woken early by curl_multi_wakeup when a request is queued or on shutdown.
      curl_multi_poll(multi, nullptr, 0, 1000, nullptr);
    }
    for (Transfer* raw : active) {
      curl_multi_remove_handle(multi, raw->easy);
      Complete(std::unique_ptr<Transfer>(raw), ShutdownResponse());
    }
  }
};

StatusOr<std::unique_ptr<CurlTokenFetcher>> CurlTokenFetcher::Create(const Options& options) {
  static std::once_flag global_init;
  static CURLcode global_rc = CURLE_OK;
  std::call_once(global_init, [] { global_rc = curl_global_init(CURL_GLOBAL_DEFAULT); });
  if (global_rc != CURLE_OK) return Status::Internal("curl_global_init failed");
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  if (!options.ca_file.empty()) {
    auto bundle = CombinedCaBundle(options.ca_file);
    if (!bundle.ok()) return bundle.status();
    impl->ca_bundle = std::move(*bundle);
  }
  impl->multi = curl_multi_init();
  if (impl->multi == nullptr) return Status::Internal("curl_multi_init failed");
  Impl* raw = impl.get();
  impl->worker = std::thread([raw] { raw->Run(); });
  return std::make_unique<CurlTokenFetcher>(std::move(impl));
}

CurlTokenFetcher::CurlTokenFetcher(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

CurlTokenFetcher::~CurlTokenFetcher() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopping = true;
  }
  curl_multi_wakeup(impl_->multi);
  impl_->worker.join();
}

void CurlTokenFetcher::Fetch(TokenRequest request, std::function<void(FetchResponse)> done) {
  auto t = std::make_unique<Transfer>();
  t->request = std::move(request);
  t->done = std::move(done);
  {
    std::lock_guard lock(impl_->mu);
    if (!impl_->stopping) {
      impl_->queue.push_back(std::move(t));
    }
  }
  if (t) {  // refused: the fetcher is shutting down
    Complete(std::move(t), ShutdownResponse());
    return;
  }
  curl_multi_wakeup(impl_->multi);
}

}  // namespace bp::auth
