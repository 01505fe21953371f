// Starting one delivery attempt: the target's payload, authorization, the request and sending it
// (API destinations), queue and event-bus targets. Acting on the outcome: engine_outcomes.cc.
#include <boost/json.hpp>

#include "auth/auth_header.h"
#include "common/ids.h"
#include "common/log.h"
#include "delivery/engine_auth.h"
#include "delivery/engine_impl.h"
#include "delivery/target_spec.h"
#include "queue/queue_service.h"

namespace bp::delivery {

namespace json = boost::json;

std::string ResultClass(const HttpResult& r) {
  switch (r.kind) {
    case HttpResult::Kind::kResponse:
    case HttpResult::Kind::kResponseTooLarge:
      return std::to_string(r.status / 100) + "xx";
    case HttpResult::Kind::kTimeout:
      return "timeout";
    case HttpResult::Kind::kEgressDenied:
      return "egress_denied";
    default:
      return "conn_error";
  }
}

RetryPolicy EngineImpl::PolicyFor(const registry::TargetRoute& target,
                                  const registry::DeliverySettings& s) {
  RetryPolicy p;
  p.max_retry_attempts = target.max_retry_attempts;
  p.max_event_age_s = target.max_event_age_seconds;
  p.backoff_base_ms = s.backoff_base_ms;
  p.backoff_cap_ms = s.backoff_cap_ms;
  p.multiplier = s.backoff_multiplier;
  if (auto set = StatusSet::Parse(s.retryable_statuses); set.ok()) p.retryable_statuses = *set;
  p.retry_all_network_errors = s.retry_all_network_errors;
  p.retry_after_max_s = s.retry_after_max_seconds;
  return p;
}

std::shared_ptr<const transform::PayloadBuilder> EngineImpl::PayloadFor(
    const std::shared_ptr<const registry::TargetRoute>& target, Status* error) {
  auto it = payloads_.find(target.get());
  if (it != payloads_.end() && it->second.first == target) return it->second.second;
  if (payloads_.size() > 10000) payloads_.clear();
  auto spec = TargetInputFromJson(target->config);
  if (!spec.ok()) {
    *error = spec.status();
    return nullptr;
  }
  auto builder = transform::PayloadBuilder::Create(target->target_id, *spec);
  if (!builder.ok()) {
    *error = builder.status();
    return nullptr;
  }
  auto shared = std::make_shared<const transform::PayloadBuilder>(std::move(*builder));
  payloads_[target.get()] = {target, shared};
  return shared;
}

void EngineImpl::StartAttempt(Lane& lane, const TaskRef& ref) {
  std::optional<TaskRecord> task;
  if (ref.record) {
    task = DecodeTask(*ref.record);
  } else {
    auto data = d_.store->Get(store::Family::kTasks, TaskKey(ref.seq));
    if (!data.ok()) {
      log::Error("delivery", "cannot read task; will retry", {{"error", data.status().ToString()}});
      Schedule(lane.key, ref, d_.clock->NowMillis() + 1000);
      return;
    }
    if (!data->has_value()) return;  // already completed (e.g. a duplicate enqueue)
    task = DecodeTask(**data);
  }
  if (!task) {
    log::Error("delivery", "dropping undecodable task", {{"seq", static_cast<int64_t>(ref.seq)}});
    store::WriteBatch b;
    b.Delete(store::Family::kTasks, TaskKey(ref.seq));
    d_.store->WriteAsync(std::move(b), [](Status) {});
    return;
  }
  auto attempt = std::make_shared<Attempt>();
  attempt->task = std::move(*task);
  attempt->lane = lane.key;
  attempt->ref = ref;
  attempt->target =
      d_.registry->FindTarget(attempt->task.bus, attempt->task.rule, attempt->task.target_id);
  if (!attempt->target) {
    Cancel(attempt->task, "target removed");
    return;
  }
  std::string want_lane = LaneFor(*attempt->target);
  if (want_lane != lane.key) {
    // The target was re-pointed: the attempt uses the configuration current now.
    AddReady(want_lane, ref);
    return;
  }
  attempt->start_wall_us = d_.clock->NowMicros();
  if (attempt->task.retries == 0 && !attempt->task.oauth_resend) {
    lane.ingest_to_invocation->Observe(std::max<double>(
        0, (attempt->start_wall_us / 1000.0 - attempt->task.ingestion_ms) / 1000.0));
  }
  switch (lane.kind) {
    case LaneKind::kApi:
      StartApiAttempt(lane, attempt);
      break;
    case LaneKind::kQueue: {
      attempt->settings = d_.defaults;
      attempt->policy = PolicyFor(*attempt->target, attempt->settings);
      auto payload = BuildPayload(*attempt);
      if (payload) StartQueueAttempt(lane, attempt, *payload);
      break;
    }
    case LaneKind::kBus:
      StartBusAttempt(lane, attempt);
      break;
  }
}

std::optional<std::string> EngineImpl::BuildPayload(Attempt& a) {
  Status perr;
  auto builder = PayloadFor(a.target, &perr);
  if (builder) {
    transform::EventContext ctx{a.task.event_json, a.target->rule_arn, a.target->rule_name,
                                a.task.ingestion_ms / 1000};
    auto built = builder->Build(ctx, d_.max_payload_bytes);
    if (built.ok()) return std::move(*built);
    perr = built.status();
  }
  auto de = transform::ParseDeliveryError(perr);
  FailPermanent(a, de ? de->code : DeliveryErrorCode::kInternal, de ? de->message : perr.message(),
                ExhaustedRetryCondition::kNone, store::WriteBatch());
  return std::nullopt;
}

void EngineImpl::StartApiAttempt(Lane& lane, std::shared_ptr<Attempt> attempt) {
  Attempt& a = *attempt;
  a.destination = d_.registry->FindDestination(lane.resource);
  a.connection =
      a.destination ? d_.registry->FindConnection(a.destination->connection_name) : nullptr;
  a.settings = registry::ResolveSettings(
      d_.defaults, a.connection ? a.connection->tags : std::map<std::string, std::string>{},
      a.destination ? a.destination->tags : std::map<std::string, std::string>{},
      a.target->rule_tags);
  a.policy = PolicyFor(*a.target, a.settings);
  if (!a.destination || !a.connection) {
    FailPermanent(a, DeliveryErrorCode::kNoResource,
                  !a.destination
                      ? "API destination " + lane.resource + " does not exist."
                      : "The connection of API destination " + lane.resource + " does not exist.",
                  ExhaustedRetryCondition::kNone, store::WriteBatch());
    return;
  }
  std::optional<transform::AuthHeader> auth_header;
  if (!AuthorizeAttempt(lane, attempt, &auth_header)) return;
  const registry::ConnectionView& conn = *a.connection;
  auto payload = BuildPayload(a);
  if (!payload) return;
  auto http_params = HttpParametersFromJson(a.target->config);
  if (!http_params.ok()) {
    FailPermanent(a, DeliveryErrorCode::kInvalidParameter, http_params.status().message(),
                  ExhaustedRetryCondition::kNone, store::WriteBatch());
    return;
  }
  auto spec = transform::BuildHttpRequest(
      a.destination->http_method, a.destination->endpoint, *http_params, ConnectionParams(conn),
      auth_header, a.task.event_json, std::move(*payload), d_.max_payload_bytes);
  if (!spec.ok()) {
    auto de = transform::ParseDeliveryError(spec.status());
    FailPermanent(a, de ? de->code : DeliveryErrorCode::kInvalidParameter,
                  de ? de->message : spec.status().message(), ExhaustedRetryCondition::kNone,
                  store::WriteBatch());
    return;
  }
  SendApiRequest(lane, std::move(attempt), std::move(*spec));
}

// The Authorization header of an API attempt: static for Basic and API key, the cached token
// for OAuth. Returns false when the attempt does not go out now: it waits for a token fetch, or
// was completed (token endpoint down: a retryable failure) or put back (connection
// deauthorized).
bool EngineImpl::AuthorizeAttempt(Lane& lane, const std::shared_ptr<Attempt>& attempt,
                                  std::optional<transform::AuthHeader>* auth_header) {
  Attempt& a = *attempt;
  const auto& conn = *a.connection;
  if (conn.auth_type == registry::AuthType::kBasic ||
      conn.auth_type == registry::AuthType::kApiKey) {
    auth::StaticAuthParams p{conn.username, conn.password, conn.api_key_name, conn.api_key_value};
    auto h = auth::StaticAuthHeader(conn.auth_type == registry::AuthType::kBasic
                                        ? auth::StaticAuthType::kBasic
                                        : auth::StaticAuthType::kApiKey,
                                    p);
    if (h) *auth_header = transform::AuthHeader{h->first, h->second};
  } else if (conn.auth_type == registry::AuthType::kOAuthClientCredentials) {
    ConnectionAuth* ca = AuthFor(conn, a.settings);
    auth::Lookup lookup = ca->cache().Get();
    switch (lookup.kind) {
      case auth::Lookup::Kind::kReady:
        a.access_token = lookup.token.access_token;
        *auth_header =
            transform::AuthHeader{"Authorization", auth::AuthorizationHeaderValue(lookup.token)};
        break;
      case auth::Lookup::Kind::kPending:
        // Wait for the token; the start we took from the limiter is given up, which only makes
        // the lane more conservative.
        lane.waiting_token = true;
        AddReady(lane.key, a.ref, /*front=*/true);
        return false;
      case auth::Lookup::Kind::kTransientFailure: {
        HttpResult r;
        r.kind = HttpResult::Kind::kConnectionFailed;
        r.error = "OAuth token endpoint unavailable: " + lookup.reason;
        r.start_us = a.start_wall_us;
        lane.inflight++;
        total_inflight_++;
        OnHttpDone(attempt, std::move(r));
        return false;
      }
      case auth::Lookup::Kind::kPermanentFailure:
        SetConnectionState(conn.name, registry::ConnectionState::kDeauthorized, lookup.reason);
        AddReady(lane.key, a.ref, /*front=*/true);
        return false;
    }
  }
  return true;
}

// Sends the built request of an API attempt, with the delivery headers when the destination
// asks for them; the outcome comes back on the engine thread (OnHttpDone).
void EngineImpl::SendApiRequest(Lane& lane, std::shared_ptr<Attempt> attempt,
                                transform::HttpRequestSpec spec) {
  Attempt& a = *attempt;
  HttpRequest req;
  req.method = spec.method;
  req.url = spec.url;
  req.headers = spec.headers;
  req.body = std::move(spec.body);
  req.timeout_ms = a.settings.timeout_ms;
  a.method = req.method;
  a.redacted_url = spec.redacted_url;
  a.redacted_headers = spec.redacted_headers;
  if (a.settings.delivery_headers) {
    std::pair<std::string, std::string> extra[] = {
        {"X-Bridgeport-Event-Id", a.task.event_id},
        {"X-Bridgeport-Delivery-Id", std::to_string(a.task.seq)},
        {"X-Bridgeport-Attempt", std::to_string(a.task.retries + 1)}};
    for (auto& h : extra) {
      req.headers.push_back(h);
      a.redacted_headers.push_back(h);
    }
  }
  lane.inflight++;
  total_inflight_++;
  d_.http->Send(std::move(req), [this, attempt](HttpResult r) {
    Post([this, attempt, r = std::move(r)]() mutable { OnHttpDone(attempt, std::move(r)); });
  });
}

void EngineImpl::StartQueueAttempt(Lane& lane, std::shared_ptr<Attempt> attempt,
                                   const std::string& payload) {
  Attempt& a = *attempt;
  a.settings = d_.defaults;
  a.policy = PolicyFor(*a.target, a.settings);
  auto prepared = d_.queues->PrepareMessage(lane.resource, payload, {});
  if (!prepared.ok()) {
    bool missing = prepared.status().code() == StatusCode::kNotFound;
    FailPermanent(a,
                  missing ? DeliveryErrorCode::kNoResource : DeliveryErrorCode::kInvalidParameter,
                  prepared.status().message(), ExhaustedRetryCondition::kNone, store::WriteBatch());
    return;
  }
  store::WriteBatch b;
  d_.queues->AddToBatch(b, *prepared);
  auto msg = std::make_shared<queue::PreparedMessage>(std::move(*prepared));
  b.Delete(store::Family::kTasks, TaskKey(a.task.seq));
  RecordAttempt(a, nullptr, "success", "", "", 0, b);
  Invocations("success").Inc();
  d_.store->WriteAsync(std::move(b), [this, msg](Status s) {
    if (s.ok()) d_.queues->OnCommitted(*msg);
  });
}

void EngineImpl::StartBusAttempt(Lane& lane, std::shared_ptr<Attempt> attempt) {
  Attempt& a = *attempt;
  a.settings = d_.defaults;
  a.policy = PolicyFor(*a.target, a.settings);
  if (a.task.hops + 1 > 5) {
    FailPermanent(a, DeliveryErrorCode::kResourceLimitExceeded,
                  "The event crossed more than 5 event buses.", ExhaustedRetryCondition::kNone,
                  store::WriteBatch());
    return;
  }
  store::WriteBatch b;
  auto tasks =
      d_.bus_fanout(lane.resource, a.task.event_json, a.task.ingestion_ms, a.task.hops + 1, b);
  if (!tasks.ok()) {
    bool missing = tasks.status().code() == StatusCode::kNotFound;
    FailPermanent(a, missing ? DeliveryErrorCode::kNoResource : DeliveryErrorCode::kInternal,
                  tasks.status().message(), ExhaustedRetryCondition::kNone, store::WriteBatch());
    return;
  }
  b.Delete(store::Family::kTasks, TaskKey(a.task.seq));
  RecordAttempt(a, nullptr, "success", "", "", 0, b);
  Invocations("success").Inc();
  auto new_tasks = std::make_shared<std::vector<NewTask>>(std::move(*tasks));
  d_.store->WriteAsync(std::move(b), [this, new_tasks](Status s) {
    if (s.ok()) Enqueue(std::move(*new_tasks));
  });
}

}  // namespace bp::delivery
