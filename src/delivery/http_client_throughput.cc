// Throughput driver for CurlMultiHttpClient (not a test): an in-process epoll HTTP/1.1 responder
// on 127.0.0.1 answers every request with an empty 200, and the client keeps `concurrency`
// requests in flight until `total` have completed.
//
//   delivery_http_throughput [total=50000] [concurrency=64] [max_connections=64]
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
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

}  // namespace

int main(int argc, char** argv) {
  const int total = argc > 1 ? std::atoi(argv[1]) : 50000;
  const int concurrency = argc > 2 ? std::atoi(argv[2]) : 64;
  bp::delivery::CurlHttpClientOptions options;
  options.max_total_connections = argc > 3 ? std::atoi(argv[3]) : 64;

  const int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || listen(lfd, 1024) != 0) {
    std::perror("listen");
    return 1;
  }
  socklen_t len = sizeof(addr);
  getsockname(lfd, reinterpret_cast<sockaddr*>(&addr), &len);
  const std::string url = "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/events";
  std::atomic<bool> stop{false};
  std::thread server([&] { Serve(lfd, stop); });

  auto client = bp::delivery::CurlMultiHttpClient::Create(options);
  if (!client.ok()) {
    std::fprintf(stderr, "%s\n", client.status().ToString().c_str());
    return 1;
  }
  bp::delivery::HttpClient& http = **client;
  std::mutex mu;
  std::condition_variable cv;
  int sent = 0, done = 0, ok = 0;
  const bp::delivery::HttpRequest request{
      "POST",
      url,
      {{"Content-Type", "application/json; charset=utf-8"}},
      R"({"id":"0f8fad5b-d9cb-469f-a165-70867728950e","detail":{"k":"v"}})",
      5000};

  std::function<void(bp::delivery::HttpResult)> on_done;
  auto send_next = [&] { http.Send(request, on_done); };
  on_done = [&](bp::delivery::HttpResult r) {
    bool more;
    {
      std::lock_guard<std::mutex> lock(mu);
      ++done;
      ok += r.status == 200;
      more = sent < total;
      if (more) ++sent;
      cv.notify_all();
    }
    if (more) send_next();
  };

  const auto start = std::chrono::steady_clock::now();
  {
    std::lock_guard<std::mutex> lock(mu);
    sent = std::min(concurrency, total);
  }
  for (int i = 0; i < std::min(concurrency, total); ++i) send_next();
  {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return done == total; });
  }
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("requests=%d ok=%d concurrency=%d max_connections=%d seconds=%.3f rps=%.0f\n", total,
              ok, concurrency, options.max_total_connections, secs, total / secs);
  client->reset();
  stop = true;
  server.join();
  close(lfd);
  return ok == total ? 0 : 1;
}
