#include "server/app.h"

#include <boost/json.hpp>
#include <filesystem>
#include <optional>

#include "api/control_plane_handlers.h"
#include "api/events_api.h"
#include "api/frontend.h"
#include "api/sqs/sqs_frontend.h"
#include "auth/master_key.h"
#include "auth/secret_box.h"
#include "common/ids.h"
#include "common/log.h"
#include "http/server.h"
#include "queue/queue_service.h"
#include "registry/registry.h"
#include "server/wiring.h"
#include "store/store.h"
#include "transform/transform.h"

namespace bp::server {

namespace {

std::optional<std::string> HexDecode(std::string_view hex) {
  if (hex.size() % 2) return std::nullopt;
  std::string out;
  out.reserve(hex.size() / 2);
  auto v = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  for (size_t i = 0; i < hex.size(); i += 2) {
    int hi = v(hex[i]), lo = v(hex[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
  }
  return out;
}

class AppImpl final : public App {
 public:
  explicit AppImpl(Config config) : config_(std::move(config)) {}
  ~AppImpl() override { Stop(); }

  Status Init() {
    std::error_code ec;
    std::filesystem::create_directories(config_.data_dir, ec);
    if (ec)
      return Status::IoError("cannot create data dir " + config_.data_dir + ": " + ec.message());

    BP_ASSIGN_OR_RETURN(std::string key, auth::LoadMasterKey({.key_file = config_.master_key_file,
                                                              .data_dir = config_.data_dir}));
    BP_ASSIGN_OR_RETURN(auth::SecretBox box, auth::SecretBox::Create(key));
    secret_box_.emplace(std::move(box));

    BP_ASSIGN_OR_RETURN(store_, store::OpenRocksStore(
                                    {.path = config_.data_dir + "/store", .sync = config_.fsync}));

    queue::QueueServiceOptions qopts;
    qopts.region = config_.region;
    qopts.account = config_.account;
    BP_ASSIGN_OR_RETURN(queues_, queue::QueueService::Open(*store_, RealClock::Get(), qopts));

    registry::RegistryOptions ropts;
    ropts.partition = {config_.region, config_.account};
    ropts.limits = config_.limits;
    ropts.allow_http_endpoints =
        config_.allow_http_endpoints < 0 ? config_.IsLoopback() : config_.allow_http_endpoints == 1;
    ropts.validate_target_input = [](const boost::json::object& t) {
      return ValidateTargetInputJson(t);
    };
    ropts.queue_exists = [this](std::string_view arn) { return queues_->QueueExists(arn); };
    registry::SecretSealer sealer;
    sealer.seal = [this](std::string_view plain, std::string_view aad) {
      return HexEncode(secret_box_->Seal(plain, aad));
    };
    sealer.open = [this](std::string_view sealed, std::string_view aad) -> StatusOr<std::string> {
      auto raw = HexDecode(sealed);
      if (!raw) return Status::Corruption("sealed secret is not hex");
      return secret_box_->Open(*raw, aad);
    };
    BP_ASSIGN_OR_RETURN(registry_,
                        registry::Registry::Open(*store_, RealClock::Get(), ropts, sealer));

    api::RegisterControlPlane(events_api_, *registry_);
    BP_ASSIGN_OR_RETURN(data_plane_,
                        DataPlane::Start(config_, *store_, *registry_, *queues_, events_api_));

    sqs_ = std::make_unique<api::sqs::SqsFrontend>(
        *queues_, api::sqs::SqsContext{config_.region, config_.account});
    api::FrontendOptions fopts;
    fopts.region = config_.region;
    fopts.account = config_.account;
    fopts.sigv4.keys = config_.access_keys;
    fopts.dev_mode = config_.IsLoopback();
    fopts.sigv4.allow_any = config_.IsLoopback() && config_.allow_unsigned_on_loopback;
    fopts.admin_token = config_.admin_token;
    api::FrontendHooks hooks;
    hooks.sqs_accepts = [](const http::Request& r) { return api::sqs::SqsFrontend::Accepts(r); };
    hooks.sqs_handle = [this](http::Request&& r, std::string id, http::Responder respond) {
      sqs_->Handle(std::move(r), std::move(id), std::move(respond));
    };
    hooks.metrics_text = [this] { return data_plane_->MetricsText(); };
    hooks.admin_handle = [this](http::Request&& r, http::Responder respond) {
      data_plane_->HandleAdmin(std::move(r), std::move(respond));
    };
    frontend_ =
        std::make_unique<api::Frontend>(fopts, events_api_, std::move(hooks), RealClock::Get());

    http_ = http::NewServer({.host = config_.listen_host,
                             .port = config_.listen_port,
                             .io_threads = config_.io_threads,
                             .max_body_bytes = config_.max_body_bytes,
                             .max_client_connections = config_.max_client_connections});
    BP_RETURN_IF_ERROR(http_->Start([this](http::Request&& req, http::Responder respond) {
      frontend_->Handle(std::move(req), std::move(respond));
    }));
    frontend_->SetReady(true);
    log::Info("server", "listening",
              {{"address", config_.listen_host},
               {"port", static_cast<int>(http_->port())},
               {"data_dir", config_.data_dir},
               {"region", config_.region}});
    return Status::Ok();
  }

  uint16_t port() const override { return http_ ? http_->port() : 0; }

  void Stop() override {
    if (stopped_) return;
    stopped_ = true;
    if (frontend_) frontend_->SetDraining(true);
    if (http_) http_->Stop();              // no new requests; in-flight handlers finish
    if (data_plane_) data_plane_->Stop();  // delivery engine drains in-flight attempts
    data_plane_.reset();
    sqs_.reset();
    queues_.reset();
    registry_.reset();
    store_.reset();
  }

 private:
  const Config config_;
  bool stopped_ = false;
  std::optional<auth::SecretBox> secret_box_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<queue::QueueService> queues_;
  std::unique_ptr<registry::Registry> registry_;
  api::EventsApi events_api_;
  std::unique_ptr<DataPlane> data_plane_;
  std::unique_ptr<api::sqs::SqsFrontend> sqs_;
  std::unique_ptr<api::Frontend> frontend_;
  std::unique_ptr<http::Server> http_;
};

}  // namespace

StatusOr<std::unique_ptr<App>> App::Start(const Config& config) {
  auto app = std::make_unique<AppImpl>(config);
  BP_RETURN_IF_ERROR(app->Init());
  return std::unique_ptr<App>(std::move(app));
}

}  // namespace bp::server
