// Throughput driver for CurlMultiHttpClient (not a test): an in-process epoll HTTP/1.1 responder
// on 127.0.0.1 answers every request with an empty 200, and the client keeps `concurrency`
// requests in flight until `total` have completed. Besides requests/s it prints the CPU time each
// thread spent per request (from /proc/self/task/*/schedstat), which depends far less on other
// load on the machine than the rate does: `client` is the libcurl thread, `responder` the
// in-process server, `main` the callbacks' waiter.
//
//   delivery_http_throughput [total=50000] [concurrency=64] [max_connections=64]
//                            [max_host_connections=max_connections]
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>

#include "delivery/curl_multi_http_client.h"

namespace {

constexpr char kResponse[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";

// Length of the first complete request in `buf`, or 0 if it is not complete yet.
size_t CompleteRequest(const std::string& buf) {
  const size_t end = buf.find("\r\n\r\n");
  if (end == std::string::npos) return 0;
  size_t body = 0;
  for (const char* name : {"Content-Length:", "content-length:"}) {
    const size_t at = buf.find(name);
    if (at != std::string::npos && at < end)
      body = std::strtoul(buf.c_str() + at + 15, nullptr, 10);
  }
  return buf.size() >= end + 4 + body ? end + 4 + body : 0;
}

void WriteAll(int fd, const char* data, size_t n) {
  while (n > 0) {
    const ssize_t w = write(fd, data, n);
    if (w > 0) {
      data += w;
      n -= static_cast<size_t>(w);
    } else {
      pollfd p{fd, POLLOUT, 0};
      if (poll(&p, 1, 1000) <= 0) return;
    }
  }
}

void Serve(int listen_fd, const std::atomic<bool>& stop) {
  const int ep = epoll_create1(0);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = listen_fd;
  epoll_ctl(ep, EPOLL_CTL_ADD, listen_fd, &ev);
  std::unordered_map<int, std::string> bufs;
  epoll_event events[256];
  while (!stop.load()) {
    const int n = epoll_wait(ep, events, 256, 100);
    for (int i = 0; i < n; ++i) {
      const int fd = events[i].data.fd;
      if (fd == listen_fd) {
        const int c = accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK);
        if (c < 0) continue;
        epoll_event cev{};
        cev.events = EPOLLIN;
        cev.data.fd = c;
        epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
        bufs[c];
        continue;
      }
      char tmp[16384];
      const ssize_t r = read(fd, tmp, sizeof(tmp));
      if (r <= 0) {
        epoll_ctl(ep, EPOLL_CTL_DEL, fd, nullptr);
        close(fd);
        bufs.erase(fd);
        continue;
      }
      std::string& buf = bufs[fd];
      buf.append(tmp, static_cast<size_t>(r));
      std::string out;
      while (size_t len = CompleteRequest(buf)) {
        buf.erase(0, len);
        out += kResponse;
      }
      if (!out.empty()) WriteAll(fd, out.data(), out.size());
    }
  }
  for (auto& [fd, buf] : bufs) close(fd);
  close(ep);
}

// CPU time (ns) of every thread of this process, keyed by thread id, with the thread's name.
std::map<int, std::pair<std::string, int64_t>> ThreadCpu() {
  std::map<int, std::pair<std::string, int64_t>> out;
  DIR* dir = opendir("/proc/self/task");
  if (dir == nullptr) return out;
  while (dirent* e = readdir(dir)) {
    if (e->d_name[0] == '.') continue;
    const std::string base = std::string("/proc/self/task/") + e->d_name;
    std::ifstream comm(base + "/comm"), sched(base + "/schedstat");
    std::string name;
    int64_t ns = 0;
    if (std::getline(comm, name) && (sched >> ns)) out[std::atoi(e->d_name)] = {name, ns};
  }
  closedir(dir);
  return out;
}

// A listening socket on an ephemeral loopback port, or -1; `url` is where requests go.
int ListenOnLoopback(std::string* url) {
  const int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || listen(lfd, 1024) != 0) {
    std::perror("listen");
    return -1;
  }
  socklen_t len = sizeof(addr);
  getsockname(lfd, reinterpret_cast<sockaddr*>(&addr), &len);
  *url = "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/events";
  return lfd;
}

// Keeps `concurrency` requests in flight until `total` have completed. Outlives the client, as
// the client's thread may still be in a callback when Run() returns.
class Load {
 public:
  Load(bp::delivery::HttpClient& http, std::string url, int total)
      : http_(http),
        request_{"POST",
                 std::move(url),
                 {{"Content-Type", "application/json; charset=utf-8"}},
                 R"({"id":"0f8fad5b-d9cb-469f-a165-70867728950e","detail":{"k":"v"}})",
                 5000},
        total_(total) {
    on_done_ = [this](bp::delivery::HttpResult r) {
      bool more;
      {
        std::lock_guard<std::mutex> lock(mu_);
        ++done_;
        ok_ += r.status == 200;
        more = sent_ < total_;
        if (more) ++sent_;
        if (done_ == total_) cv_.notify_all();
      }
      if (more) SendNext();
    };
  }

  // Returns how many requests got a 200.
  int Run(int concurrency) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      sent_ = std::min(concurrency, total_);
    }
    for (int i = 0; i < std::min(concurrency, total_); ++i) SendNext();
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return done_ == total_; });
    return ok_;
  }

 private:
  void SendNext() { http_.Send(request_, on_done_); }

  bp::delivery::HttpClient& http_;
  const bp::delivery::HttpRequest request_;
  const int total_;
  std::function<void(bp::delivery::HttpResult)> on_done_;
  std::mutex mu_;
  std::condition_variable cv_;
  int sent_ = 0, done_ = 0, ok_ = 0;
};

void PrintCpuPerRequest(const std::map<int, std::pair<std::string, int64_t>>& cpu_before,
                        const std::map<int, std::pair<std::string, int64_t>>& cpu_after,
                        int total) {
  for (const auto& [tid, after] : cpu_after) {
    const auto it = cpu_before.find(tid);
    const int64_t ns = after.second - (it == cpu_before.end() ? 0 : it->second.second);
    if (ns < 1000000) continue;  // idle threads
    const char* role = tid == static_cast<int>(getpid()) ? "main"
                       : after.first == "responder"      ? "responder"
                                                         : "client";
    std::printf(" %s=%.2f", role, static_cast<double>(ns) / 1000.0 / total);
  }
}

}  // namespace

int main(int argc, char** argv) {
  const int total = argc > 1 ? std::atoi(argv[1]) : 50000;
  const int concurrency = argc > 2 ? std::atoi(argv[2]) : 64;
  bp::delivery::CurlHttpClientOptions options;
  options.max_total_connections = argc > 3 ? std::atoi(argv[3]) : 64;
  options.max_host_connections = argc > 4 ? std::atoi(argv[4]) : options.max_total_connections;

  std::string url;
  const int lfd = ListenOnLoopback(&url);
  if (lfd < 0) return 1;
  std::atomic<bool> stop{false};
  std::thread server([&] { Serve(lfd, stop); });
  pthread_setname_np(server.native_handle(), "responder");

  auto client = bp::delivery::CurlMultiHttpClient::Create(options);
  if (!client.ok()) {
    std::fprintf(stderr, "%s\n", client.status().ToString().c_str());
    return 1;
  }
  Load load(**client, url, total);

  const auto cpu_before = ThreadCpu();
  const auto start = std::chrono::steady_clock::now();
  const int ok = load.Run(concurrency);
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const auto cpu_after = ThreadCpu();
  std::printf(
      "requests=%d ok=%d concurrency=%d max_connections=%d max_host_connections=%d seconds=%.3f "
      "rps=%.0f cpu_us_per_request:",
      total, ok, concurrency, options.max_total_connections, options.max_host_connections, secs,
      total / secs);
  PrintCpuPerRequest(cpu_before, cpu_after, total);
  std::printf("\n");
  client->reset();
  stop = true;
  server.join();
  close(lfd);
  return ok == total ? 0 : 1;
}
