#include "server/wiring.h"

#include <cstdlib>
#include <mutex>

#include "api/archive_handlers.h"
#include "archive/archive_store.h"
#include "auth/curl_token_fetcher.h"
#include "common/log.h"
#include "console/console_service.h"
#include "delivery/curl_multi_http_client.h"
#include "delivery/engine.h"
#include "delivery/target_spec.h"
#include "ingest/ingest.h"
#include "metrics/metrics.h"
#include "replay/replay_service.h"
#include "schedule/scheduler.h"
#include "server/cluster_wiring.h"
#include "transform/transform.h"

namespace bp::server {

Status ValidateTargetInputJson(const boost::json::object& target) {
  return delivery::ValidateTargetInputJson(target);
}

StatusOr<std::shared_ptr<egress::Policy>> MakeEgressPolicy(const Config& config) {
  egress::PolicyOptions opts;
  opts.allow_private =
      config.egress_allow_private < 0 ? config.IsLoopback() : config.egress_allow_private == 1;
  opts.allow = config.egress_allow;
  return egress::Policy::Create(opts);
}

namespace {

class DataPlaneImpl final : public DataPlane {
 public:
  Status Init(const Config& config, store::Store& store, registry::Registry& registry,
              queue::QueueService& queues, api::EventsApi& api,
              std::shared_ptr<const egress::Policy> egress, cluster::ClusterNode* cluster) {
    store_ = &store;
    delivery::CurlHttpClientOptions http_opts;
    http_opts.extra_ca_file = config.ca_file;
    http_opts.egress = egress;
    BP_ASSIGN_OR_RETURN(http_, delivery::CurlMultiHttpClient::Create(http_opts));
    auth::CurlTokenFetcher::Options token_opts;
    token_opts.ca_file = config.ca_file;
    token_opts.egress = egress;
    BP_ASSIGN_OR_RETURN(token_fetcher_, auth::CurlTokenFetcher::Create(token_opts));

    delivery::EngineDeps deps;
    deps.store = &store;
    deps.registry = &registry;
    deps.queues = &queues;
    deps.metrics = &metrics_;
    deps.http = http_.get();
    deps.token_fetcher = token_fetcher_.get();
    deps.clock = &RealClock::Get();
    // The payload cap defaults to the PutEvents size limit plus what an InputTemplate itself may
    // add: a template then never sends much more than one request could have brought in.
    deps.max_payload_bytes = config.max_payload_bytes > 0
                                 ? config.max_payload_bytes
                                 : config.max_event_bytes + transform::kMaxInputTemplateLength;
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
    enqueue_engine_ = ingest_engine;
    registry.SetConnectionListener(
        [this](const std::string& name) { engine_->ConnectionChanged(name); });
    for (const auto& name : registry.ConnectionNames()) engine_->ConnectionChanged(name);
    BP_ASSIGN_OR_RETURN(console_, console::ConsoleService::Start({.store = &store,
                                                                  .registry = &registry,
                                                                  .queues = &queues,
                                                                  .metrics = &metrics_,
                                                                  .engine = ingest_engine,
                                                                  .clock = &RealClock::Get()}));

    // Gauges read at scrape time: queue depths and connection states.
    metrics_.AddCollector([this, &queues, &registry] { CollectGauges(queues, registry); });
    metrics_.AddCollector([this] { CollectStoreHealth(); });

    ingest::IngestOptions iopts;
    iopts.region = config.region;
    iopts.account = config.account;
    iopts.max_request_bytes = config.max_event_bytes;
    iopts.admission.max_pending_deliveries = config.max_pending_deliveries;
    iopts.admission.max_store_bytes = static_cast<uint64_t>(config.max_store_bytes);
    ingest_ = std::make_unique<ingest::Ingest>(store, registry, *ingest_engine, metrics_,
                                               RealClock::Get(), iopts);
    if (cluster) RunClusterNode(*cluster, store, registry, *engine_);
    BP_RETURN_IF_ERROR(StartArchivesAndSchedules(config, store, registry, api));
    api.Register(
        "PutEvents",
        [this](const boost::json::object& in, const api::RequestContext& ctx,
               api::JsonReply reply) {
          ingest_->PutEvents(in, std::move(reply), {ctx.caller_account, ctx.caller_organization});
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

  // The action that hands committed tasks to the engine.
  std::function<void()> EnqueueAfter(std::vector<tasks::NewTask> tasks) {
    auto shared = std::make_shared<std::vector<tasks::NewTask>>(std::move(tasks));
    return [this, shared] { enqueue_engine_->Enqueue(std::move(*shared)); };
  }

  // Archives (written by PutEvents), replays and scheduled rules, all on top of ingest's routing.
  Status StartArchivesAndSchedules(const Config& config, store::Store& store,
                                   registry::Registry& registry, api::EventsApi& api) {
    model::Partition partition{config.region, config.account};
    BP_ASSIGN_OR_RETURN(archives_,
                        archive::ArchiveStore::Open(store, RealClock::Get(),
                                                    {partition, [&registry](std::string_view bus) {
                                                       return registry.BusExists(bus);
                                                     }}));
    archives_->StartSweeper(config.archive_sweep_seconds * 1000);
    ingest_->SetArchives(archives_.get());

    replay::ReplayDeps rdeps;
    rdeps.store = &store;
    rdeps.clock = &RealClock::Get();
    rdeps.archives = archives_.get();
    rdeps.fanout = [this](const std::string& bus, const std::string& id, const std::string& event,
                          const std::vector<std::string>& rule_arns,
                          store::WriteBatch& batch) -> StatusOr<std::function<void()>> {
      BP_ASSIGN_OR_RETURN(auto tasks, ingest_->FanoutReplay(bus, id, event, rule_arns, batch));
      auto* replayed = &metrics_.GetCounter("bridgeport_replayed_events_total",
                                            "Archived events re-put by replays", {{"bus", bus}});
      return std::function<void()>([enqueue = EnqueueAfter(std::move(tasks)), replayed] {
        replayed->Inc();
        enqueue();
      });
    };
    rdeps.rule_exists = [&registry](const std::string& bus, const std::string& arn) {
      auto routes = registry.Routes(bus);
      if (!routes) return false;
      for (const auto& r : routes->rules) {
        if (r.arn == arn) return true;
      }
      return false;
    };
    rdeps.bus_exists = [&registry](const std::string& bus) { return registry.BusExists(bus); };
    replay::ReplayOptions ropts;
    ropts.partition = partition;
    ropts.events_per_second = config.replay_events_per_second;
    replays_ = std::make_unique<replay::ReplayService>(std::move(rdeps), ropts);
    BP_RETURN_IF_ERROR(replays_->Start());
    api::RegisterArchivesAndReplays(api, *archives_, *replays_);
    return StartScheduler(config, store, registry);
  }

  // Ticks of scheduled rules on the default bus, to each rule's targets only.
  Status StartScheduler(const Config& config, store::Store& store, registry::Registry& registry) {
    schedule::SchedulerDeps sdeps;
    sdeps.store = &store;
    sdeps.clock = &RealClock::Get();
    sdeps.account = config.account;
    sdeps.region = config.region;
    sdeps.rules = [&registry] {
      std::vector<schedule::ScheduledRule> out;
      if (auto routes = registry.Routes("default")) {
        for (const auto& r : routes->rules) {
          if (r.schedule_expression.empty()) continue;
          out.push_back({"default", r.name, r.arn, r.schedule_expression, r.enabled});
        }
      }
      return out;
    };
    sdeps.fanout = [this](const schedule::ScheduledRule& rule, const std::string& event,
                          store::WriteBatch& batch) -> StatusOr<std::function<void()>> {
      std::string id = event.substr(event.find("\"id\":\"") + 6, 36);
      BP_ASSIGN_OR_RETURN(auto tasks, ingest_->FanoutToRule(rule.bus, rule.name, id, event, batch));
      auto* ticks = &metrics_.GetCounter("bridgeport_scheduled_ticks_total",
                                         "Ticks of scheduled rules", {{"rule", rule.arn}});
      return std::function<void()>([enqueue = EnqueueAfter(std::move(tasks)), ticks] {
        ticks->Inc();
        enqueue();
      });
    };
    scheduler_ = std::make_unique<schedule::Scheduler>(std::move(sdeps));
    return scheduler_->Start();
  }

  void CollectStoreHealth() {
    const store::Store::Health h = store_->GetHealth();
    metrics_.GetGauge("bridgeport_store_writable", "1 while the store accepts writes", {})
        .Set(h.writable ? 1 : 0);
    // Counters mirrored from the store's own totals; scrapes may run concurrently.
    std::lock_guard<std::mutex> lock(health_mu_);
    auto mirror = [this](const char* name, const char* help, uint64_t total, uint64_t& seen) {
      metrics::Counter& c = metrics_.GetCounter(name, help, {});
      if (total > seen) c.Inc(total - seen);
      seen = total;
    };
    mirror("bridgeport_store_write_errors_total", "Failed durable store writes", h.write_errors,
           seen_write_errors_);
    mirror("bridgeport_store_recoveries_total", "Times store writes resumed after an error",
           h.recoveries, seen_recoveries_);
    mirror("bridgeport_store_unlogged_dropped_total",
           "Attempt-record batches dropped while the store refused writes", h.dropped_unlogged,
           seen_dropped_);
  }

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
    if (console::ConsoleService::Handles(req)) {
      console_->HandleAdmin(req, std::move(respond));
      return;
    }
    engine_->HandleAdmin(req, std::move(respond));
  }

  void Stop() override {
    // Producers of tasks first, then the engine they feed.
    if (scheduler_) scheduler_->Stop();
    if (replays_) replays_->Stop();
    if (archives_) archives_->Stop();
    if (console_) console_->Stop();  // redrives hand tasks to the engine: stop them first
    if (pipes_) pipes_->Stop();      // runners first: they wait on the engine
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
  std::mutex health_mu_;
  uint64_t seen_write_errors_ = 0;  // GUARDED_BY(health_mu_), as the two below
  uint64_t seen_recoveries_ = 0;
  uint64_t seen_dropped_ = 0;
  std::unique_ptr<delivery::CurlMultiHttpClient> http_;
  std::unique_ptr<auth::CurlTokenFetcher> token_fetcher_;
  std::unique_ptr<delivery::DeliveryEngine> engine_;
  std::unique_ptr<console::ConsoleService> console_;
  std::unique_ptr<delivery::DeliveryEngine> owned_lanes_;  // cluster mode: ingest's view
  delivery::DeliveryEngine* enqueue_engine_ = nullptr;     // engine_, or owned_lanes_ in a cluster
  std::unique_ptr<ingest::Ingest> ingest_;
  std::unique_ptr<archive::ArchiveStore> archives_;
  std::unique_ptr<replay::ReplayService> replays_;
  std::unique_ptr<schedule::Scheduler> scheduler_;
  std::unique_ptr<pipes::PipeService> pipes_;
};

}  // namespace

StatusOr<std::unique_ptr<DataPlane>> DataPlane::Start(const Config& config, store::Store& store,
                                                      registry::Registry& registry,
                                                      queue::QueueService& queues,
                                                      api::EventsApi& api,
                                                      std::shared_ptr<const egress::Policy> egress,
                                                      cluster::ClusterNode* cluster) {
  auto dp = std::make_unique<DataPlaneImpl>();
  BP_RETURN_IF_ERROR(dp->Init(config, store, registry, queues, api, std::move(egress), cluster));
  return std::unique_ptr<DataPlane>(std::move(dp));
}

}  // namespace bp::server
