#include "server/app.h"

#include <boost/json.hpp>
#include <filesystem>
#include <optional>

#include "api/control_plane_handlers.h"
#include "api/events_api.h"
#include "api/frontend.h"
#include "api/pipes/pipes_frontend.h"
#include "api/sqs/sqs_frontend.h"
#include "auth/master_key.h"
#include "auth/secret_box.h"
#include "cfn/cfn_query.h"
#include "cfn/stack_engine.h"
#include "common/ids.h"
#include "common/log.h"
#include "console/console_service.h"
#include "http/server.h"
#include "queue/queue_service.h"
#include "registry/registry.h"
#include "schedule/schedule_expression.h"
#include "secrets/secret_store.h"
#include "secrets/secrets_api.h"
#include "server/wiring.h"
#include "store/pg_store.h"
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
    BP_RETURN_IF_ERROR(OpenKeyAndStore());
    queue::QueueServiceOptions qopts;
    qopts.region = config_.region;
    qopts.account = config_.account;
    BP_ASSIGN_OR_RETURN(queues_, queue::QueueService::Open(*store_, RealClock::Get(), qopts));
    const registry::SecretSealer sealer = MakeSealer();
    BP_RETURN_IF_ERROR(OpenRegistry(sealer));
    BP_RETURN_IF_ERROR(StartDataPlane());
    BP_RETURN_IF_ERROR(StartStackServices(sealer));
    BuildFrontend();
    return StartListener();
  }

  // Secrets Manager and the CloudFormation stack engine (their records sealed like connection
  // secrets).
  Status StartStackServices(const registry::SecretSealer& sealer) {
    secrets::Sealer seal{sealer.seal, sealer.open};
    BP_ASSIGN_OR_RETURN(secret_store_,
                        secrets::SecretStore::Open(*store_, RealClock::Get(),
                                                   {config_.region, config_.account}, seal));
    secrets_api_ = std::make_unique<secrets::SecretsApi>(*secret_store_);
    cfn::StackEngineOptions copts;
    copts.region = config_.region;
    copts.account = config_.account;
    copts.noop_types = config_.cloudformation_noop_types;
    copts.ssm_parameters = config_.ssm_parameters;
    BP_ASSIGN_OR_RETURN(stacks_, cfn::StackEngine::Open({.store = store_.get(),
                                                         .clock = &RealClock::Get(),
                                                         .events = &events_api_,
                                                         .queues = queues_.get(),
                                                         .secrets = secret_store_.get(),
                                                         .pipes = &data_plane_->Pipes(),
                                                         .sealer = seal},
                                                        copts));
    cfn_api_ = std::make_unique<cfn::CfnQueryApi>(*stacks_);
    return Status::Ok();
  }

  void AddStackRoutes(api::FrontendHooks& hooks) {
    hooks.services.push_back(
        {.signing_name = "cloudformation",
         .accepts = [](const http::Request& r) { return cfn::CfnQueryApi::Accepts(r); },
         .handle = [this](http::Request&& r, std::string id,
                          http::Responder respond) { cfn_api_->Handle(r, id, std::move(respond)); },
         .error = &cfn::CfnQueryApi::Error});
    hooks.services.push_back(
        {.signing_name = "secretsmanager",
         .accepts = [](const http::Request& r) { return secrets::SecretsApi::Accepts(r); },
         .handle = [this](http::Request&& r, std::string id,
                          http::Responder respond) { secrets_api_->Handle(r, id, respond); },
         .error = &secrets::SecretsApi::Error});
  }

  uint16_t port() const override { return http_ ? http_->port() : 0; }

  void Stop() override {
    if (stopped_) return;
    stopped_ = true;
    if (frontend_) frontend_->SetDraining(true);
    if (http_) http_->Stop();  // no new requests; in-flight handlers finish
    cfn_api_.reset();
    stacks_.reset();  // the worker finishes its current resource call; recovery does the rest
    if (cluster_) cluster_->Leave();       // hand the lanes over; nothing new starts here
    if (data_plane_) data_plane_->Stop();  // delivery engine drains in-flight attempts
    pipes_api_.reset();
    secrets_api_.reset();
    data_plane_.reset();
    sqs_.reset();
    queues_.reset();
    registry_.reset();
    cluster_.reset();
    secret_store_.reset();
    store_.reset();
  }

 private:
  Status OpenKeyAndStore() {
    std::error_code ec;
    std::filesystem::create_directories(config_.data_dir, ec);
    if (ec)
      return Status::IoError("cannot create data dir " + config_.data_dir + ": " + ec.message());

    BP_ASSIGN_OR_RETURN(std::string key, auth::LoadMasterKey({.key_file = config_.master_key_file,
                                                              .data_dir = config_.data_dir}));
    BP_ASSIGN_OR_RETURN(auth::SecretBox box, auth::SecretBox::Create(key));
    secret_box_.emplace(std::move(box));

    if (config_.postgres_url.empty()) {
      BP_ASSIGN_OR_RETURN(store_, store::OpenRocksStore({.path = config_.data_dir + "/store",
                                                         .sync = config_.fsync}));
    } else {
      BP_ASSIGN_OR_RETURN(
          store_, store::OpenPgStore(
                      {.url = config_.postgres_url, .sync = config_.fsync, .notify_tasks = true}));
    }
    return Status::Ok();
  }

  registry::SecretSealer MakeSealer() {
    registry::SecretSealer sealer;
    sealer.seal = [this](std::string_view plain, std::string_view aad) {
      return HexEncode(secret_box_->Seal(plain, aad));
    };
    sealer.open = [this](std::string_view sealed, std::string_view aad) -> StatusOr<std::string> {
      auto raw = HexDecode(sealed);
      if (!raw) return Status::Corruption("sealed secret is not hex");
      return secret_box_->Open(*raw, aad);
    };
    return sealer;
  }

  // The egress policy too, as the registry checks destination URLs against it.
  Status OpenRegistry(const registry::SecretSealer& sealer) {
    registry::RegistryOptions ropts;
    ropts.partition = {config_.region, config_.account};
    ropts.limits = config_.limits;
    ropts.allow_http_endpoints =
        config_.allow_http_endpoints < 0 ? config_.IsLoopback() : config_.allow_http_endpoints == 1;
    ropts.validate_target_input = [](const boost::json::object& t) {
      return ValidateTargetInputJson(t);
    };
    ropts.queue_exists = [this](std::string_view arn) { return queues_->QueueExists(arn); };
    ropts.validate_schedule = [](std::string_view expression) {
      return schedule::ScheduleExpression::Parse(expression).status();
    };
    BP_ASSIGN_OR_RETURN(egress_, MakeEgressPolicy(config_));
    if (config_.listen_port != 0) egress_->SetSelf(config_.listen_host, config_.listen_port);
    ropts.egress_refusal = [this](std::string_view url) -> std::optional<std::string> {
      egress::Decision d = egress_->CheckUrl(url);
      if (d.allowed()) return std::nullopt;
      return d.Message();
    };
    BP_ASSIGN_OR_RETURN(registry_,
                        registry::Registry::Open(*store_, RealClock::Get(), ropts, sealer));
    return Status::Ok();
  }

  Status StartDataPlane() {
    api::RegisterControlPlane(events_api_, *registry_);
    if (!config_.postgres_url.empty()) {
      BP_ASSIGN_OR_RETURN(cluster_, cluster::ClusterNode::Join(
                                        {.url = config_.postgres_url,
                                         .node_id = config_.node_id,
                                         .lease_ms = config_.lease_ms,
                                         .skew_allowance_ms = config_.clock_skew_allowance_ms}));
    }
    BP_ASSIGN_OR_RETURN(data_plane_, DataPlane::Start(config_, *store_, *registry_, *queues_,
                                                      events_api_, egress_, cluster_.get()));
    return Status::Ok();
  }

  api::FrontendOptions MakeFrontendOptions() const {
    api::FrontendOptions fopts;
    fopts.region = config_.region;
    fopts.account = config_.account;
    fopts.sigv4.keys = config_.access_keys;
    for (const auto& [id, a] : config_.key_accounts) {
      fopts.key_accounts[id] = {a.account, a.organization};
    }
    fopts.dev_mode = config_.IsLoopback();
    fopts.sigv4.allow_any = config_.IsLoopback() && config_.allow_unsigned_on_loopback;
    fopts.admin_token = config_.admin_token;
    return fopts;
  }

  api::FrontendHooks MakeFrontendHooks() {
    api::FrontendHooks hooks;
    AddStackRoutes(hooks);
    hooks.sqs_accepts = [](const http::Request& r) { return api::sqs::SqsFrontend::Accepts(r); };
    hooks.sqs_handle = [this](http::Request&& r, std::string id, http::Responder respond) {
      sqs_->Handle(std::move(r), std::move(id), std::move(respond));
    };
    hooks.pipes_accepts = [](const http::Request& r) {
      return api::pipes::PipesFrontend::Accepts(r);
    };
    hooks.pipes_handle = [this](http::Request&& r, std::string id, http::Responder respond) {
      pipes_api_->Handle(std::move(r), id, std::move(respond));
    };
    hooks.metrics_text = [this] { return data_plane_->MetricsText(); };
    hooks.not_ready_reason = [this]() -> std::optional<std::string> {
      if (store_->Writable()) return std::nullopt;
      return "store not writable: " + store_->GetHealth().reason;
    };
    hooks.store_available = [this] { return store_->Available(); };
    hooks.admin_handle = [this](http::Request&& r, http::Responder respond) {
      data_plane_->HandleAdmin(std::move(r), std::move(respond));
    };
    hooks.console_assets = [](http::Request&& r, http::Responder respond) {
      console::ServeAsset(r, std::move(respond));
    };
    return hooks;
  }

  void BuildFrontend() {
    sqs_ = std::make_unique<api::sqs::SqsFrontend>(
        *queues_, api::sqs::SqsContext{config_.region, config_.account});
    pipes_api_ = std::make_unique<api::pipes::PipesFrontend>(data_plane_->Pipes());
    frontend_ = std::make_unique<api::Frontend>(MakeFrontendOptions(), events_api_,
                                                MakeFrontendHooks(), RealClock::Get());
  }

  Status StartListener() {
    http_ = http::NewServer({.host = config_.listen_host,
                             .port = config_.listen_port,
                             .io_threads = config_.io_threads,
                             .max_body_bytes = config_.EffectiveMaxBodyBytes(),
                             .max_client_connections = config_.max_client_connections});
    BP_RETURN_IF_ERROR(http_->Start([this](http::Request&& req, http::Responder respond) {
      frontend_->Handle(std::move(req), std::move(respond));
    }));
    // With port 0 the listener's port is known only now.
    egress_->SetSelf(config_.listen_host, http_->port());
    frontend_->SetReady(true);
    log::Info("server", "listening",
              {{"address", config_.listen_host},
               {"port", static_cast<int>(http_->port())},
               {"data_dir", config_.data_dir},
               {"region", config_.region}});
    return Status::Ok();
  }

  const Config config_;
  bool stopped_ = false;
  std::optional<auth::SecretBox> secret_box_;
  std::shared_ptr<egress::Policy> egress_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<queue::QueueService> queues_;
  std::unique_ptr<registry::Registry> registry_;
  api::EventsApi events_api_;
  std::unique_ptr<cluster::ClusterNode> cluster_;
  std::unique_ptr<DataPlane> data_plane_;
  std::unique_ptr<api::sqs::SqsFrontend> sqs_;
  std::unique_ptr<api::pipes::PipesFrontend> pipes_api_;
  std::unique_ptr<secrets::SecretStore> secret_store_;
  std::unique_ptr<secrets::SecretsApi> secrets_api_;
  std::unique_ptr<cfn::StackEngine> stacks_;
  std::unique_ptr<cfn::CfnQueryApi> cfn_api_;
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
