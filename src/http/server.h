// The HTTP/1.1 listener. Beast and Asio stay inside server.cc: this header is plain C++ so that
// the rest of the code base compiles quickly.
//
// Threads: `io_threads` threads run the event loop; handlers are invoked on them. A handler must
// call its Responder exactly once, from any thread, possibly much later (long polling, group
// commit), but not after the Server is destroyed. Keep-alive is honoured; requests on one
// connection are served one at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace bp::http {

struct Request {
  std::string method;  // upper case, e.g. "POST"
  std::string target;  // path and query as received, e.g. "/000000000000/q?x=1"
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;
  std::string remote_address;
  bool remote_is_loopback = false;

  // First header with this lower-case name, or empty.
  std::string_view Header(std::string_view lower_name) const;
  bool HasHeader(std::string_view lower_name) const;
  std::string_view Path() const;   // target without the query
  std::string_view Query() const;  // after '?', or empty
};

struct Response {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  Response& SetHeader(std::string name, std::string value);
  static Response Text(int status, std::string body, std::string content_type = "text/plain");
};

using Responder = std::function<void(Response)>;
using Handler = std::function<void(Request&&, Responder)>;

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 4010;  // 0 = pick a free port
  int io_threads = 0;    // 0 = one per core
  size_t max_body_bytes = 2 << 20;
  size_t max_header_bytes = 64 << 10;
  int idle_timeout_seconds = 120;
  // Client connections held open at once. At the bound (or when accept() runs out of file
  // descriptors) the connection idle the longest is closed to make room; if none is idle the new
  // one is closed. The soft RLIMIT_NOFILE is raised to the hard limit at Start.
  size_t max_client_connections = 10000;
};

class Server {
 public:
  virtual ~Server() = default;
  // Binds and starts serving. Fails if the address cannot be bound.
  [[nodiscard]] virtual Status Start(Handler handler) = 0;
  // Stops accepting, closes connections, joins the io threads. Idempotent.
  virtual void Stop() = 0;
  virtual uint16_t port() const = 0;
};

std::unique_ptr<Server> NewServer(const ServerOptions& options);

// Percent-decoding for URL query strings and form bodies ('+' is a space).
std::string UrlDecode(std::string_view in);
// Parses "a=1&b=2" into decoded pairs (order kept).
std::vector<std::pair<std::string, std::string>> ParseForm(std::string_view in);

}  // namespace bp::http
