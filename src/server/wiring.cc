#include "server/wiring.h"

#include <cstdlib>

#include "auth/curl_token_fetcher.h"
#include "common/log.h"
#include "delivery/curl_multi_http_client.h"
#include "delivery/engine.h"
#include "delivery/target_spec.h"
#include "ingest/ingest.h"
#include "metrics/metrics.h"
#include "server/cluster_wiring.h"

namespace bp::server {

Status ValidateTargetInputJson(const boost::json::object& target) {
  return delivery::ValidateTargetInputJson(target);
}

namespace {

class DataPlaneImpl final : public DataPlane {
 public:
  Status Init(const Config& config, store::Store& store, registry::Registry& registry,
              queue::QueueService& queues, api::EventsApi& api, cluster::ClusterNode* cluster) {
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
    if (cluster) {
      deps.may_start = [cluster](const std::string& lane) { return cluster->MayStart(lane); };
      deps.seq_stride = cluster::ClusterNode::kSlots;
      deps.seq_offset = static_cast<uint64_t>(cluster->slot());
    }
    BP_ASSIGN_OR_RETURN(engine_, delivery::DeliveryEngine::Start(std::move(deps)));
    delivery::DeliveryEngine* ingest_engine = engine_.get();
    if (cluster) {
      owned_lanes_ = OwnedLanesEngine(*cluster, *engine_);
      ingest_engine = owned_lanes_.get();
    }
    registry.SetConnectionListener(
        [this](const std::string& name) { engine_->ConnectionChanged(name); });
    for (const auto& name : registry.ConnectionNames()) engine_->ConnectionChanged(name);

    // Gauges read at scrape time: queue depths and connection states.
    metrics_.AddCollector([this, &queues, &registry] { CollectGauges(queues, registry); });

    ingest::IngestOptions iopts;
    iopts.region = config.region;
    iopts.account = config.account;
    ingest_ = std::make_unique<ingest::Ingest>(store, registry, *ingest_engine, metrics_,
                                               RealClock::Get(), iopts);
    if (cluster) RunClusterNode(*cluster, store, registry, *engine_);
    api.Register(
        "PutEvents",
        [this](const boost::json::object& in, const api::RequestContext&, api::JsonReply reply) {
          ingest_->PutEvents(in, std::move(reply));
        },
        api::EventsApi::InputLifetime::kTransient);
    return Status::Ok();
  }

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
  std::unique_ptr<delivery::DeliveryEngine> owned_lanes_;  // cluster mode: ingest's view
  std::unique_ptr<ingest::Ingest> ingest_;
};

}  // namespace

StatusOr<std::unique_ptr<DataPlane>> DataPlane::Start(const Config& config, store::Store& store,
                                                      registry::Registry& registry,
                                                      queue::QueueService& queues,
                                                      api::EventsApi& api,
                                                      cluster::ClusterNode* cluster) {
  auto dp = std::make_unique<DataPlaneImpl>();
  BP_RETURN_IF_ERROR(dp->Init(config, store, registry, queues, api, cluster));
  return std::unique_ptr<DataPlane>(std::move(dp));
}

}  // namespace bp::server
