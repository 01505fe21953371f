// Boost.Beast implementation of http::Server. This is one of the few files that include Beast.
#include "http/server.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <list>
#include <mutex>
#include <thread>

#include "common/ids.h"
#include "common/log.h"

namespace bp::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

Response TooLarge(size_t limit) {
  Response r;
  r.status = 413;
  r.SetHeader("Content-Type", "application/x-amz-json-1.1");
  r.SetHeader("x-amzn-ErrorType", "RequestEntityTooLargeException");
  r.SetHeader("x-amzn-RequestId", NewUuid());
  r.body =
      "{\"__type\":\"RequestEntityTooLargeException\",\"message\":\"Request body exceeds the limit "
      "of " +
      std::to_string(limit) + " bytes.\"}";
  return r;
}

Response BadRequest(std::string_view why) {
  Response r;
  r.status = 400;
  r.SetHeader("Content-Type", "application/x-amz-json-1.1");
  r.SetHeader("x-amzn-ErrorType", "SerializationException");
  r.SetHeader("x-amzn-RequestId", NewUuid());
  r.body = "{\"__type\":\"SerializationException\",\"message\":\"Malformed HTTP request: " +
           std::string(why) + "\"}";
  return r;
}

class Session;

// Live client connections, shared by the acceptor and the sessions. `idle` lists, oldest first,
// the sessions waiting for the first byte of a request (a fresh connection or a keep-alive one
// between requests): those are the ones evicted when the connection bound or the fd limit is hit.
struct ConnectionTable {
  std::atomic<size_t> live{0};
  std::mutex mu;
  std::list<std::weak_ptr<Session>> idle;  // guarded by mu

  // Asks the oldest idle session to close (asynchronously, on its strand). False if none.
  bool EvictOldestIdle();
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, const ServerOptions& options, const Handler& handler,
          std::shared_ptr<ConnectionTable> table)
      : stream_(std::move(socket)), options_(options), handler_(handler), table_(std::move(table)) {
    table_->live.fetch_add(1);
  }
  ~Session() {
    {
      std::lock_guard<std::mutex> lock(table_->mu);
      if (idle_it_) table_->idle.erase(*idle_it_);
    }
    table_->live.fetch_sub(1);
  }

  void Start() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->Read(); });
  }

  // Runs on the session's strand: closes the connection if it is still idle.
  void Evict() {
    if (!idle_) return;
    beast::error_code ec;
    stream_.socket().close(ec);
  }

  net::any_io_executor executor() { return stream_.get_executor(); }

 private:
  friend struct ConnectionTable;

  void Read() {
    parser_.emplace();
    parser_->body_limit(options_.max_body_bytes);
    parser_->header_limit(static_cast<uint32_t>(options_.max_header_bytes));
    stream_.expires_after(std::chrono::seconds(options_.idle_timeout_seconds));
    if (buffer_.size() > 0) {  // a pipelined request is already buffered
      ReadRequest();
      return;
    }
    // Wait for the first bytes separately: until they come the connection is idle and may be
    // evicted to make room for others.
    SetIdle(true);
    stream_.async_read_some(buffer_.prepare(4096),
                            [self = shared_from_this()](beast::error_code ec, size_t n) {
                              self->SetIdle(false);
                              if (ec) {
                                self->OnRead(ec);
                                return;
                              }
                              self->buffer_.commit(n);
                              self->ReadRequest();
                            });
  }

  void ReadRequest() {
    bhttp::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
  }

  void SetIdle(bool idle) {
    idle_ = idle;
    std::lock_guard<std::mutex> lock(table_->mu);
    if (idle && !idle_it_) {
      idle_it_ = table_->idle.insert(table_->idle.end(), weak_from_this());
    } else if (!idle && idle_it_) {
      table_->idle.erase(*idle_it_);
      idle_it_.reset();
    }
  }

  void OnRead(beast::error_code ec) {
    if (ec == bhttp::error::end_of_stream || ec == net::error::operation_aborted ||
        ec == beast::error::timeout || ec == net::error::connection_reset ||
        ec == net::error::eof || ec == net::error::bad_descriptor) {
      Close();
      return;
    }
    if (ec == bhttp::error::body_limit) {
      keep_alive_ = false;
      Write(TooLarge(options_.max_body_bytes));
      return;
    }
    if (ec) {
      keep_alive_ = false;
      Write(BadRequest(ec.message()));
      return;
    }
    stream_.expires_never();
    auto msg = parser_->release();
    keep_alive_ = msg.keep_alive();
    Request req;
    req.method = std::string(msg.method_string());
    req.target = std::string(msg.target());
    for (const auto& field : msg) {
      std::string name(field.name_string());
      std::transform(name.begin(), name.end(), name.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      req.headers.emplace_back(std::move(name), std::string(field.value()));
    }
    req.body = std::move(msg.body());
    beast::error_code ep_ec;
    auto ep = stream_.socket().remote_endpoint(ep_ec);
    if (!ep_ec) {
      req.remote_address = ep.address().to_string();
      req.remote_is_loopback = ep.address().is_loopback();
    }
    auto self = shared_from_this();
    Responder responder = [self](Response resp) {
      net::post(self->stream_.get_executor(),
                [self, resp = std::move(resp)]() mutable { self->Write(std::move(resp)); });
    };
    handler_(std::move(req), std::move(responder));
  }

  void Write(Response resp) {
    auto res = std::make_shared<bhttp::response<bhttp::string_body>>();
    res->version(11);
    res->result(static_cast<unsigned>(resp.status));
    for (auto& [name, value] : resp.headers) res->set(name, value);
    res->body() = std::move(resp.body);
    res->keep_alive(keep_alive_);
    res->prepare_payload();
    bhttp::async_write(stream_, *res,
                       [self = shared_from_this(), res](beast::error_code ec, size_t) {
                         if (ec || !self->keep_alive_) {
                           self->Close();
                           return;
                         }
                         self->Read();
                       });
  }

  void Close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.socket().close(ec);
  }

  beast::tcp_stream stream_;
  const ServerOptions& options_;
  const Handler& handler_;
  const std::shared_ptr<ConnectionTable> table_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  bool keep_alive_ = true;
  bool idle_ = false;                                                   // strand only
  std::optional<std::list<std::weak_ptr<Session>>::iterator> idle_it_;  // guarded by table_->mu
};

bool ConnectionTable::EvictOldestIdle() {
  std::lock_guard<std::mutex> lock(mu);
  while (!idle.empty()) {
    std::shared_ptr<Session> s = idle.front().lock();
    idle.pop_front();
    if (!s) continue;
    s->idle_it_.reset();
    net::post(s->executor(), [s] { s->Evict(); });
    return true;
  }
  return false;
}

// Raises the soft RLIMIT_NOFILE to the hard limit; returns the soft limit in effect.
uint64_t RaiseFdLimit() {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return 0;
  if (rl.rlim_cur < rl.rlim_max) {
    rlimit want = rl;
    want.rlim_cur = rl.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &want) == 0) rl = want;
  }
  return static_cast<uint64_t>(rl.rlim_cur);
}

class BeastServer final : public Server {
 public:
  explicit BeastServer(ServerOptions options)
      : options_(std::move(options)),
        threads_count_(options_.io_threads > 0
                           ? options_.io_threads
                           : std::max(1, static_cast<int>(std::thread::hardware_concurrency()))),
        ioc_(std::make_shared<net::io_context>(threads_count_)),
        acceptor_(net::make_strand(*ioc_)),
        retry_timer_(acceptor_.get_executor()),
        table_(std::make_shared<ConnectionTable>()) {}

  // Sessions still referenced by queued handlers (e.g. a responder called after Stop) are
  // destroyed with the io_context. Callers must not call a Responder after the server is destroyed.
  ~BeastServer() override { Stop(); }

  Status Start(Handler handler) override {
    handler_ = std::move(handler);
    beast::error_code ec;
    auto address = net::ip::make_address(options_.host, ec);
    if (ec) return Status::Validation("invalid listen address '" + options_.host + "'");
    tcp::endpoint endpoint(address, options_.port);
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
    if (ec) {
      return Status::IoError("cannot listen on " + options_.host + ":" +
                             std::to_string(options_.port) + ": " + ec.message());
    }
    port_ = acceptor_.local_endpoint().port();
    // accept4() on the reserve path below must never block.
    acceptor_.native_non_blocking(true, ec);
    const uint64_t fd_limit = RaiseFdLimit();
    reserve_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    log::Info("http", "connection limits",
              {{"max_client_connections", static_cast<uint64_t>(options_.max_client_connections)},
               {"fd_limit", fd_limit}});
    if (fd_limit > 0 && options_.max_client_connections + 64 > fd_limit) {
      log::Warn("http",
                "max client connections is close to or above the file descriptor limit; idle "
                "connections are evicted when descriptors run out",
                {{"max_client_connections", static_cast<uint64_t>(options_.max_client_connections)},
                 {"fd_limit", fd_limit}});
    }
    Accept();
    for (int i = 0; i < threads_count_; ++i) {
      threads_.emplace_back([this] { ioc_->run(); });
    }
    return Status::Ok();
  }

  void Stop() override {
    std::lock_guard<std::mutex> lock(stop_mu_);
    if (stopped_) return;
    stopped_ = true;
    net::post(acceptor_.get_executor(), [this] {
      beast::error_code ec;
      acceptor_.close(ec);
      retry_timer_.cancel();
    });
    ioc_->stop();
    for (auto& t : threads_) t.join();
    threads_.clear();
    if (reserve_fd_ >= 0) ::close(reserve_fd_);
    reserve_fd_ = -1;
  }

  uint16_t port() const override { return port_; }

 private:
  // Runs on the acceptor's strand (as do its completion handlers and OnAcceptError).
  void Accept() {
    acceptor_.async_accept(net::make_strand(*ioc_), [this](beast::error_code ec, tcp::socket s) {
      if (ec == net::error::operation_aborted) return;
      if (ec) {
        OnAcceptError(ec);
        return;
      }
      backoff_ms_ = 0;
      if (table_->live.load() >= options_.max_client_connections && !table_->EvictOldestIdle()) {
        // At the bound and every connection is busy with a request: refuse this one.
        s.close(ec);
      } else {
        s.set_option(tcp::no_delay(true), ec);
        std::make_shared<Session>(std::move(s), options_, handler_, table_)->Start();
      }
      Accept();
    });
  }

  // accept() failed. A client that gave up before accept is retried at once; anything else waits
  // (2 ms doubling to 100 ms) so that a persistent error cannot spin a core. Out of descriptors,
  // the oldest idle connection is evicted, or else the reserve descriptor is spent to accept and
  // close one pending connection, so that clients get an answer instead of a hang.
  void OnAcceptError(beast::error_code ec) {
    if (ec == net::error::connection_aborted) {
      Accept();
      return;
    }
    const int err = ec.value();
    const bool out_of_fds = ec.category() == boost::system::system_category() &&
                            (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM);
    if (out_of_fds && !table_->EvictOldestIdle() && reserve_fd_ >= 0) {
      ::close(reserve_fd_);
      int fd = ::accept4(acceptor_.native_handle(), nullptr, nullptr, SOCK_CLOEXEC);
      if (fd >= 0) ::close(fd);
      reserve_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    }
    ++accept_errors_;
    const auto now = std::chrono::steady_clock::now();
    if (now - last_error_log_ >= std::chrono::seconds(10)) {
      log::Warn("http", "accept failed; backing off",
                {{"error", ec.message()},
                 {"errors_since_last_log", accept_errors_},
                 {"live_connections", static_cast<uint64_t>(table_->live.load())}});
      last_error_log_ = now;
      accept_errors_ = 0;
    }
    backoff_ms_ = std::clamp(backoff_ms_ * 2, 2, 100);
    retry_timer_.expires_after(std::chrono::milliseconds(backoff_ms_));
    retry_timer_.async_wait([this](beast::error_code wait_ec) {
      if (wait_ec == net::error::operation_aborted || !acceptor_.is_open()) return;
      Accept();
    });
  }

  const ServerOptions options_;
  const int threads_count_;
  std::shared_ptr<net::io_context> ioc_;
  tcp::acceptor acceptor_;
  net::steady_timer retry_timer_;
  const std::shared_ptr<ConnectionTable> table_;
  int reserve_fd_ = -1;
  // Acceptor strand only.
  int backoff_ms_ = 0;
  int64_t accept_errors_ = 0;
  std::chrono::steady_clock::time_point last_error_log_{};
  Handler handler_;
  std::vector<std::thread> threads_;
  std::atomic<uint16_t> port_{0};
  std::mutex stop_mu_;
  bool stopped_ = false;
};

}  // namespace

std::unique_ptr<Server> NewServer(const ServerOptions& options) {
  return std::make_unique<BeastServer>(options);
}

}  // namespace bp::http
