// The outcome of a delivery attempt: classifying the result, metrics and guards, the OAuth re-send,
// durable retry or dead letter, and the attempt log. Starting attempts: engine_attempts.cc.
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

void EngineImpl::OnHttpDone(std::shared_ptr<Attempt> attempt, HttpResult result) {
  Attempt& a = *attempt;
  Lane& lane = GetLane(a.lane);
  lane.inflight--;
  total_inflight_--;
  if (!lane.ready.empty()) active_.insert(&lane);
  Outcome outcome = Classify(result, a.policy);
  int64_t now_ms = d_.clock->NowMillis();
  ObserveResult(lane, a, result, outcome, now_ms);
  if (outcome.kind == OutcomeKind::kSuccess) {
    store::WriteBatch b;
    RecordAttempt(a, &result, "success", "", "", 0, b);
    Succeed(a, std::move(b));
    return;
  }
  std::string code(DeliveryErrorCodeName(outcome.error_code));
  Count("bridgeport_invocation_failures_total", "Failed attempts by error code",
        {{"destination", lane.resource}, {"error_code", code}})
      .Inc();
  if (ResendAfterAuthFailure(a, result, outcome, code, now_ms)) return;
  a.task.oauth_resend = false;
  a.task.last_error_code = code;
  a.task.last_error_message = outcome.error_message;
  RetryOrFail(a, result, outcome, code, now_ms);
}

// Metrics, logs and the lane's guards (circuit breaker, adaptive rate) for one finished attempt.
void EngineImpl::ObserveResult(Lane& lane, const Attempt& a, const HttpResult& result,
                               const Outcome& outcome, int64_t now_ms) {
  std::string result_class = ResultClass(result);
  std::string dest_name = lane.resource;
  Attempts(lane, result_class).Inc();
  if (result.kind == HttpResult::Kind::kEgressDenied) {
    Count("bridgeport_egress_denied_total", "Connections refused by the egress policy",
          {{"client", "delivery"}, {"destination", dest_name}})
        .Inc();
    log::Warn("delivery", "egress policy refused a delivery",
              {{"destination", dest_name}, {"error", result.error}});
  }
  lane.attempt_duration->Observe(static_cast<double>(result.duration_us) / 1e6);
  int64_t now_mono = d_.clock->MonotonicMicros();
  if (lane.breaker) {
    bool was_closed = lane.breaker->state(now_mono) == CircuitBreaker::State::kClosed;
    lane.breaker->OnResult(now_mono, outcome.kind == OutcomeKind::kSuccess);
    if (was_closed && lane.breaker->state(now_mono) == CircuitBreaker::State::kOpen) {
      log::Warn("delivery", "circuit breaker opened", {{"destination", lane.resource}});
      Count("bridgeport_circuit_breaker_opened_total", "Times a destination's breaker opened",
            {{"destination", lane.resource}})
          .Inc();
    }
  }
  if (lane.adaptive && result.kind == HttpResult::Kind::kResponse && result.status == 429 &&
      a.destination) {
    std::optional<int64_t> pause_us;
    if (auto h = result.Header("Retry-After")) {
      if (auto ra = ParseRetryAfter(*h, now_ms / 1000); ra && *ra > 0) pause_us = *ra * 1'000'000;
    }
    lane.adaptive_rate.OnThrottled(now_mono, a.destination->rate_limit_per_second, pause_us);
    lane.blocked_until_us = std::max(lane.blocked_until_us, lane.adaptive_rate.paused_until());
  }
  log::Debug("delivery", "attempt finished",
             {{"event_id", a.task.event_id},
              {"rule", a.task.rule},
              {"destination", dest_name},
              {"attempt", a.task.retries + 1},
              {"status", result.status},
              {"duration_ms", result.duration_us / 1000},
              {"error_code", std::string(DeliveryErrorCodeName(outcome.error_code))}});
}

// A 401/407 from the endpoint: an OAuth connection drops its token and re-sends once at once
// (returns true; it uses one retry, none if there are none); other connections are deauthorized
// when the destination asks for it (deauthorize-on-401).
bool EngineImpl::ResendAfterAuthFailure(Attempt& a, HttpResult& result, const Outcome& outcome,
                                        const std::string& code, int64_t now_ms) {
  bool is_auth_status =
      result.kind == HttpResult::Kind::kResponse && (result.status == 401 || result.status == 407);
  if (is_auth_status && a.connection) {
    if (a.connection->auth_type == registry::AuthType::kOAuthClientCredentials &&
        !a.task.oauth_resend) {
      // Drop the token and re-send once at once (it uses one retry, none if there are none).
      if (auto it = auth_.find(a.connection->name); it != auth_.end()) {
        it->second->cache().Invalidate(a.access_token);
      }
      if (a.task.retries < a.policy.max_retry_attempts) {
        store::WriteBatch b;
        RecordAttempt(a, &result, "retry", code, outcome.error_message, now_ms, b);
        a.task.retries++;
        a.task.oauth_resend = true;
        a.task.last_error_code = code;
        a.task.last_error_message = outcome.error_message;
        b.Put(store::Family::kTasks, TaskKey(a.task.seq), EncodeTask(a.task));
        d_.store->WriteAsync(std::move(b), [](Status) {});
        // The re-send must see the updated record even before the write above commits.
        a.ref.record = std::make_shared<const std::string>(EncodeTask(a.task));
        AddReady(a.lane, a.ref, /*front=*/true);
        return true;
      }
    } else if (a.connection->auth_type != registry::AuthType::kOAuthClientCredentials &&
               a.settings.deauthorize_on_401) {
      SetConnectionState(
          a.connection->name, registry::ConnectionState::kDeauthorized,
          "HTTP " + std::to_string(result.status) + " from the endpoint (deauthorize-on-401)");
    }
  }
  return false;
}

// A failed attempt: a durable retry when the failure is retryable and the policy allows one,
// else the dead-letter path.
void EngineImpl::RetryOrFail(Attempt& a, HttpResult& result, const Outcome& outcome,
                             const std::string& code, int64_t now_ms) {
  if (outcome.kind == OutcomeKind::kRetryable) {
    std::optional<int64_t> retry_after;
    if (auto h = result.Header("Retry-After")) retry_after = ParseRetryAfter(*h, now_ms / 1000);
    double u = std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
    NextRetryDecision decision =
        DecideRetry(a.task.retries, now_ms, a.task.ingestion_ms, retry_after, a.policy, u);
    if (decision.kind == RetryDecisionKind::kRetry) {
      store::WriteBatch b;
      RecordAttempt(a, &result, "retry", code, outcome.error_message, decision.due_ms, b);
      a.task.retries++;
      a.task.due_ms = decision.due_ms;
      b.Put(store::Family::kTasks, TaskKey(a.task.seq), EncodeTask(a.task));
      d_.store->WriteAsync(std::move(b), [](Status) {});
      Schedule(a.lane, a.ref, decision.due_ms);
      return;
    }
    store::WriteBatch b;
    RecordAttempt(a, &result, "failed", code, outcome.error_message, 0, b);
    FailPermanent(a, outcome.error_code, outcome.error_message,
                  decision.kind == RetryDecisionKind::kExhausted ? decision.exhausted
                                                                 : ExhaustedRetryCondition::kNone,
                  std::move(b));
    return;
  }
  store::WriteBatch b;
  RecordAttempt(a, &result, "failed", code, outcome.error_message, 0, b);
  FailPermanent(a, outcome.error_code, outcome.error_message, ExhaustedRetryCondition::kNone,
                std::move(b));
}

void EngineImpl::Succeed(Attempt& a, store::WriteBatch batch) {
  batch.Delete(store::Family::kTasks, TaskKey(a.task.seq));
  Invocations("success").Inc();
  d_.store->WriteAsync(std::move(batch), [](Status s) {
    if (!s.ok())
      log::Error("delivery", "cannot record a delivery; it may be repeated",
                 {{"error", s.ToString()}});
  });
}

void EngineImpl::FailPermanent(Attempt& a, DeliveryErrorCode error_code, std::string message,
                               ExhaustedRetryCondition exhausted, store::WriteBatch batch) {
  const std::string_view code = DeliveryErrorCodeName(error_code);
  if (message.size() > 1024) message.resize(1024);
  if (!a.recorded) {
    // Failed before anything was sent (bad parameters, gone resources, parked too long): still
    // an attempt record, so dropped deliveries stay visible.
    if (a.start_wall_us == 0) a.start_wall_us = d_.clock->NowMicros();
    RecordAttempt(a, nullptr, "failed", code, message, 0, batch);
  }
  batch.Delete(store::Family::kTasks, TaskKey(a.task.seq));
  std::string dlq = a.target ? a.target->dead_letter_arn : "";
  std::string dest = a.lane.substr(a.lane.find('/') + 1);
  log::Error("delivery",
             dlq.empty() ? "delivery failed; no dead-letter queue, event dropped"
                         : "delivery failed; sending to the dead-letter queue",
             {{"event_id", a.task.event_id},
              {"rule", a.task.rule},
              {"destination", dest},
              {"error_code", std::string(code)},
              {"attempt", a.task.retries + 1},
              {"exhausted", std::string(ExhaustedRetryConditionName(exhausted))}});
  if (dlq.empty()) {
    Invocations("dropped").Inc();
    Count("bridgeport_dropped_total", "Events dropped for a target",
          {{"reason", "no_dlq"}, {"error_code", std::string(code)}})
        .Inc();
    d_.store->WriteAsync(std::move(batch), [](Status) {});
    return;
  }
  std::vector<queue::MessageAttribute> attrs;
  auto add = [&](std::string name, std::string type, std::string value) {
    queue::MessageAttribute m;
    m.name = std::move(name);
    m.data_type = std::move(type);
    m.string_value = std::move(value);
    attrs.push_back(std::move(m));
  };
  add("RULE_ARN", "String", a.target->rule_arn);
  add("TARGET_ARN", "String", a.target->target_arn);
  add("ERROR_CODE", "String", std::string(code));
  add("ERROR_MESSAGE", "String", message.empty() ? std::string(code) : message);
  if (exhausted != ExhaustedRetryCondition::kNone) {
    add("EXHAUSTED_RETRY_CONDITION", "String", std::string(ExhaustedRetryConditionName(exhausted)));
  }
  add("RETRY_ATTEMPTS", "Number", std::to_string(a.task.retries));
  auto prepared = d_.queues->PrepareMessage(dlq, a.task.event_json, std::move(attrs));
  if (!prepared.ok()) {
    log::Error(
        "delivery", "dead-letter queue unavailable; event dropped",
        {{"event_id", a.task.event_id}, {"queue", dlq}, {"error", prepared.status().ToString()}});
    Count("bridgeport_dlq_send_failures_total", "Dead-letter sends that failed", {}).Inc();
    Count("bridgeport_dropped_total", "Events dropped for a target",
          {{"reason", "dlq_unavailable"}, {"error_code", std::string(code)}})
        .Inc();
    Invocations("dropped").Inc();
    d_.store->WriteAsync(std::move(batch), [](Status) {});
    return;
  }
  d_.queues->AddToBatch(batch, *prepared);
  Count("bridgeport_dlq_sends_total", "Events sent to dead-letter queues", {}).Inc();
  Invocations("dlq").Inc();
  auto msg = std::make_shared<queue::PreparedMessage>(std::move(*prepared));
  d_.store->WriteAsync(std::move(batch), [this, msg](Status s) {
    if (s.ok()) d_.queues->OnCommitted(*msg);
  });
}

void EngineImpl::Cancel(const TaskRecord& task, std::string_view why) {
  store::WriteBatch b;
  b.Delete(store::Family::kTasks, TaskKey(task.seq));
  Invocations("cancelled").Inc();
  log::Info("delivery", "pending delivery cancelled",
            {{"event_id", task.event_id},
             {"rule", task.rule},
             {"target", task.target_id},
             {"reason", std::string(why)}});
  d_.store->WriteAsync(std::move(b), [](Status) {});
}

void EngineImpl::SetConnectionState(const std::string& connection, registry::ConnectionState state,
                                    std::string reason) {
  auto conn = d_.registry->FindConnection(connection);
  if (!conn) return;
  Status s =
      d_.registry->SetConnectionState(connection, state, std::move(reason), conn->generation);
  if (!s.ok()) log::Error("delivery", "cannot record connection state", {{"error", s.ToString()}});
}

void EngineImpl::RecordAttempt(Attempt& a, const HttpResult* r, std::string_view outcome,
                               std::string_view error_code, const std::string& error_message,
                               int64_t next_due_ms, store::WriteBatch& batch) {
  json::object rec;
  rec["delivery_id"] = std::to_string(a.task.seq);
  rec["event_id"] = a.task.event_id;
  rec["bus"] = a.task.bus;
  rec["rule"] = a.task.rule;
  rec["target_id"] = a.task.target_id;
  rec["lane"] = a.lane;
  rec["attempt"] = a.task.retries + 1;
  rec["start"] = FormatIso8601(a.start_wall_us / 1000000);
  rec["start_us"] = a.start_wall_us;
  AddExchangeFields(rec, r, a.method, a.redacted_url, a.redacted_headers);
  rec["outcome"] = outcome;
  if (!error_code.empty()) rec["error_code"] = error_code;
  if (!error_message.empty()) rec["error"] = error_message;
  if (next_due_ms) rec["next_due"] = FormatIso8601(next_due_ms / 1000);
  // Attempt records are observability, not state: they skip the write-ahead log (kept on a clean
  // shutdown, the last moments lost on a crash) so they do not add to PutEvents' fsyncs.
  (void)batch;
  a.recorded = true;
  WriteAttemptRecord(*d_.store, a.lane, a.start_wall_us, a.task.seq, rec);
}

void AddExchangeFields(json::object& rec, const HttpResult* r, const std::string& method,
                       const std::string& url, const HttpHeaders& headers) {
  if (r) {
    rec["duration_us"] = r->duration_us;
    rec["duration_ms"] = (r->duration_us + 500) / 1000;
    if (r->status) rec["status"] = r->status;
    std::string body = r->body_prefix.substr(0, 1024);
    if (!body.empty()) rec["response_body"] = body;
    if (!r->error.empty()) rec["transport_error"] = r->error;
  }
  if (!method.empty()) rec["method"] = method;
  if (!url.empty()) rec["url"] = url;
  if (!headers.empty()) {
    json::object h;
    for (const auto& [k, v] : headers) h[k] = v;
    rec["headers"] = std::move(h);
  }
}

void WriteAttemptRecord(store::Store& store, const std::string& lane, int64_t start_us,
                        uint64_t seq, const json::object& rec) {
  std::string key = "a" + lane + '\x00';
  store::AppendBigEndian64(key, static_cast<uint64_t>(start_us));
  store::AppendBigEndian64(key, seq);
  store::WriteBatch records;
  records.Put(store::Family::kAttempts, std::move(key), json::serialize(rec));
  Status s = store.WriteUnlogged(std::move(records));
  if (!s.ok()) log::Warn("delivery", "cannot write an attempt record", {{"error", s.ToString()}});
}

}  // namespace bp::delivery
