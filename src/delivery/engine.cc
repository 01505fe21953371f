// The engine loop: inbox, lanes, timers, dispatch under the rate limiter, parking, sweeping.
#include <algorithm>

#include "common/log.h"
#include "delivery/engine_auth.h"
#include "delivery/engine_impl.h"
#include "model/arn.h"

namespace bp::delivery {

EngineImpl::EngineImpl(EngineDeps deps) : d_(std::move(deps)), seq_(d_.seq_stride, d_.seq_offset) {}

EngineImpl::~EngineImpl() { Stop(); }

metrics::Counter& EngineImpl::Count(const std::string& name, const std::string& help,
                                    const metrics::Labels& l) {
  return d_.metrics->GetCounter(name, help, l);
}

metrics::Counter& EngineImpl::Invocations(std::string_view outcome) {
  auto it = invocations_.find(outcome);
  if (it != invocations_.end()) return *it->second;
  metrics::Counter* c = &Count("bridgeport_invocations_total", "Deliveries finished, by outcome",
                               {{"outcome", std::string(outcome)}});
  invocations_.emplace(std::string(outcome), c);
  return *c;
}

metrics::Counter& EngineImpl::Attempts(Lane& lane, const std::string& result_class) {
  auto it = lane.attempts_by_result.find(result_class);
  if (it != lane.attempts_by_result.end()) return *it->second;
  metrics::Counter* c =
      &Count("bridgeport_invocation_attempts_total", "Delivery attempts by result",
             {{"destination", lane.resource}, {"result", result_class}});
  lane.attempts_by_result.emplace(result_class, c);
  return *c;
}

uint64_t EngineImpl::NextSeq() { return seq_.Next(); }

void EngineImpl::Post(std::function<void()> fn) {
  std::lock_guard<std::mutex> lock(inbox_mu_);
  inbox_.push_back(std::move(fn));
  inbox_cv_.notify_one();
}

void EngineImpl::Enqueue(std::vector<NewTask> tasks) {
  pending_enqueued_.fetch_add(static_cast<int64_t>(tasks.size()), std::memory_order_relaxed);
  Post([this, tasks = std::move(tasks)] {
    int64_t now_ms = d_.clock->NowMillis();
    for (const NewTask& t : tasks) {
      if (!adopted_.empty() && RecentlyAdopted(t.lane, t.seq)) continue;
      TaskRef ref{t.seq, t.ingestion_ms, t.max_age_s, t.record};
      if (t.due_ms > now_ms) {
        Schedule(t.lane, ref, t.due_ms);
      } else {
        AddReady(t.lane, ref);
      }
    }
  });
}

Status EngineImpl::Recover() {
  // Sequence numbers continue after the largest stored one (tasks::SeqAllocator).
  uint64_t max_seq = 0;
  size_t recovered = 0, cancelled = 0;
  int64_t now_ms = d_.clock->NowMillis();
  std::vector<TaskRecord> orphans;
  Status s = d_.store->Scan(
      store::Family::kTasks, "t", store::PrefixEnd("t"),
      [&](std::string_view key, std::string_view value) {
        auto task = DecodeTask(value, /*with_event=*/false);
        auto seq = SeqFromTaskKey(key);
        if (!task || !seq) {
          log::Error("delivery", "skipping undecodable task record");
          return true;
        }
        max_seq = std::max(max_seq, *seq);
        auto target = d_.registry->FindTarget(task->bus, task->rule, task->target_id);
        if (!target) {
          orphans.push_back(std::move(*task));
          return true;
        }
        TaskRef ref{*seq, task->ingestion_ms, static_cast<int32_t>(target->max_event_age_seconds),
                    nullptr};
        std::string lane = LaneFor(*target);
        if (task->due_ms > now_ms) {
          Schedule(lane, ref, task->due_ms);
        } else {
          AddReady(lane, ref);
        }
        ++recovered;
        return true;
      });
  BP_RETURN_IF_ERROR(s);
  for (const auto& t : orphans) {
    Cancel(t, "target removed");
    ++cancelled;
  }
  seq_.Seed(max_seq, d_.clock->NowMicros());
  log::Info(
      "delivery", "recovered pending deliveries",
      {{"tasks", static_cast<int64_t>(recovered)}, {"cancelled", static_cast<int64_t>(cancelled)}});
  return Status::Ok();
}

void EngineImpl::StartThread() {
  dispatch_after_mono_ = d_.clock->MonotonicMicros() + 1'000'000;
  thread_ = std::thread([this] { Run(); });
}

void EngineImpl::Stop() {
  if (stopped_.exchange(true)) return;
  {
    std::lock_guard<std::mutex> lock(inbox_mu_);
    stopping_ = true;
    inbox_cv_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
  auth_.clear();
}

Lane& EngineImpl::GetLane(const std::string& key) {
  auto it = lanes_.find(key);
  if (it != lanes_.end()) return *it->second;
  auto lane = std::make_unique<Lane>();
  lane->key = key;
  std::string_view kind(key.data(), key.find('/'));
  lane->resource = key.substr(key.find('/') + 1);
  lane->kind = kind == "api" ? LaneKind::kApi : kind == "sqs" ? LaneKind::kQueue : LaneKind::kBus;
  // Per-lane latency series, labelled with the API destination; queue and bus lanes share the
  // unlabelled series. The server-wide figure is the sum of all series.
  metrics::Labels by_dest;
  if (lane->kind == LaneKind::kApi) by_dest = {{"destination", lane->resource}};
  lane->attempt_duration = &d_.metrics->GetHistogram(
      "bridgeport_attempt_duration_seconds", "Duration of delivery attempts, by API destination",
      by_dest, metrics::LatencyBuckets());
  lane->ingest_to_invocation = &d_.metrics->GetHistogram(
      "bridgeport_ingestion_to_invocation_seconds",
      "Time from PutEvents acceptance to the start of the first attempt, by API destination",
      by_dest, metrics::LatencyBuckets());
  if (lane->kind == LaneKind::kApi) {
    int rate = 300;
    if (auto dest = d_.registry->FindDestination(lane->resource))
      rate = dest->rate_limit_per_second;
    lane->limiter = std::make_unique<RateLimiter>(rate);
    lane->throttled_waits =
        &Count("bridgeport_throttled_waits_total",
               "Times a destination had ready work but its rate limit was used up",
               {{"destination", lane->resource}});
    lane->starts = &Count("bridgeport_attempt_starts_total",
                          "Attempts started per destination (counted at the start)",
                          {{"destination", lane->resource}});
    std::lock_guard<std::mutex> lock(histories_mu_);
    auto& history = histories_[lane->resource];
    if (!history) history = std::make_shared<StartHistory>();
    lane->start_history = history;
  }
  Lane& ref = *lane;
  lanes_.emplace(key, std::move(lane));
  return ref;
}

void EngineImpl::AddReady(const std::string& lane_key, const TaskRef& ref, bool front) {
  Lane& lane = GetLane(lane_key);
  TaskRef r = ref;
  if (lane.ready.size() >= kMaxCachedRecordsPerLane) r.record.reset();
  if (front) {
    lane.ready.push_front(std::move(r));
  } else {
    lane.ready.push_back(std::move(r));
  }
  active_.insert(&lane);
}

void EngineImpl::Schedule(const std::string& lane_key, const TaskRef& ref, int64_t due_ms) {
  Lane& lane = GetLane(lane_key);
  lane.scheduled++;
  TaskRef r = ref;
  r.record.reset();  // retries may wait long: read the record back when due
  timers_.push(Timer{due_ms, ref.seq, lane_key, std::move(r), lane.epoch});
}

void EngineImpl::PromoteTimers(int64_t now_ms) {
  while (!timers_.empty() && timers_.top().due_ms <= now_ms) {
    Timer t = timers_.top();
    timers_.pop();
    Lane& lane = GetLane(t.lane);
    if (t.lane_epoch != lane.epoch) continue;  // dropped: another node owns the lane now
    if (lane.scheduled > 0) lane.scheduled--;
    // Retries go to the front: they are the oldest work of the lane.
    AddReady(t.lane, t.ref, /*front=*/true);
  }
}

bool EngineImpl::LaneUsable(Lane& lane) {
  if (lane.kind != LaneKind::kApi) return true;
  auto dest = d_.registry->FindDestination(lane.resource);
  if (!dest) return true;  // attempts will fail with NO_RESOURCE
  auto conn = d_.registry->FindConnection(dest->connection_name);
  if (!conn) return true;  // NO_RESOURCE
  bool parked = conn->state != registry::ConnectionState::kAuthorized;
  if (parked && !lane.parked) {
    log::Info("delivery", "destination parked: its connection is not authorized",
              {{"destination", lane.resource},
               {"connection_state", std::string(registry::ConnectionStateName(conn->state))}});
  }
  lane.parked = parked;
  if (parked && conn->auth_type == registry::AuthType::kOAuthClientCredentials &&
      conn->state == registry::ConnectionState::kAuthorizing) {
    // Make sure a token fetch is under way.
    auto settings = registry::ResolveSettings(d_.defaults, conn->tags, dest->tags, {});
    AuthFor(*conn, settings);
  }
  return !parked;
}

void EngineImpl::ApplyGuards(Lane& lane, const registry::DestinationView& dest) {
  int64_t now = d_.clock->MonotonicMicros();
  auto cb = dest.tags.find("bridgeport:circuit-breaker");
  std::string spec = cb == dest.tags.end() ? "off" : cb->second;
  if (spec != lane.breaker_spec) {
    lane.breaker_spec = spec;
    bool ok = false;
    auto policy = registry::BreakerPolicy::Parse(spec, &ok);
    lane.breaker = policy ? std::make_unique<CircuitBreaker>(*policy) : nullptr;
  }
  auto ar = dest.tags.find("bridgeport:adaptive-rate");
  lane.adaptive = ar != dest.tags.end() && ar->second == "on";
  int rate = lane.adaptive ? lane.adaptive_rate.Rate(now, dest.rate_limit_per_second)
                           : dest.rate_limit_per_second;
  if (lane.limiter->rate() != rate) lane.limiter->SetRate(rate);
}

// Reads the destination's start settings into `lane` (once per pass, from one registry
// snapshot): max-inflight, rate-burst, guards. Returns false while an OAuth destination's token
// is still being fetched: the lane then waits without using its limit.
bool EngineImpl::PrepareApiLane(Lane& lane, int* max_inflight) {
  auto dest = d_.registry->FindDestination(lane.resource);
  if (!dest) return true;
  auto it = dest->tags.find("bridgeport:max-inflight");
  if (it != dest->tags.end()) *max_inflight = std::max(1, std::atoi(it->second.c_str()));
  auto b = dest->tags.find("bridgeport:rate-burst");
  if (b != dest->tags.end()) lane.burst = std::max(1, std::atoi(b->second.c_str()));
  ApplyGuards(lane, *dest);
  auto conn = d_.registry->FindConnection(dest->connection_name);
  if (conn && conn->auth_type == registry::AuthType::kOAuthClientCredentials) {
    ConnectionAuth* ca =
        AuthFor(*conn, registry::ResolveSettings(d_.defaults, conn->tags, dest->tags, {}));
    if (ca && ca->cache().Get().kind == auth::Lookup::Kind::kPending) {
      lane.waiting_token = true;
      return false;
    }
  }
  return true;
}

// Reads the record of the next ready task before the limiter admits its start: a slow store
// read (a remote database) between admission and the request would bunch starts at the
// destination. Returns false when the task is gone (already completed, e.g. handed over twice)
// and was dropped from the lane.
bool EngineImpl::LoadFrontRecord(Lane& lane) {
  if (lane.ready.empty() || lane.ready.front().record) return true;
  auto data = d_.store->Get(store::Family::kTasks, TaskKey(lane.ready.front().seq));
  if (data.ok() && !data->has_value()) {
    lane.ready.pop_front();
    return false;
  }
  if (data.ok()) {
    lane.ready.front().record = std::make_shared<const std::string>(std::move(**data));
  }
  return true;
}

// Whether one more start may happen now on a rate-limited lane: circuit breaker, adaptive-rate
// pause, rate-burst spacing and the exact window. Takes the start from the limiter when it
// answers yes.
bool EngineImpl::AdmitStart(Lane& lane) {
  int64_t now = d_.clock->MonotonicMicros();
  // Circuit breaker open, or paused by adaptive-rate until Retry-After: nothing starts.
  if (lane.blocked_until_us > now) return false;
  if (lane.breaker && lane.breaker->state(now) == CircuitBreaker::State::kOpen) {
    lane.blocked_until_us = lane.breaker->open_until();
    return false;
  }
  if (lane.breaker && lane.breaker->state(now) == CircuitBreaker::State::kHalfOpen &&
      lane.inflight > 0) {
    return false;  // the probe is out; wait for its result
  }
  // rate-burst B (GCRA): starts are spaced by T = 1 s / R, with up to B at once; on top of
  // (never instead of) the exact window below.
  const int burst = lane.burst;
  int64_t interval = 1'000'000 / std::max(1, lane.limiter->rate());
  if ((burst > 0 && lane.gcra_tat_us - now > int64_t{burst - 1} * interval) ||
      !lane.limiter->TryAcquire(now)) {
    if (!lane.throttled) {
      lane.throttled = true;
      lane.throttled_waits->Inc();
    }
    return false;
  }
  lane.throttled = false;
  if (burst > 0) lane.gcra_tat_us = std::max(lane.gcra_tat_us, now) + interval;
  return !lane.breaker || lane.breaker->AllowStart(now);
}

void EngineImpl::Dispatch(Lane& lane) {
  if (!HasWork(lane)) return;
  if (!MayStart(lane)) return;
  if (!LaneUsable(lane)) {
    FailParkedPipeCalls(lane);
    return;
  }
  int max_inflight = d_.defaults.max_inflight;
  lane.burst = 0;  // 0: no GCRA spacing (all R starts may happen at once)
  lane.waiting_token = false;
  if (lane.kind == LaneKind::kApi && !PrepareApiLane(lane, &max_inflight)) return;
  while (HasWork(lane) && lane.inflight < max_inflight && !lane.waiting_token) {
    if (!LoadFrontRecord(lane)) continue;
    // Checked before every start, not once per lane: a lease can end while this loop runs.
    if (!MayStart(lane)) return;
    if (lane.limiter && !AdmitStart(lane)) return;
    if (TakePipeTurn(lane)) {
      auto call = std::move(lane.pipe_calls.front());
      lane.pipe_calls.pop_front();
      StartPipeCall(lane, std::move(call));
      continue;
    }
    TaskRef ref = lane.ready.front();
    lane.ready.pop_front();
    if (lane.starts) {
      lane.starts->Inc();
      lane.start_history->Record(d_.clock->NowMicros() / 1'000'000);
    }
    StartAttempt(lane, ref);
  }
}

void EngineImpl::DispatchAll() {
  if (d_.clock->MonotonicMicros() < dispatch_after_mono_) return;
  // While the store refuses writes (disk full) no outcome could be recorded: wait for it.
  if (!d_.store->Writable()) return;
  std::vector<Lane*> lanes(active_.begin(), active_.end());
  for (Lane* lane : lanes) {
    Dispatch(*lane);
    if (!HasWork(*lane)) active_.erase(lane);
  }
}

int64_t EngineImpl::NextWakeMicros(int64_t now_mono) {
  int64_t wake = now_mono + 100'000;  // housekeeping tick
  if (!active_.empty() && dispatch_after_mono_ > now_mono)
    wake = std::min(wake, dispatch_after_mono_);
  if (!timers_.empty()) {
    int64_t delta_ms = timers_.top().due_ms - d_.clock->NowMillis();
    wake = std::min(wake, now_mono + std::max<int64_t>(0, delta_ms * 1000));
  }
  for (Lane* lane : active_) {
    if (!HasWork(*lane) || lane->parked || lane->waiting_token || !lane->limiter) continue;
    if (lane->blocked_until_us > now_mono) {
      wake = std::min(wake, lane->blocked_until_us);
      continue;
    }
    if (lane->throttled) {
      int64_t next = lane->limiter->NextAvailable(now_mono);
      if (lane->burst > 0) {
        int64_t interval = 1'000'000 / std::max(1, lane->limiter->rate());
        next = std::max(next, lane->gcra_tat_us - int64_t{lane->burst - 1} * interval);
      }
      wake = std::min(wake, next);
    }
  }
  return wake;
}

void EngineImpl::Run() {
  std::vector<std::function<void()>> work;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(inbox_mu_);
      if (inbox_.empty() && !stopping_) {
        int64_t now = d_.clock->MonotonicMicros();
        int64_t wake = NextWakeMicros(now);
        if (wake > now) {
          inbox_cv_.wait_for(lock, std::chrono::microseconds(wake - now));
        }
      }
      if (stopping_) break;
      work.swap(inbox_);
    }
    for (auto& fn : work) fn();
    work.clear();
    PromoteTimers(d_.clock->NowMillis());
    DispatchAll();
    int64_t mono = d_.clock->MonotonicMicros();
    if (mono - last_auth_tick_mono_ >= 100'000) {
      last_auth_tick_mono_ = mono;
      TickAuth();
    }
    if (mono - last_sweep_mono_ >= 1'000'000) {
      last_sweep_mono_ = mono;
      Sweep();
    }
    if (mono - last_gauge_mono_ >= 250'000) {
      last_gauge_mono_ = mono;
      UpdateGauges();
    }
  }
  // Shutdown: in-flight attempts complete on the HTTP client's thread and post here; the client
  // is destroyed after us by the owner, which runs their callbacks. Drain what is already posted.
  std::vector<std::function<void()>> rest;
  {
    std::lock_guard<std::mutex> lock(inbox_mu_);
    rest.swap(inbox_);
  }
  for (auto& fn : rest) fn();
}

void EngineImpl::Sweep() {
  int64_t now_ms = d_.clock->NowMillis();
  // Parked deliveries past their event age are dead-lettered (NO_PERMISSIONS); with
  // bridgeport:throttle-expiry=age, so are deliveries still waiting for the rate limiter
  // (THROTTLING). Otherwise throttled deliveries wait as long as it takes.
  for (auto& [key, lane] : lanes_) {
    if (lane->ready.empty() || !MayStart(*lane)) continue;
    bool throttle_expiry = false;
    if (!lane->parked && lane->kind == LaneKind::kApi) {
      if (auto dest = d_.registry->FindDestination(lane->resource)) {
        auto it = dest->tags.find("bridgeport:throttle-expiry");
        throttle_expiry = it != dest->tags.end() && it->second == "age";
      }
    }
    if (lane->parked || throttle_expiry) ExpireWaiting(key, *lane, now_ms);
  }
  // Attempt records older than the retention are deleted once every 10 minutes.
  int64_t mono = d_.clock->MonotonicMicros();
  if (mono - last_retention_mono_ >= 600'000'000) {
    last_retention_mono_ = mono;
    DeleteOldAttempts(d_.clock->NowMicros() - d_.attempt_retention_seconds * 1'000'000);
  }
}

// Dead-letters the ready tasks of a parked or throttle-expiring lane whose event is older than
// the target's maximum event age.
void EngineImpl::ExpireWaiting(const std::string& key, Lane& lane, int64_t now_ms) {
  std::deque<TaskRef> keep;
  std::vector<TaskRef> expired;
  for (const TaskRef& ref : lane.ready) {
    if (ref.ingestion_ms + int64_t{ref.max_age_s} * 1000 < now_ms) {
      expired.push_back(ref);
    } else {
      keep.push_back(ref);
    }
  }
  if (expired.empty()) return;
  lane.ready.swap(keep);
  for (const TaskRef& ref : expired) {
    auto data = d_.store->Get(store::Family::kTasks, TaskKey(ref.seq));
    if (!data.ok() || !data->has_value()) continue;
    auto task = DecodeTask(**data);
    if (!task) continue;
    Attempt a;
    a.task = std::move(*task);
    a.lane = key;
    a.ref = ref;
    a.target = d_.registry->FindTarget(a.task.bus, a.task.rule, a.task.target_id);
    if (!a.target) {
      Cancel(a.task, "target removed");
      continue;
    }
    if (lane.parked) {
      FailPermanent(a, DeliveryErrorCode::kNoPermissions,
                    "The destination was inactive (connection not authorized) until the event "
                    "exceeded its MaximumEventAgeInSeconds.",
                    ExhaustedRetryCondition::kMaximumEventAgeInSeconds, store::WriteBatch());
    } else {
      FailPermanent(a, DeliveryErrorCode::kThrottling,
                    "The event waited for the destination's rate limit beyond its "
                    "MaximumEventAgeInSeconds (bridgeport:throttle-expiry=age).",
                    ExhaustedRetryCondition::kMaximumEventAgeInSeconds, store::WriteBatch());
    }
  }
}

// Deletes the attempt records that started before `cutoff_us`, in every lane that has records
// (also lanes idle since their last start): walks the lanes by seeking past each one's keys.
void EngineImpl::DeleteOldAttempts(int64_t cutoff_us) {
  store::WriteBatch b;
  std::string seek = "a";
  for (;;) {
    std::string lane;
    Status s = d_.store->Scan(store::Family::kAttempts, seek, store::PrefixEnd("a"),
                              [&](std::string_view k, std::string_view) {
                                size_t nul = k.find('\0');
                                if (nul != std::string_view::npos) {
                                  lane = std::string(k.substr(1, nul - 1));
                                }
                                return false;
                              });
    if (!s.ok() || lane.empty()) break;
    std::string begin = "a" + lane + '\x00';
    std::string end = begin;
    store::AppendBigEndian64(end, static_cast<uint64_t>(std::max<int64_t>(0, cutoff_us)));
    b.DeleteRange(store::Family::kAttempts, begin, end);
    seek = "a" + lane + '\x01';
  }
  if (!b.empty()) d_.store->WriteAsync(std::move(b), [](Status) {});
}

void EngineImpl::UpdateGauges() {
  int64_t pending = 0;
  for (auto& [key, lane] : lanes_) {
    pending += static_cast<int64_t>(lane->ready.size() + lane->scheduled) + lane->inflight;
  }
  pending_counted_.store(pending, std::memory_order_relaxed);
  pending_enqueued_.store(0, std::memory_order_relaxed);
  for (auto& [key, lane] : lanes_) {
    if (lane->kind != LaneKind::kApi) continue;
    const std::string& name = lane->resource;
    auto& m = *d_.metrics;
    size_t ready = lane->ready.size();
    m.GetGauge("bridgeport_destination_backlog", "Pending deliveries per destination",
               {{"destination", name}, {"state", "ready"}})
        .Set(static_cast<double>(lane->parked ? 0 : ready));
    m.GetGauge("bridgeport_destination_backlog", "Pending deliveries per destination",
               {{"destination", name}, {"state", "scheduled"}})
        .Set(static_cast<double>(lane->scheduled));
    m.GetGauge("bridgeport_destination_backlog", "Pending deliveries per destination",
               {{"destination", name}, {"state", "parked"}})
        .Set(static_cast<double>(lane->parked ? ready : 0));
    m.GetGauge("bridgeport_destination_inflight", "Attempts in flight per destination",
               {{"destination", name}})
        .Set(lane->inflight);
    m.GetGauge("bridgeport_rate_limit_per_second", "Configured rate limit per destination",
               {{"destination", name}})
        .Set(lane->limiter->rate());
    m.GetGauge("bridgeport_rate_limiter_tokens", "Attempt starts left in the current 1 s window",
               {{"destination", name}})
        .Set(lane->limiter->Available(d_.clock->MonotonicMicros()));
  }
}

std::vector<int> EngineImpl::RecentStarts(const std::string& destination, int64_t now_s,
                                          int seconds) {
  std::shared_ptr<StartHistory> history;
  {
    std::lock_guard<std::mutex> lock(histories_mu_);
    if (auto it = histories_.find(destination); it != histories_.end()) history = it->second;
  }
  if (!history) return DeliveryEngine::RecentStarts(destination, now_s, seconds);
  return history->Last(now_s, seconds);
}

StatusOr<std::unique_ptr<DeliveryEngine>> DeliveryEngine::Start(EngineDeps deps) {
  auto engine = std::make_unique<EngineImpl>(std::move(deps));
  BP_RETURN_IF_ERROR(engine->Recover());
  engine->StartThread();
  return std::unique_ptr<DeliveryEngine>(std::move(engine));
}

}  // namespace bp::delivery
