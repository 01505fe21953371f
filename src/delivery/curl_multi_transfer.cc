// CurlMultiHttpClient::Impl, the transfer side: per-origin queueing (at most Limit(origin)
// transfers attached to libcurl, the rest waiting in FIFO order against their timeout),
// request headers, response callbacks, and configuring a pooled easy handle for one request.
#include <algorithm>
#include <cctype>
#include <fstream>
#include <limits>
#include <sstream>
#include <utility>

#include "delivery/curl_multi_impl.h"

namespace bp::delivery {
namespace curl_detail {

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

StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::Validation("cannot read CA file " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace curl_detail

namespace {

using curl_detail::HostOf;
using curl_detail::kQueueSweepMs;

constexpr size_t kMaxResponseHeaders = 200;
constexpr size_t kMaxHeaderLineBytes = 16 * 1024;
// HTTP/2 streams assumed per connection (libcurl's CURLMOPT_MAX_CONCURRENT_STREAMS default).
constexpr int kStreamsPerConnection = 100;
// Idle origins (nothing active or waiting) are forgotten once there are more than this many.
constexpr size_t kMaxOrigins = 1024;

bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
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

}  // namespace

size_t CurlMultiHttpClient::Impl::OnBody(char* data, size_t size, size_t nmemb, void* userp) {
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

size_t CurlMultiHttpClient::Impl::OnHeader(char* data, size_t size, size_t nmemb, void* userp) {
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
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  t->result.headers.emplace_back(std::string(line.substr(0, colon)), std::string(value));
  return n;
}

bool CurlMultiHttpClient::Impl::BuildHeaders(Slot& slot, const std::string** accept_encoding) {
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

int CurlMultiHttpClient::Impl::Limit(const Origin& o) const {
  const int conns = options_.max_host_connections;
  if (conns <= 0) return std::numeric_limits<int>::max();
  return o.multiplexed ? conns * kStreamsPerConnection : conns;
}

void CurlMultiHttpClient::Impl::Submit(Submission s, SteadyTime now) {
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

void CurlMultiHttpClient::Impl::PumpOrigins() {
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

void CurlMultiHttpClient::Impl::SweepQueues() {
  const SteadyTime now = std::chrono::steady_clock::now();
  if (now < next_sweep_) return;
  next_sweep_ = now + std::chrono::milliseconds(kQueueSweepMs);
  std::vector<Submission> expired;
  for (auto& [key, o] : origins_) {
    std::deque<Submission>& q = o->waiting;
    if (std::none_of(q.begin(), q.end(), [&](const Submission& s) { return s.deadline <= now; })) {
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

void CurlMultiHttpClient::Impl::FailQueuedTimeout(Submission s) {
  const int64_t ms = s.request.timeout_ms;
  Fail(std::move(s), HttpResult::Kind::kTimeout,
       "timed out after " + std::to_string(ms) + " ms waiting for a free connection");
}

void CurlMultiHttpClient::Impl::Attach(Submission s, Origin& o, SteadyTime now) {
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
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(std::max<int64_t>(1, req.timeout_ms)));
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
}  // namespace bp::delivery
