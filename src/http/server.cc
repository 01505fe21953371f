// Boost.Beast implementation of http::Server. This is one of the few files that include Beast.
#include "http/server.h"

#include <algorithm>
#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
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

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, const ServerOptions& options, const Handler& handler)
      : stream_(std::move(socket)), options_(options), handler_(handler) {}

  void Start() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->Read(); });
  }

 private:
  void Read() {
    parser_.emplace();
    parser_->body_limit(options_.max_body_bytes);
    parser_->header_limit(static_cast<uint32_t>(options_.max_header_bytes));
    stream_.expires_after(std::chrono::seconds(options_.idle_timeout_seconds));
    bhttp::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
  }

  void OnRead(beast::error_code ec) {
    if (ec == bhttp::error::end_of_stream || ec == net::error::operation_aborted ||
        ec == beast::error::timeout || ec == net::error::connection_reset ||
        ec == net::error::eof) {
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
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  bool keep_alive_ = true;
};

class BeastServer final : public Server {
 public:
  explicit BeastServer(ServerOptions options)
      : options_(std::move(options)),
        threads_count_(options_.io_threads > 0
                           ? options_.io_threads
                           : std::max(1, static_cast<int>(std::thread::hardware_concurrency()))),
        ioc_(std::make_shared<net::io_context>(threads_count_)),
        acceptor_(net::make_strand(*ioc_)) {}

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
    });
    ioc_->stop();
    for (auto& t : threads_) t.join();
    threads_.clear();
  }

  uint16_t port() const override { return port_; }

 private:
  void Accept() {
    acceptor_.async_accept(net::make_strand(*ioc_), [this](beast::error_code ec, tcp::socket s) {
      if (ec == net::error::operation_aborted) return;
      if (!ec) {
        s.set_option(tcp::no_delay(true), ec);
        std::make_shared<Session>(std::move(s), options_, handler_)->Start();
      }
      Accept();
    });
  }

  const ServerOptions options_;
  const int threads_count_;
  std::shared_ptr<net::io_context> ioc_;
  tcp::acceptor acceptor_;
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
