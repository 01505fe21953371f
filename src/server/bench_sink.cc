// `bridgeport bench-sink`: a keep-alive HTTP sink for delivery benchmarks.
//
// Every request other than the control paths is counted and answered with the configured status
// (after the configured delay, without holding an io thread). Counts are kept per second of
// arrival since start so that a drain rate can be read back from `GET /_stats`.
//
// Threads: the http::Server io threads run the handler; one delay thread answers delayed
// requests in arrival order (the delay is the same for every request, so FIFO is deadline order).
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "common/clock.h"
#include "http/server.h"
#include "server/bench_commands.h"

namespace bp::server {

namespace {

constexpr size_t kMaxSeconds = 86400;  // per-second counts kept for one day of run time

struct SinkFlags {
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  int threads = 2;
  int status = 200;
  int delay_ms = 0;
};

bool ParseI64(std::string_view s, int64_t lo, int64_t hi, int64_t* out) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v < lo || v > hi) return false;
  *out = v;
  return true;
}

int SinkUsage(const char* why) {
  std::fprintf(stderr,
               "bench-sink: %s\nusage: bridgeport bench-sink --listen HOST:PORT [--threads N] "
               "[--status CODE] [--delay-ms MS]\n",
               why);
  return 2;
}

// Answers requests after a fixed delay, in arrival order.
class DelayLine {
 public:
  DelayLine() : thread_([this] { Run(); }) {}
  ~DelayLine() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  void Add(int64_t due_mono_us, http::Responder respond, http::Response response) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      queue_.push_back({due_mono_us, std::move(respond), std::move(response)});
    }
    cv_.notify_one();
  }

 private:
  struct Item {
    int64_t due_us;
    http::Responder respond;
    http::Response response;
  };
  void Run() {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      if (stop_) break;
      if (queue_.empty()) {
        cv_.wait(lock);
        continue;
      }
      int64_t now = RealClock::Get().MonotonicMicros();
      if (queue_.front().due_us > now) {
        cv_.wait_for(lock, std::chrono::microseconds(queue_.front().due_us - now));
        continue;
      }
      Item item = std::move(queue_.front());
      queue_.pop_front();
      lock.unlock();
      item.respond(std::move(item.response));
      lock.lock();
    }
    // Answer what is left so that no connection waits forever.
    for (auto& item : queue_) item.respond(std::move(item.response));
    queue_.clear();
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> queue_;  // GUARDED_BY(mu_)
  bool stop_ = false;       // GUARDED_BY(mu_)
  std::thread thread_;
};

class Sink {
 public:
  explicit Sink(const SinkFlags& f)
      : status_(f.status),
        delay_ms_(f.delay_ms),
        per_second_(new std::atomic<uint64_t>[kMaxSeconds]) {
    for (size_t i = 0; i < kMaxSeconds; ++i) per_second_[i].store(0, std::memory_order_relaxed);
    start_us_ = RealClock::Get().MonotonicMicros();
  }

  void Handle(http::Request&& req, http::Responder respond) {
    std::string_view path = req.Path();
    if (path == "/_stats") {
      respond(Stats());
      return;
    }
    if (path == "/_control") {
      respond(Control(req.Query()));
      return;
    }
    int64_t now = RealClock::Get().MonotonicMicros();
    size_t second = static_cast<size_t>((now - start_us_) / 1'000'000);
    if (second < kMaxSeconds) per_second_[second].fetch_add(1, std::memory_order_relaxed);
    total_.fetch_add(1, std::memory_order_relaxed);
    bytes_.fetch_add(req.body.size(), std::memory_order_relaxed);
    http::Response r;
    r.status = status_.load(std::memory_order_relaxed);
    r.SetHeader("Content-Type", "application/json");
    r.body = "{}";
    int delay = delay_ms_.load(std::memory_order_relaxed);
    if (delay <= 0) {
      respond(std::move(r));
    } else {
      delay_.Add(now + int64_t{delay} * 1000, std::move(respond), std::move(r));
    }
  }

  // One line: totals, the mean over the whole run and over the seconds that saw traffic.
  std::string Summary() const {
    int64_t now = RealClock::Get().MonotonicMicros();
    double elapsed = static_cast<double>(now - start_us_) / 1e6;
    size_t last = std::min(kMaxSeconds, static_cast<size_t>(elapsed) + 1);
    uint64_t peak = 0, active = 0;
    for (size_t i = 0; i < last; ++i) {
      uint64_t c = per_second_[i].load(std::memory_order_relaxed);
      peak = std::max(peak, c);
      if (c) ++active;
    }
    uint64_t total = total_.load();
    char buf[256];
    std::snprintf(buf, sizeof(buf),
                  "requests=%llu bytes=%llu elapsed_s=%.1f avg_per_sec=%.0f peak_per_sec=%llu "
                  "active_seconds=%llu",
                  static_cast<unsigned long long>(total),
                  static_cast<unsigned long long>(bytes_.load()), elapsed,
                  elapsed > 0 ? static_cast<double>(total) / elapsed : 0.0,
                  static_cast<unsigned long long>(peak), static_cast<unsigned long long>(active));
    return buf;
  }

 private:
  // {"total":N,"bytes":B,"elapsed_s":T,"status":S,"delay_ms":D,"per_second":[c0,c1,...]}
  // per_second[i] counts arrivals in second i after start, up to the current second.
  http::Response Stats() const {
    int64_t now = RealClock::Get().MonotonicMicros();
    size_t upto = std::min(kMaxSeconds, static_cast<size_t>((now - start_us_) / 1'000'000) + 1);
    std::string body = "{\"total\":" + std::to_string(total_.load()) +
                       ",\"bytes\":" + std::to_string(bytes_.load()) + ",\"elapsed_s\":" +
                       std::to_string(static_cast<double>(now - start_us_) / 1e6) +
                       ",\"status\":" + std::to_string(status_.load()) +
                       ",\"delay_ms\":" + std::to_string(delay_ms_.load()) + ",\"per_second\":[";
    for (size_t i = 0; i < upto; ++i) {
      if (i) body.push_back(',');
      body += std::to_string(per_second_[i].load(std::memory_order_relaxed));
    }
    body += "]}";
    auto r = http::Response::Text(200, std::move(body), "application/json");
    return r;
  }

  // /_control?status=503&delay_ms=100 changes the answers from now on.
  http::Response Control(std::string_view query) {
    for (const auto& [k, v] : http::ParseForm(query)) {
      int64_t n;
      if (k == "status" && ParseI64(v, 100, 599, &n)) {
        status_.store(static_cast<int>(n));
      } else if (k == "delay_ms" && ParseI64(v, 0, 600'000, &n)) {
        delay_ms_.store(static_cast<int>(n));
      } else {
        return http::Response::Text(400, "bad control parameter " + k + "\n");
      }
    }
    return http::Response::Text(200, "status=" + std::to_string(status_.load()) +
                                         " delay_ms=" + std::to_string(delay_ms_.load()) + "\n");
  }

  std::atomic<int> status_;
  std::atomic<int> delay_ms_;
  std::unique_ptr<std::atomic<uint64_t>[]> per_second_;
  int64_t start_us_ = 0;
  std::atomic<uint64_t> total_{0};
  std::atomic<uint64_t> bytes_{0};
  DelayLine delay_;
};

}  // namespace

int RunBenchSink(int argc, char** argv) {
  SinkFlags f;
  for (int i = 0; i < argc; ++i) {
    std::string_view flag = argv[i];
    if (i + 1 >= argc) return SinkUsage("every flag needs a value");
    std::string_view v = argv[++i];
    int64_t n = 0;
    if (flag == "--listen") {
      size_t colon = v.rfind(':');
      if (colon == std::string_view::npos || !ParseI64(v.substr(colon + 1), 0, 65535, &n)) {
        return SinkUsage("--listen must be HOST:PORT");
      }
      f.host = std::string(v.substr(0, colon));
      f.port = static_cast<uint16_t>(n);
    } else if (flag == "--threads" && ParseI64(v, 1, 256, &n)) {
      f.threads = static_cast<int>(n);
    } else if (flag == "--status" && ParseI64(v, 100, 599, &n)) {
      f.status = static_cast<int>(n);
    } else if (flag == "--delay-ms" && ParseI64(v, 0, 600'000, &n)) {
      f.delay_ms = static_cast<int>(n);
    } else {
      return SinkUsage(("bad flag or value: " + std::string(flag) + " " + std::string(v)).c_str());
    }
  }
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  Sink sink(f);
  auto server = http::NewServer({.host = f.host,
                                 .port = f.port,
                                 .io_threads = f.threads,
                                 .max_body_bytes = 8 << 20,
                                 .idle_timeout_seconds = 3600});
  Status s = server->Start([&sink](http::Request&& req, http::Responder respond) {
    sink.Handle(std::move(req), std::move(respond));
  });
  if (!s.ok()) {
    std::fprintf(stderr, "bench-sink: %s\n", s.ToString().c_str());
    return 1;
  }
  std::printf("PORT=%u\n", server->port());
  std::fflush(stdout);
  int sig = 0;
  sigwait(&signals, &sig);
  server->Stop();
  std::printf("%s\n", sink.Summary().c_str());
  std::fflush(stdout);
  return 0;
}

}  // namespace bp::server
