#include "http/server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

namespace bp::http {
namespace {

// Minimal blocking client over one TCP connection (keeps it open between requests).
class RawClient {
 public:
  explicit RawClient(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    timeval tv{5, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    EXPECT_EQ(::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  }
  ~RawClient() { ::close(fd_); }
  void Send(const std::string& data) {
    ASSERT_EQ(::send(fd_, data.data(), data.size(), 0), static_cast<ssize_t>(data.size()));
  }
  // Reads until the full response (by Content-Length) has arrived.
  std::string ReadResponse() {
    std::string buf;
    char tmp[4096];
    for (;;) {
      size_t hdr_end = buf.find("\r\n\r\n");
      if (hdr_end != std::string::npos) {
        size_t cl = buf.find("Content-Length: ");
        size_t len = cl == std::string::npos ? 0 : std::stoul(buf.substr(cl + 16));
        if (buf.size() >= hdr_end + 4 + len) return buf;
      }
      ssize_t n = ::recv(fd_, tmp, sizeof(tmp), 0);
      if (n <= 0) return buf;
      buf.append(tmp, static_cast<size_t>(n));
    }
  }

 private:
  int fd_;
};

TEST(HttpServerTest, KeepAliveAndAsyncResponder) {
  auto server = NewServer({.host = "127.0.0.1", .port = 0, .io_threads = 2, .max_body_bytes = 64});
  std::vector<std::thread> later;
  std::mutex mu;
  ASSERT_TRUE(server
                  ->Start([&](Request&& req, Responder respond) {
                    // Respond from another thread to exercise the cross-thread path.
                    std::lock_guard<std::mutex> lock(mu);
                    later.emplace_back([req = std::move(req), respond = std::move(respond)] {
                      respond(Response::Text(200, req.method + " " + std::string(req.Path()) + " " +
                                                      std::string(req.Header("x-test")) + " " +
                                                      req.body));
                    });
                  })
                  .ok());
  ASSERT_NE(server->port(), 0);
  RawClient client(server->port());
  client.Send("POST /a?q=1 HTTP/1.1\r\nHost: x\r\nX-Test: yes\r\nContent-Length: 3\r\n\r\nabc");
  std::string r1 = client.ReadResponse();
  EXPECT_NE(r1.find("200 OK"), std::string::npos);
  EXPECT_NE(r1.find("POST /a yes abc"), std::string::npos);
  client.Send("GET /b HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string r2 = client.ReadResponse();
  EXPECT_NE(r2.find("GET /b"), std::string::npos);
  // Oversized body: 413 with an AWS-shaped error.
  client.Send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n" + std::string(100, 'x'));
  std::string r3 = client.ReadResponse();
  EXPECT_NE(r3.find("413"), std::string::npos);
  EXPECT_NE(r3.find("RequestEntityTooLargeException"), std::string::npos);
  server->Stop();
  for (auto& t : later) t.join();
}

TEST(HttpServerTest, MalformedRequestGets400) {
  auto server = NewServer({.host = "127.0.0.1", .port = 0, .io_threads = 1});
  ASSERT_TRUE(server->Start([](Request&&, Responder r) { r(Response::Text(200, "ok")); }).ok());
  RawClient client(server->port());
  client.Send("THIS IS NOT HTTP\r\n\r\n");
  std::string r = client.ReadResponse();
  EXPECT_NE(r.find("400"), std::string::npos);
  server->Stop();
}

TEST(HttpServerTest, LongestIdleConnectionIsEvictedAtTheBound) {
  auto server =
      NewServer({.host = "127.0.0.1", .port = 0, .io_threads = 1, .max_client_connections = 2});
  ASSERT_TRUE(server->Start([](Request&&, Responder r) { r(Response::Text(200, "ok")); }).ok());
  RawClient first(server->port());
  // A served keep-alive connection becomes idle again and is the oldest idle one.
  first.Send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_NE(first.ReadResponse().find("200 OK"), std::string::npos);
  RawClient second(server->port());
  second.Send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_NE(second.ReadResponse().find("200 OK"), std::string::npos);
  RawClient third(server->port());  // at the bound: `first` makes room
  third.Send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_NE(third.ReadResponse().find("200 OK"), std::string::npos);
  EXPECT_EQ(first.ReadResponse(), "");  // closed by the server (EOF, within the 5 s recv timeout)
  second.Send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_NE(second.ReadResponse().find("200 OK"), std::string::npos);
  server->Stop();
}

TEST(FormTest, ParsesAndDecodes) {
  auto f = ParseForm("Action=SendMessage&MessageBody=hello+world%21&Empty=&Flag");
  ASSERT_EQ(f.size(), 4u);
  EXPECT_EQ(f[1].second, "hello world!");
  EXPECT_EQ(f[2].second, "");
  EXPECT_EQ(f[3].first, "Flag");
  EXPECT_EQ(UrlDecode("%zz%4"), "%zz%4");
}

}  // namespace
}  // namespace bp::http
