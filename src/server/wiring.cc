#include "server/wiring.h"

#include <cstdlib>

#include "auth/curl_token_fetcher.h"
#include "common/log.h"
#include "delivery/curl_multi_http_client.h"
#include "delivery/engine.h"
#include "delivery/target_spec.h"
#include "ingest/ingest.h"
#include "metrics/metrics.h"

namespace bp::server {

Status ValidateTargetInputJson(const boost::json::object& target) {
  return delivery::ValidateTargetInputJson(target);
}

namespace {

class DataPlaneImpl final : public DataPlane {
 public:
  Status Init(const Config& config, store::Store& store, registry::Registry& registry,
              queue::QueueService& queues, api::EventsApi& api) {
    store_ = &store;
    delivery::CurlHttpClientOptions http_opts;
    http_opts.extra_ca_file = config.ca_file;
    BP_ASSIGN_OR_RETURN(http_, delivery::CurlMultiHttpClient::Create(http_opts));
    auth::CurlTokenFetcher::Options token_opts;
    token_opts.ca_file = config.ca_file;
    BP_ASSIGN_OR_RETURN(token_fetcher_, auth::CurlTokenFetcher::Create(token_opts));

    delivery::EngineDeps deps;
    deps.store = &store;
    deps.registry = &registry;
    deps.queues = &queues;
    deps.metrics = &metrics_;
    deps.http = http_.get();
    deps.token_fetcher = token_fetcher_.get();
    deps.clock = &RealClock::Get();
    deps.bus_fanout = [this](const std::string& bus, const std::string& event, int64_t ingestion_ms,
                             int hops, store::WriteBatch& batch) {
      return ingest_->Fanout(bus, event, ingestion_ms, hops, batch);
    };
    BP_ASSIGN_OR_RETURN(engine_, delivery::DeliveryEngine::Start(std::move(deps)));
    registry.SetConnectionListener(
        [this](const std::string& name) { engine_->ConnectionChanged(name); });
    for (const auto& name : registry.ConnectionNames()) engine_->ConnectionChanged(name);

    // Gauges read at scrape time: queue depths and connection states.
    metrics_.AddCollector([this, &queues, &registry] { CollectGauges(queues, registry); });

    ingest::IngestOptions iopts;
    iopts.region = config.region;
    iopts.account = config.account;
    ingest_ = std::make_unique<ingest::Ingest>(store, registry, *engine_, metrics_,
                                               RealClock::Get(), iopts);
    api.Register(
        "PutEvents",
        [this](const boost::json::object& in, const api::RequestContext&, api::JsonReply reply) {
          ingest_->PutEvents(in, std::move(reply));
        },
        api::EventsApi::InputLifetime::kTransient);
    return StartPipes(config, store, registry, queues);
  }

  Status StartPipes(const Config& config, store::Store& store, registry::Registry& registry,
                    queue::QueueService& queues) {
    pipes::PipeDeps deps;
    deps.store = &store;
    deps.queues = &queues;
    deps.engine = engine_.get();
    deps.metrics = &metrics_;
    deps.clock = &RealClock::Get();
    deps.partition = {config.region, config.account};
    deps.resolver.queue_exists = [&queues](std::string_view q) { return queues.QueueExists(q); };
    deps.resolver.destination_arn = [&registry](std::string_view name) {
      auto d = registry.FindDestination(name);
      return d ? d->arn : std::string();
    };
    deps.resolver.bus_exists = [&registry](std::string_view bus) {
      return registry.BusExists(bus);
    };
    deps.bus_fanout = [this](const std::string& bus, const std::string& event, int64_t ingestion_ms,
                             int hops, store::WriteBatch& batch) {
      return ingest_->Fanout(bus, event, ingestion_ms, hops, batch);
    };
    BP_ASSIGN_OR_RETURN(pipes_, pipes::PipeService::Open(std::move(deps), {}));
    return Status::Ok();
  }

  pipes::PipeService& Pipes() override { return *pipes_; }

  std::string MetricsText() override { return metrics_.Render(); }

  void CollectGauges(queue::QueueService& queues, registry::Registry& registry) {
    auto list = queues.ListQueues("", std::nullopt, "", "");
    if (list.ok()) {
      for (const std::string& url : list->queue_urls) {
        std::string name = url.substr(url.rfind('/') + 1);
        auto attrs = queues.GetQueueAttributes(
            name, {"ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
                   "ApproximateNumberOfMessagesDelayed"});
        if (!attrs.ok()) continue;
        const std::pair<const char*, const char*> states[] = {
            {"ApproximateNumberOfMessages", "visible"},
            {"ApproximateNumberOfMessagesNotVisible", "inflight"},
            {"ApproximateNumberOfMessagesDelayed", "delayed"}};
        for (const auto& [attr, state] : states) {
          auto it = attrs->find(attr);
          if (it == attrs->end()) continue;
          metrics_
              .GetGauge("bridgeport_queue_messages", "Messages in a queue, by state",
                        {{"queue", name}, {"state", state}})
              .Set(std::strtod(it->second.c_str(), nullptr));
        }
      }
    }
    for (const std::string& name : registry.ConnectionNames()) {
      auto view = registry.FindConnection(name);
      if (!view) continue;
      for (auto state :
           {registry::ConnectionState::kAuthorized, registry::ConnectionState::kAuthorizing,
            registry::ConnectionState::kDeauthorized, registry::ConnectionState::kDeauthorizing}) {
        metrics_
            .GetGauge("bridgeport_connection_state",
                      "1 for the connection's current state, 0 otherwise",
                      {{"connection", name},
                       {"state", std::string(registry::ConnectionStateName(state))}})
            .Set(view->state == state ? 1 : 0);
      }
    }
  }

  void HandleAdmin(http::Request&& req, http::Responder respond) override {
    engine_->HandleAdmin(req, std::move(respond));
  }

  void Stop() override {
    if (pipes_) pipes_->Stop();  // runners first: they wait on the engine
    if (engine_) engine_->Stop();
    http_.reset();  // completes in-flight transfers ("shutdown") after the engine stopped
    token_fetcher_.reset();
    // Commit callbacks reference the engine and the queue service: let every queued batch land
    // (batches apply in order, so an empty synchronous write waits for all of them).
    if (store_) store_->Write(store::WriteBatch()).IgnoreError();
  }

  ~DataPlaneImpl() override { Stop(); }

 private:
  metrics::Registry metrics_;
  store::Store* store_ = nullptr;
  std::unique_ptr<delivery::CurlMultiHttpClient> http_;
  std::unique_ptr<auth::CurlTokenFetcher> token_fetcher_;
  std::unique_ptr<delivery::DeliveryEngine> engine_;
  std::unique_ptr<ingest::Ingest> ingest_;
  std::unique_ptr<pipes::PipeService> pipes_;
};

}  // namespace

StatusOr<std::unique_ptr<DataPlane>> DataPlane::Start(const Config& config, store::Store& store,
                                                      registry::Registry& registry,
                                                      queue::QueueService& queues,
                                                      api::EventsApi& api) {
  auto dp = std::make_unique<DataPlaneImpl>();
  BP_RETURN_IF_ERROR(dp->Init(config, store, registry, queues, api));
  return std::unique_ptr<DataPlane>(std::move(dp));
}

}  // namespace bp::server
