// Pipe calls (EventBridge Pipes enrichments and targets) on API destination lanes.
//
// A pipe call is queued on the lane of its destination and started by Dispatch under the same
// exact limiter, breaker and max-inflight as rule deliveries; starts alternate between pipe calls
// and ready tasks while both wait. The outcome is classified as for rule deliveries (SPEC §9)
// and handed back to the pipe, which decides what happens to its source messages.
#include <boost/json.hpp>

#include "auth/auth_header.h"
#include "common/ids.h"
#include "common/log.h"
#include "delivery/engine_auth.h"
#include "delivery/engine_impl.h"
#include "delivery/target_spec.h"

namespace bp::delivery {

namespace json = boost::json;

namespace {

constexpr size_t kPipeResponseBodyBytes = 1 << 20;
constexpr int64_t kParkedPipeCallWaitMicros = 5'000'000;

PipeCallResult Failure(PipeCallResult::Kind kind, DeliveryErrorCode code, std::string message) {
  PipeCallResult r;
  r.kind = kind;
  r.error_code = code;
  if (message.size() > 1024) message.resize(1024);
  r.error_message = std::move(message);
  return r;
}

}  // namespace

transform::ConnectionHttpParameters ConnectionParams(const registry::ConnectionView& c) {
  transform::ConnectionHttpParameters p;
  auto copy = [](const std::vector<registry::ConnectionParam>& in,
                 std::vector<transform::ConnectionParameter>& out) {
    for (const auto& x : in) out.push_back({x.key, x.value, x.is_secret});
  };
  copy(c.headers, p.header_parameters);
  copy(c.query, p.query_string_parameters);
  copy(c.body, p.body_parameters);
  return p;
}

void EngineImpl::SubmitPipeCall(PipeCall call, PipeCallDone done) {
  auto pending = std::make_shared<PendingPipeCall>();
  pending->call = std::move(call);
  pending->done = std::move(done);
  pending->submitted_mono_us = d_.clock->MonotonicMicros();
  Post([this, pending] {
    Lane& lane = GetLane("api/" + pending->call.destination);
    lane.pipe_calls.push_back(pending);
    active_.insert(&lane);
  });
}

bool EngineImpl::TakePipeTurn(Lane& lane) {
  if (lane.pipe_calls.empty()) return false;
  if (lane.ready.empty()) return true;
  lane.pipe_turn = !lane.pipe_turn;
  return lane.pipe_turn;
}

void EngineImpl::FailParkedPipeCalls(Lane& lane) {
  // While a new OAuth connection fetches its first token (AUTHORIZING) calls wait a little.
  auto dest = d_.registry->FindDestination(lane.resource);
  auto conn = dest ? d_.registry->FindConnection(dest->connection_name) : nullptr;
  bool authorizing = conn && conn->state == registry::ConnectionState::kAuthorizing;
  int64_t now = d_.clock->MonotonicMicros();
  std::deque<std::shared_ptr<PendingPipeCall>> keep;
  while (!lane.pipe_calls.empty()) {
    auto call = std::move(lane.pipe_calls.front());
    lane.pipe_calls.pop_front();
    if (authorizing && now - call->submitted_mono_us < kParkedPipeCallWaitMicros) {
      keep.push_back(std::move(call));
      continue;
    }
    call->start_wall_us = d_.clock->NowMicros();
    PipeCallResult r = Failure(
        PipeCallResult::Kind::kRetryable, DeliveryErrorCode::kNoPermissions,
        "The API destination " + lane.resource + " is inactive: its connection is not authorized.");
    RecordPipeAttempt(lane.key, *call, nullptr, r);
    FinishPipeCall(*call, std::move(r));
  }
  lane.pipe_calls.swap(keep);
}

void EngineImpl::FinishPipeCall(PendingPipeCall& call, PipeCallResult result) {
  if (call.done) {
    auto done = std::move(call.done);
    call.done = nullptr;
    done(std::move(result));
  }
}

bool EngineImpl::PipeAuthHeader(Lane& lane, std::shared_ptr<PendingPipeCall>& pc,
                                const registry::ConnectionView& conn,
                                const registry::DeliverySettings& settings,
                                std::optional<transform::AuthHeader>* out) {
  PendingPipeCall& c = *pc;
  if (conn.auth_type == registry::AuthType::kBasic ||
      conn.auth_type == registry::AuthType::kApiKey) {
    auth::StaticAuthParams p{conn.username, conn.password, conn.api_key_name, conn.api_key_value};
    auto h = auth::StaticAuthHeader(conn.auth_type == registry::AuthType::kBasic
                                        ? auth::StaticAuthType::kBasic
                                        : auth::StaticAuthType::kApiKey,
                                    p);
    if (h) *out = transform::AuthHeader{h->first, h->second};
    return true;
  }
  if (conn.auth_type != registry::AuthType::kOAuthClientCredentials) return true;
  ConnectionAuth* ca = AuthFor(conn, settings);
  auth::Lookup lookup = ca->cache().Get();
  if (lookup.kind == auth::Lookup::Kind::kPending) {
    lane.waiting_token = true;
    lane.pipe_calls.push_front(std::move(pc));
    return false;
  }
  if (lookup.kind != auth::Lookup::Kind::kReady) {
    if (lookup.kind == auth::Lookup::Kind::kPermanentFailure) {
      SetConnectionState(conn.name, registry::ConnectionState::kDeauthorized, lookup.reason);
    }
    PipeCallResult r =
        Failure(PipeCallResult::Kind::kRetryable, DeliveryErrorCode::kConnectionFailure,
                "OAuth token endpoint unavailable: " + lookup.reason);
    RecordPipeAttempt(lane.key, c, nullptr, r);
    FinishPipeCall(c, std::move(r));
    return false;
  }
  c.access_token = lookup.token.access_token;
  *out = transform::AuthHeader{"Authorization", auth::AuthorizationHeaderValue(lookup.token)};
  return true;
}

void EngineImpl::StartPipeCall(Lane& lane, std::shared_ptr<PendingPipeCall> pc) {
  PendingPipeCall& c = *pc;
  c.start_wall_us = d_.clock->NowMicros();
  c.seq = NextSeq();
  auto dest = d_.registry->FindDestination(lane.resource);
  auto conn = dest ? d_.registry->FindConnection(dest->connection_name) : nullptr;
  if (!dest || !conn) {
    PipeCallResult r =
        Failure(PipeCallResult::Kind::kPermanent, DeliveryErrorCode::kNoResource,
                !dest ? "API destination " + lane.resource + " does not exist."
                      : "The connection of API destination " + lane.resource + " does not exist.");
    RecordPipeAttempt(lane.key, c, nullptr, r);
    FinishPipeCall(c, std::move(r));
    return;
  }
  auto settings = registry::ResolveSettings(d_.defaults, conn->tags, dest->tags, {});
  std::optional<transform::AuthHeader> auth_header;
  if (!PipeAuthHeader(lane, pc, *conn, settings, &auth_header)) return;
  transform::HttpParametersSpec params;
  if (!c.call.http_parameters_json.empty()) {
    json::object holder;
    boost::system::error_code ec;
    json::value v = json::parse(c.call.http_parameters_json, ec);
    if (!ec && v.is_object()) holder["HttpParameters"] = std::move(v);
    auto parsed = HttpParametersFromJson(holder);
    if (parsed.ok()) params = std::move(*parsed);
  }
  auto spec = transform::BuildHttpRequest(dest->http_method, dest->endpoint, params,
                                          ConnectionParams(*conn), auth_header,
                                          c.call.path_document, c.call.payload);
  if (!spec.ok()) {
    auto de = transform::ParseDeliveryError(spec.status());
    PipeCallResult r = Failure(PipeCallResult::Kind::kPermanent,
                               de ? de->code : DeliveryErrorCode::kInvalidParameter,
                               de ? de->message : spec.status().message());
    RecordPipeAttempt(lane.key, c, nullptr, r);
    FinishPipeCall(c, std::move(r));
    return;
  }
  HttpRequest req;
  req.method = spec->method;
  req.url = spec->url;
  req.headers = spec->headers;
  req.body = std::move(spec->body);
  req.timeout_ms = settings.timeout_ms;
  if (c.call.keep_response_body) req.keep_body_bytes = kPipeResponseBodyBytes;
  c.method = req.method;
  c.redacted_url = spec->redacted_url;
  c.redacted_headers = spec->redacted_headers;
  lane.inflight++;
  total_inflight_++;
  // The policy is resolved now, so the outcome is classified with the settings of this attempt.
  auto policy = std::make_shared<RetryPolicy>();
  if (auto set = StatusSet::Parse(settings.retryable_statuses); set.ok()) {
    policy->retryable_statuses = *set;
  }
  policy->retry_all_network_errors = settings.retry_all_network_errors;
  std::string lane_key = lane.key;
  d_.http->Send(std::move(req), [this, pc, lane_key, policy](HttpResult r) {
    Post([this, pc, lane_key, policy, r = std::move(r)]() mutable {
      Outcome o = Classify(r, *policy);
      PipeCallResult res;
      res.kind = o.kind == OutcomeKind::kSuccess     ? PipeCallResult::Kind::kSuccess
                 : o.kind == OutcomeKind::kRetryable ? PipeCallResult::Kind::kRetryable
                                                     : PipeCallResult::Kind::kPermanent;
      if (o.kind != OutcomeKind::kSuccess) {
        res.error_code = o.error_code;
        res.error_message = o.error_message;
      }
      res.status = r.status;
      res.body = r.body_prefix;
      RecordPipeAttempt(lane_key, *pc, &r, res);
      OnPipeCallDone(lane_key, pc, std::move(r));
      FinishPipeCall(*pc, std::move(res));
    });
  });
}

void EngineImpl::OnPipeCallDone(const std::string& lane_key, std::shared_ptr<PendingPipeCall> pc,
                                HttpResult result) {
  Lane& lane = GetLane(lane_key);
  lane.inflight--;
  total_inflight_--;
  if (HasWork(lane)) active_.insert(&lane);
  Attempts(lane, ResultClass(result)).Inc();
  lane.attempt_duration->Observe(static_cast<double>(result.duration_us) / 1e6);
  bool ok =
      result.kind == HttpResult::Kind::kResponse && result.status >= 200 && result.status < 300;
  int64_t now_mono = d_.clock->MonotonicMicros();
  if (lane.breaker) lane.breaker->OnResult(now_mono, ok);
  if (!ok && result.kind == HttpResult::Kind::kResponse &&
      (result.status == 401 || result.status == 407) && !pc->access_token.empty()) {
    auto dest = d_.registry->FindDestination(lane.resource);
    if (dest) {
      if (auto it = auth_.find(dest->connection_name); it != auth_.end()) {
        it->second->cache().Invalidate(pc->access_token);
      }
    }
  }
  log::Debug("delivery", "pipe call finished",
             {{"pipe", pc->call.pipe_name},
              {"role", pc->call.role},
              {"destination", lane.resource},
              {"status", result.status},
              {"duration_ms", result.duration_us / 1000}});
}

void EngineImpl::RecordPipeAttempt(const std::string& lane_key, PendingPipeCall& c,
                                   const HttpResult* r, const PipeCallResult& result) {
  json::object rec;
  rec["delivery_id"] = std::to_string(c.seq);
  rec["pipe"] = c.call.pipe_name;
  rec["pipe_role"] = c.call.role;
  if (!c.call.record_id.empty()) rec["message_id"] = c.call.record_id;
  rec["lane"] = lane_key;
  rec["attempt"] = 1;
  rec["start"] = FormatIso8601(c.start_wall_us / 1000000);
  rec["start_us"] = c.start_wall_us;
  AddExchangeFields(rec, r, c.method, c.redacted_url, c.redacted_headers);
  rec["outcome"] = result.kind == PipeCallResult::Kind::kSuccess ? "success" : "failed";
  if (result.error_code != DeliveryErrorCode::kNone) {
    rec["error_code"] = DeliveryErrorCodeName(result.error_code);
  }
  if (!result.error_message.empty()) rec["error"] = result.error_message;
  WriteAttemptRecord(*d_.store, lane_key, c.start_wall_us, c.seq, rec);
}

}  // namespace bp::delivery
