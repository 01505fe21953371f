// `bridgeport bench-ingest`: a PutEvents load generator, and `--setup` of the resources a
// delivery benchmark needs (bus, API_KEY connection, API destination, rule, target).
//
// One thread per connection speaks raw HTTP/1.1 keep-alive over a blocking socket, one request at
// a time. Each connection prebuilds its request once; only fixed-width counters inside every
// entry's Detail are rewritten per request, so each event differs. Closed loop (no --rate): send
// the next request as soon as the previous one is answered. Open loop (--rate EPS): request n of a
// connection is due at a fixed schedule and its latency is measured from that due time, so a
// server that falls behind is charged for the queueing it causes (no coordinated omission).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "server/bench_commands.h"

namespace bp::server {

namespace {

namespace json = boost::json;

constexpr size_t kMaxSeconds = 86400;
constexpr int kSeqDigits = 12;

struct IngestFlags {
  std::string host = "127.0.0.1";
  uint16_t port = 4010;
  int connections = 16;
  double duration_s = 10;
  double warmup_s = 0;
  double rate = 0;  // events/s; 0 = closed loop
  int entries = 10;
  int event_bytes = 1024;
  std::string bus = "bench";
  std::string source = "bench.ingest";
  bool setup = false;
  std::string sink_url;
  int dest_rate = 100000;
  bool quiet = false;
  int64_t max_events = 0;  // 0 = no limit; else the run ends once this many events were sent
};

int IngestUsage(const std::string& why) {
  std::fprintf(stderr,
               "bench-ingest: %s\n"
               "usage: bridgeport bench-ingest --endpoint http://HOST:PORT [--connections C]\n"
               "         [--duration S] [--warmup S] [--rate EPS] [--entries N] [--event-bytes B]\n"
               "         [--events N] [--bus NAME] [--source SRC] [--quiet]\n"
               "         [--setup --sink-url URL [--dest-rate R]]   (--duration 0: setup only)\n",
               why.c_str());
  return 2;
}

bool ParseNum(std::string_view s, double lo, double hi, double* out) {
  double v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v < lo || v > hi) return false;
  *out = v;
  return true;
}

// ---- A blocking HTTP/1.1 keep-alive client: just enough for Bridgeport's replies. ----

struct RawResponse {
  int status = 0;
  std::string body;
};

class Connection {
 public:
  Connection(std::string host, uint16_t port) : host_(std::move(host)), port_(port) {}
  ~Connection() { Close(); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  Status Connect() {
    Close();
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port_);
    if (inet_pton(AF_INET, host_.c_str(), &addr.sin_addr) != 1) {
      return Status::Validation("endpoint host must be an IPv4 address: " + host_);
    }
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return Status::IoError(std::string("socket: ") + std::strerror(errno));
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    timeval tv{30, 0};  // bounded: a stuck server ends the run instead of hanging it
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      std::string err = std::strerror(errno);
      Close();
      return Status::Unavailable("connect " + host_ + ":" + std::to_string(port_) + ": " + err);
    }
    return Status::Ok();
  }

  // Sends one complete request and reads one Content-Length-framed response.
  Status Exchange(std::string_view request, RawResponse* out) {
    if (fd_ < 0) BP_RETURN_IF_ERROR(Connect());
    for (size_t sent = 0; sent < request.size();) {
      ssize_t n = send(fd_, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return Fail("send");
      sent += static_cast<size_t>(n);
    }
    size_t header_end;
    while ((header_end = buf_.find("\r\n\r\n")) == std::string::npos) {
      if (!Fill()) return Fail("read headers");
    }
    std::string_view head(buf_.data(), header_end);
    if (head.size() < 12 || head.substr(0, 5) != "HTTP/") return Fail("bad status line");
    out->status = std::atoi(std::string(head.substr(9, 3)).c_str());
    size_t length = 0;
    bool close_after = false;
    size_t pos = head.find("\r\n");
    while (pos != std::string_view::npos && pos < head.size()) {
      size_t next = head.find("\r\n", pos + 2);
      std::string_view line =
          head.substr(pos + 2, (next == std::string_view::npos ? head.size() : next) - pos - 2);
      size_t colon = line.find(':');
      if (colon != std::string_view::npos) {
        std::string name(line.substr(0, colon));
        for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        std::string_view value = line.substr(colon + 1);
        while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
        if (name == "content-length")
          length = std::strtoul(std::string(value).c_str(), nullptr, 10);
        if (name == "connection" && (value == "close" || value == "Close")) close_after = true;
      }
      pos = next;
    }
    size_t total = header_end + 4 + length;
    while (buf_.size() < total) {
      if (!Fill()) return Fail("read body");
    }
    out->body.assign(buf_, header_end + 4, length);
    buf_.erase(0, total);
    if (close_after) Close();
    return Status::Ok();
  }

  void Close() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
    buf_.clear();
  }

 private:
  bool Fill() {
    char tmp[16384];
    ssize_t n = recv(fd_, tmp, sizeof(tmp), 0);
    if (n <= 0) return false;
    buf_.append(tmp, static_cast<size_t>(n));
    return true;
  }
  Status Fail(const char* what) {
    std::string err = errno ? std::strerror(errno) : "connection closed";
    Close();
    return Status::Unavailable(std::string(what) + ": " + err);
  }

  std::string host_;
  uint16_t port_;
  int fd_ = -1;
  std::string buf_;
};

std::string HttpRequest(const IngestFlags& f, std::string_view op, std::string_view body) {
  std::string r = "POST / HTTP/1.1\r\nHost: " + f.host + ":" + std::to_string(f.port) +
                  "\r\nContent-Type: application/x-amz-json-1.1\r\nX-Amz-Target: AWSEvents.";
  r += op;
  r += "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n";
  r += body;
  return r;
}

// ---- --setup: the resources of one delivery benchmark, created or updated in place. ----

StatusOr<json::object> Call(Connection& c, const IngestFlags& f, std::string_view op,
                            const json::object& in, std::string* error_type) {
  RawResponse resp;
  BP_RETURN_IF_ERROR(c.Exchange(HttpRequest(f, op, json::serialize(in)), &resp));
  json::error_code ec;
  json::value v = json::parse(resp.body, ec);
  if (ec || !v.is_object())
    return Status::Internal(std::string(op) + ": reply is not JSON: " + resp.body);
  if (resp.status != 200) {
    const auto& o = v.as_object();
    if (auto it = o.find("__type"); it != o.end() && it->value().is_string() && error_type) {
      *error_type = std::string(it->value().as_string());
    }
    return Status::Internal(std::string(op) + " failed: HTTP " + std::to_string(resp.status) + " " +
                            resp.body);
  }
  return std::move(v.as_object());
}

StatusOr<std::string> StringField(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end() || !it->value().is_string())
    return Status::Internal("reply has no " + std::string(key));
  return std::string(it->value().as_string());
}

// Create, or on ResourceAlreadyExistsException the matching Update; returns the reply.
StatusOr<json::object> Upsert(Connection& c, const IngestFlags& f, std::string_view create,
                              std::string_view update, const json::object& in) {
  std::string type;
  auto r = Call(c, f, create, in, &type);
  if (r.ok() || type != "ResourceAlreadyExistsException") return r;
  return Call(c, f, update, in, nullptr);
}

Status Setup(const IngestFlags& f) {
  Connection c(f.host, f.port);
  BP_RETURN_IF_ERROR(c.Connect());
  if (f.bus != "default") {
    std::string type;
    auto r = Call(c, f, "CreateEventBus", {{"Name", f.bus}}, &type);
    if (!r.ok() && type != "ResourceAlreadyExistsException") return r.status();
  }
  const std::string conn_name = f.bus + "-conn", dest_name = f.bus + "-dest",
                    rule_name = f.bus + "-rule";
  json::object conn{
      {"Name", conn_name},
      {"AuthorizationType", "API_KEY"},
      {"AuthParameters",
       {{"ApiKeyAuthParameters", {{"ApiKeyName", "x-bench-key"}, {"ApiKeyValue", "bench"}}}}}};
  BP_ASSIGN_OR_RETURN(json::object conn_out,
                      Upsert(c, f, "CreateConnection", "UpdateConnection", conn));
  BP_ASSIGN_OR_RETURN(std::string conn_arn, StringField(conn_out, "ConnectionArn"));
  json::object dest{{"Name", dest_name},
                    {"ConnectionArn", conn_arn},
                    {"InvocationEndpoint", f.sink_url},
                    {"HttpMethod", "POST"},
                    {"InvocationRateLimitPerSecond", f.dest_rate}};
  BP_ASSIGN_OR_RETURN(json::object dest_out,
                      Upsert(c, f, "CreateApiDestination", "UpdateApiDestination", dest));
  BP_ASSIGN_OR_RETURN(std::string dest_arn, StringField(dest_out, "ApiDestinationArn"));
  json::object pattern{{"source", json::array{json::value(f.source)}}};
  BP_RETURN_IF_ERROR(Call(c, f, "PutRule",
                          {{"Name", rule_name},
                           {"EventBusName", f.bus},
                           {"EventPattern", json::serialize(pattern)},
                           {"State", "ENABLED"}},
                          nullptr)
                         .status());
  json::object target{
      {"Id", "bench-sink"}, {"Arn", dest_arn}, {"RoleArn", "arn:aws:iam::000000000000:role/bench"}};
  BP_ASSIGN_OR_RETURN(
      json::object t_out,
      Call(c, f, "PutTargets",
           {{"Rule", rule_name}, {"EventBusName", f.bus}, {"Targets", json::array{target}}},
           nullptr));
  if (auto it = t_out.find("FailedEntryCount");
      it != t_out.end() && it->value().is_int64() && it->value().as_int64() != 0) {
    return Status::Internal("PutTargets failed: " + json::serialize(t_out));
  }
  std::fprintf(stderr, "setup: bus=%s connection=%s destination=%s (rate %d/s -> %s) rule=%s\n",
               f.bus.c_str(), conn_name.c_str(), dest_name.c_str(), f.dest_rate, f.sink_url.c_str(),
               rule_name.c_str());
  return Status::Ok();
}

// ---- The load. ----

// A PutEvents request of `entries` events whose Details carry a rewritable counter.
struct PreparedRequest {
  std::string bytes;
  std::vector<size_t> counter_offsets;  // kSeqDigits digits each

  void Stamp(uint64_t first) {
    for (size_t j = 0; j < counter_offsets.size(); ++j) {
      uint64_t v = first + j;
      for (int d = kSeqDigits - 1; d >= 0; --d) {
        bytes[counter_offsets[j] + static_cast<size_t>(d)] = static_cast<char>('0' + v % 10);
        v /= 10;
      }
    }
  }
};

PreparedRequest Prepare(const IngestFlags& f, int conn) {
  // Detail (before JSON-in-JSON escaping): {"seq":"<digits>","conn":K,"pad":"xxx"}.
  const std::string head = R"({\"seq\":\")";
  const std::string mid = "\\\",\\\"conn\\\":" + std::to_string(conn) + ",\\\"pad\\\":\\\"";
  const std::string tail = R"(\"})";
  int fixed = 30 + static_cast<int>(std::to_string(conn).size());
  std::string pad(static_cast<size_t>(std::max(0, f.event_bytes - fixed)), 'x');
  std::string body = "{\"Entries\":[";
  std::vector<size_t> offsets;
  for (int j = 0; j < f.entries; ++j) {
    if (j) body += ',';
    body += "{\"Source\":\"" + f.source + "\",\"DetailType\":\"bench\",\"EventBusName\":\"" +
            f.bus + "\",\"Detail\":\"" + head;
    offsets.push_back(body.size());
    body += std::string(kSeqDigits, '0') + mid + pad + tail + "\"}";
  }
  body += "]}";
  PreparedRequest p;
  p.bytes = HttpRequest(f, "PutEvents", body);
  size_t body_start = p.bytes.size() - body.size();
  for (size_t o : offsets) p.counter_offsets.push_back(body_start + o);
  return p;
}

struct Sample {
  uint32_t end_second;  // since the run started
  uint32_t latency_us;
};

struct Totals {
  std::atomic<uint64_t> acked{0}, failed{0}, requests{0}, errors{0};
  std::atomic<int64_t> budget{INT64_MAX};
  std::atomic<int> done{0};  // workers finished  // requests left to send (--events)
  std::unique_ptr<std::atomic<uint64_t>[]> acked_per_second {
    new std::atomic<uint64_t>[ kMaxSeconds ]
  };
  std::mutex mu;
  std::vector<Sample> samples;  // GUARDED_BY(mu), merged by each worker at the end
  std::string first_error;      // GUARDED_BY(mu)
  Totals() {
    for (size_t i = 0; i < kMaxSeconds; ++i) acked_per_second[i].store(0);
  }
};

int64_t FailedEntryCount(std::string_view body) {
  size_t p = body.find("\"FailedEntryCount\":");
  if (p == std::string_view::npos) return -1;
  int64_t v = -1;
  const char* b = body.data() + p + 19;
  std::from_chars(b, body.data() + body.size(), v);
  return v;
}

void Worker(const IngestFlags& f, int index, int64_t start_us, int64_t end_us, Totals& t) {
  Connection c(f.host, f.port);
  PreparedRequest req = Prepare(f, index);
  std::vector<Sample> samples;
  const Clock& clock = RealClock::Get();
  // Open loop: this connection's share of the rate, staggered across connections.
  double interval_us = f.rate > 0 ? 1e6 * f.connections * f.entries / f.rate : 0;
  int64_t next_due = start_us + static_cast<int64_t>(interval_us * index / f.connections);
  uint64_t counter = static_cast<uint64_t>(index) * 10'000'000'000ULL;
  int consecutive_errors = 0;
  RawResponse resp;
  for (uint64_t n = 0;; ++n) {
    int64_t now = clock.MonotonicMicros();
    if (interval_us > 0) {
      if (next_due >= end_us) break;
      if (next_due > now) std::this_thread::sleep_for(std::chrono::microseconds(next_due - now));
    } else if (now >= end_us) {
      break;
    }
    if (t.budget.fetch_sub(1, std::memory_order_relaxed) <= 0) break;
    int64_t t0 = interval_us > 0 ? next_due : clock.MonotonicMicros();
    next_due += static_cast<int64_t>(interval_us);
    req.Stamp(counter);
    counter += static_cast<uint64_t>(f.entries);
    Status s = c.Exchange(req.bytes, &resp);
    int64_t t1 = clock.MonotonicMicros();
    t.requests.fetch_add(1, std::memory_order_relaxed);
    int64_t failed = s.ok() && resp.status == 200 ? FailedEntryCount(resp.body) : -1;
    if (failed < 0) {
      t.errors.fetch_add(1, std::memory_order_relaxed);
      t.failed.fetch_add(static_cast<uint64_t>(f.entries), std::memory_order_relaxed);
      {
        std::lock_guard<std::mutex> lock(t.mu);
        if (t.first_error.empty()) {
          t.first_error =
              s.ok() ? "HTTP " + std::to_string(resp.status) + " " + resp.body.substr(0, 300)
                     : s.ToString();
        }
      }
      if (++consecutive_errors >= 100) break;  // the server is gone: stop this connection
      continue;
    }
    consecutive_errors = 0;
    uint64_t acked = static_cast<uint64_t>(f.entries - std::min<int64_t>(failed, f.entries));
    t.acked.fetch_add(acked, std::memory_order_relaxed);
    t.failed.fetch_add(static_cast<uint64_t>(failed), std::memory_order_relaxed);
    size_t second = static_cast<size_t>((t1 - start_us) / 1'000'000);
    if (second < kMaxSeconds)
      t.acked_per_second[second].fetch_add(acked, std::memory_order_relaxed);
    samples.push_back({static_cast<uint32_t>(second),
                       static_cast<uint32_t>(std::min<int64_t>(t1 - t0, UINT32_MAX))});
  }
  std::lock_guard<std::mutex> lock(t.mu);
  t.samples.insert(t.samples.end(), samples.begin(), samples.end());
  t.done.fetch_add(1);
}

double PercentileMs(const std::vector<uint32_t>& sorted, double q) {
  if (sorted.empty()) return 0;
  size_t i = static_cast<size_t>(q * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(i, sorted.size() - 1)] / 1000.0;
}

int RunLoad(const IngestFlags& f) {
  Totals t;
  if (f.max_events > 0) t.budget.store((f.max_events + f.entries - 1) / f.entries);
  const Clock& clock = RealClock::Get();
  int64_t start = clock.MonotonicMicros() + 50'000;
  int64_t end = start + static_cast<int64_t>(f.duration_s * 1e6);
  std::vector<std::thread> workers;
  for (int i = 0; i < f.connections; ++i) {
    workers.emplace_back([&f, &t, i, start, end] { Worker(f, i, start, end, t); });
  }
  // Per-second lines while the run lasts.
  uint64_t last_requests = 0, last_failed = 0;
  for (size_t s = 1; !f.quiet; ++s) {
    int64_t tick = start + static_cast<int64_t>(s) * 1'000'000;
    if (tick > end + 1'000'000 || t.done.load() == f.connections) break;
    int64_t now = clock.MonotonicMicros();
    if (tick > now) std::this_thread::sleep_for(std::chrono::microseconds(tick - now));
    uint64_t req = t.requests.load(), failed = t.failed.load();
    std::printf("t=%zu events_per_sec=%llu requests=%llu failed=%llu\n", s,
                static_cast<unsigned long long>(t.acked_per_second[s - 1].load()),
                static_cast<unsigned long long>(req - last_requests),
                static_cast<unsigned long long>(failed - last_failed));
    std::fflush(stdout);
    last_requests = req;
    last_failed = failed;
  }
  for (auto& w : workers) w.join();
  double elapsed = std::max(1e-3, static_cast<double>(clock.MonotonicMicros() - start) / 1e6);
  // The summary covers the seconds after --warmup.
  uint32_t warm = static_cast<uint32_t>(f.warmup_s);
  std::vector<uint32_t> lat;
  lat.reserve(t.samples.size());
  for (const Sample& s : t.samples) {
    if (s.end_second >= warm) lat.push_back(s.latency_us);
  }
  std::sort(lat.begin(), lat.end());
  uint64_t acked_measured = 0;
  for (size_t s = warm; s < kMaxSeconds && s < static_cast<size_t>(elapsed) + 1; ++s) {
    acked_measured += t.acked_per_second[s].load();
  }
  double measured_s = std::max(1e-3, std::min(elapsed, f.duration_s) - warm);
  if (!t.first_error.empty())
    std::fprintf(stderr, "bench-ingest: first error: %s\n", t.first_error.c_str());
  std::printf(
      "events_per_sec=%.0f p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f max_ms=%.2f failed=%llu "
      "acked=%llu requests=%llu errors=%llu connections=%d entries=%d event_bytes=%d "
      "target_rate=%.0f duration_s=%.1f warmup_s=%.0f\n",
      static_cast<double>(acked_measured) / measured_s, PercentileMs(lat, 0.50),
      PercentileMs(lat, 0.90), PercentileMs(lat, 0.99), lat.empty() ? 0.0 : lat.back() / 1000.0,
      static_cast<unsigned long long>(t.failed.load()),
      static_cast<unsigned long long>(t.acked.load()),
      static_cast<unsigned long long>(t.requests.load()),
      static_cast<unsigned long long>(t.errors.load()), f.connections, f.entries, f.event_bytes,
      f.rate, f.duration_s, f.warmup_s);
  std::fflush(stdout);
  return t.acked.load() > 0 ? 0 : 1;
}

}  // namespace

int RunBenchIngest(int argc, char** argv) {
  IngestFlags f;
  for (int i = 0; i < argc; ++i) {
    std::string_view flag = argv[i];
    if (flag == "--setup") {
      f.setup = true;
      continue;
    }
    if (flag == "--quiet") {
      f.quiet = true;
      continue;
    }
    if (i + 1 >= argc) return IngestUsage(std::string(flag) + " needs a value");
    std::string_view v = argv[++i];
    double n = 0;
    if (flag == "--endpoint") {
      if (v.substr(0, 7) != "http://") return IngestUsage("--endpoint must be http://HOST:PORT");
      v.remove_prefix(7);
      if (!v.empty() && v.back() == '/') v.remove_suffix(1);
      size_t colon = v.rfind(':');
      if (colon == std::string_view::npos || !ParseNum(v.substr(colon + 1), 1, 65535, &n)) {
        return IngestUsage("--endpoint must be http://HOST:PORT");
      }
      f.host = std::string(v.substr(0, colon));
      if (f.host == "localhost") f.host = "127.0.0.1";
      f.port = static_cast<uint16_t>(n);
    } else if (flag == "--connections" && ParseNum(v, 1, 4096, &n)) {
      f.connections = static_cast<int>(n);
    } else if (flag == "--duration" && ParseNum(v, 0, 86000, &n)) {
      f.duration_s = n;
    } else if (flag == "--warmup" && ParseNum(v, 0, 86000, &n)) {
      f.warmup_s = n;
    } else if (flag == "--rate" && ParseNum(v, 0, 1e9, &n)) {
      f.rate = n;
    } else if (flag == "--entries" && ParseNum(v, 1, 10, &n)) {
      f.entries = static_cast<int>(n);
    } else if (flag == "--event-bytes" && ParseNum(v, 64, 200000, &n)) {
      f.event_bytes = static_cast<int>(n);
    } else if (flag == "--events" && ParseNum(v, 1, 1e12, &n)) {
      f.max_events = static_cast<int64_t>(n);
    } else if (flag == "--bus") {
      f.bus = v;
    } else if (flag == "--source") {
      f.source = v;
    } else if (flag == "--sink-url") {
      f.sink_url = v;
    } else if (flag == "--dest-rate" && ParseNum(v, 1, 100000, &n)) {
      f.dest_rate = static_cast<int>(n);
    } else {
      return IngestUsage("bad flag or value: " + std::string(flag) + " " + std::string(v));
    }
  }
  if (f.warmup_s >= f.duration_s && f.duration_s > 0)
    return IngestUsage("--warmup must be below --duration");
  if (f.setup) {
    if (f.sink_url.empty()) return IngestUsage("--setup needs --sink-url");
    Status s = Setup(f);
    if (!s.ok()) {
      std::fprintf(stderr, "bench-ingest: setup failed: %s\n", s.ToString().c_str());
      return 1;
    }
  }
  if (f.duration_s <= 0) return 0;
  return RunLoad(f);
}

}  // namespace bp::server
