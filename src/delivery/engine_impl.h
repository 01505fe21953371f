// The DeliveryEngine implementation class (definitions split over engine*.cc).
#pragma once

#include "delivery/engine_internal.h"

namespace bp::delivery {

class EngineImpl final : public DeliveryEngine {
 public:
  explicit EngineImpl(EngineDeps deps);
  ~EngineImpl() override;

  Status Recover();
  void StartThread();

  uint64_t NextSeq() override;
  void Enqueue(std::vector<NewTask> tasks) override;
  void Stop() override;
  void ConnectionChanged(const std::string& name) override {
    Post([this, name] { OnConnectionChanged(name); });
  }
  void HandleAdmin(const http::Request& req, http::Responder respond) override;
  void SubmitPipeCall(PipeCall call, PipeCallDone done) override;
  int64_t PendingDeliveries() const override {
    return pending_counted_.load(std::memory_order_relaxed) +
           pending_enqueued_.load(std::memory_order_relaxed);
  }
  void AdoptLane(const std::string& lane, std::vector<NewTask> tasks) override;
  void DropLane(const std::string& lane) override;
  void Wake() override {
    Post([] {});
  }
  void HandleSettings(const std::string& destination, const std::string& body,
                      http::Responder respond);
  std::vector<int> RecentStarts(const std::string& destination, int64_t now_s,
                                int seconds) override;

  // Runs `fn` on the engine thread.
  void Post(std::function<void()> fn);

 private:
  friend class ConnectionAuth;

  // engine.cc: the loop and scheduling.
  void Run();
  Lane& GetLane(const std::string& key);
  void AddReady(const std::string& lane, const TaskRef& ref, bool front = false);
  void Schedule(const std::string& lane, const TaskRef& ref, int64_t due_ms);
  void PromoteTimers(int64_t now_ms);
  void DispatchAll();
  bool PrepareApiLane(Lane& lane, int* max_inflight);
  bool LoadFrontRecord(Lane& lane);
  bool AdmitStart(Lane& lane);
  void Dispatch(Lane& lane);
  // Circuit breaker and adaptive rate of an API destination lane, from its tags.
  void ApplyGuards(Lane& lane, const registry::DestinationView& dest);
  bool LaneUsable(Lane& lane);
  void ExpireWaiting(const std::string& key, Lane& lane, int64_t now_ms);
  void DeleteOldAttempts(int64_t cutoff_us);
  void Sweep();
  void UpdateGauges();
  int64_t NextWakeMicros(int64_t now_mono);

  // engine_attempts.cc: one attempt and its outcome.
  void StartAttempt(Lane& lane, const TaskRef& ref);
  void StartApiAttempt(Lane& lane, std::shared_ptr<Attempt> attempt);
  bool AuthorizeAttempt(Lane& lane, const std::shared_ptr<Attempt>& attempt,
                        std::optional<transform::AuthHeader>* auth_header);
  void SendApiRequest(Lane& lane, std::shared_ptr<Attempt> attempt,
                      transform::HttpRequestSpec spec);
  void StartQueueAttempt(Lane& lane, std::shared_ptr<Attempt> attempt, const std::string& payload);
  void StartBusAttempt(Lane& lane, std::shared_ptr<Attempt> attempt);
  // The target's payload for this event, or nullopt after failing the delivery (INVALID_JSON, ...).
  std::optional<std::string> BuildPayload(Attempt& attempt);
  void OnHttpDone(std::shared_ptr<Attempt> attempt, HttpResult result);
  void ObserveResult(Lane& lane, const Attempt& a, const HttpResult& result, const Outcome& outcome,
                     int64_t now_ms);
  bool ResendAfterAuthFailure(Attempt& a, HttpResult& result, const Outcome& outcome,
                              const std::string& code, int64_t now_ms);
  void RetryOrFail(Attempt& a, HttpResult& result, const Outcome& outcome, const std::string& code,
                   int64_t now_ms);
  void Succeed(Attempt& attempt, store::WriteBatch batch);
  void FailPermanent(Attempt& attempt, DeliveryErrorCode code, std::string message,
                     ExhaustedRetryCondition exhausted, store::WriteBatch batch);
  void Cancel(const TaskRecord& task, std::string_view why);
  void RecordAttempt(Attempt& attempt, const HttpResult* result, std::string_view outcome,
                     std::string_view error_code, const std::string& error_message,
                     int64_t next_due_ms, store::WriteBatch& batch);
  RetryPolicy PolicyFor(const registry::TargetRoute& target, const registry::DeliverySettings& s);
  std::shared_ptr<const transform::PayloadBuilder> PayloadFor(
      const std::shared_ptr<const registry::TargetRoute>& target, Status* error);
  void SetConnectionState(const std::string& connection, registry::ConnectionState state,
                          std::string reason);

  // engine_pipes.cc: pipe calls on API destination lanes.
  // True when the next start of the lane goes to a pipe call (alternating while both wait).
  bool TakePipeTurn(Lane& lane);
  void StartPipeCall(Lane& lane, std::shared_ptr<PendingPipeCall> call);
  // The connection's auth header for a pipe call; false when the call was requeued (token
  // pending) or finished (token endpoint failure).
  bool PipeAuthHeader(Lane& lane, std::shared_ptr<PendingPipeCall>& call,
                      const registry::ConnectionView& conn,
                      const registry::DeliverySettings& settings,
                      std::optional<transform::AuthHeader>* out);
  void OnPipeCallDone(const std::string& lane_key, std::shared_ptr<PendingPipeCall> call,
                      HttpResult result);
  void FinishPipeCall(PendingPipeCall& call, PipeCallResult result);
  // A parked lane (connection not authorized) fails its pipe calls at once (retryable): the
  // pipe's messages go back to their queue instead of holding a batch.
  void FailParkedPipeCalls(Lane& lane);
  void RecordPipeAttempt(const std::string& lane_key, PendingPipeCall& call, const HttpResult* r,
                         const PipeCallResult& result);

  // engine_auth.cc: OAuth token caches.
  ConnectionAuth* AuthFor(const registry::ConnectionView& conn,
                          const registry::DeliverySettings& s);
  void OnConnectionChanged(const std::string& name);
  void TickAuth();

  // engine_cluster.cc: lane hand-over.
  bool MayStart(const Lane& lane) const { return !d_.may_start || d_.may_start(lane.key); }
  // True if `seq` was just adopted into `lane` by AdoptLane (a second hand-over of the same
  // task must not create a second pending entry).
  bool RecentlyAdopted(const std::string& lane, uint64_t seq);

  // Metrics helpers. Count() looks a series up (mutex + map); hot paths use the cached pointers.
  metrics::Counter& Count(const std::string& name, const std::string& help,
                          const metrics::Labels& l);
  metrics::Counter& Invocations(std::string_view outcome);
  metrics::Counter& Attempts(Lane& lane, const std::string& result_class);

  EngineDeps d_;
  std::mt19937_64 rng_{std::random_device{}()};

  std::mutex inbox_mu_;
  std::condition_variable inbox_cv_;
  std::vector<std::function<void()>> inbox_;  // GUARDED_BY(inbox_mu_)
  bool stopping_ = false;                     // GUARDED_BY(inbox_mu_)
  std::thread thread_;
  tasks::SeqAllocator seq_;  // seeded by Recover
  std::atomic<bool> stopped_{false};
  std::atomic<int64_t> pending_counted_{0};   // lane totals at the last UpdateGauges
  std::atomic<int64_t> pending_enqueued_{0};  // tasks enqueued since then

  // Engine-thread state.
  std::map<std::string, std::unique_ptr<Lane>> lanes_;
  std::set<Lane*> active_;  // lanes with ready work
  std::priority_queue<Timer, std::vector<Timer>, std::greater<Timer>> timers_;
  std::map<std::string, std::unique_ptr<ConnectionAuth>> auth_;
  std::unordered_map<const registry::TargetRoute*,
                     std::pair<std::shared_ptr<const registry::TargetRoute>,
                               std::shared_ptr<const transform::PayloadBuilder>>>
      payloads_;
  int total_inflight_ = 0;
  int64_t last_sweep_mono_ = 0;
  int64_t last_gauge_mono_ = 0;
  int64_t last_auth_tick_mono_ = 0;
  int64_t last_retention_mono_ = 0;
  // No attempt starts before this time: the limiter's window from before a restart is unknown,
  // so waiting one full window keeps the rate promise across restarts.
  int64_t dispatch_after_mono_ = 0;

  // Start histories of API lanes, shared with readers on other threads.
  std::mutex histories_mu_;
  std::map<std::string, std::shared_ptr<StartHistory>> histories_;  // GUARDED_BY(histories_mu_)

  // Hot metrics.
  std::map<std::string, metrics::Counter*, std::less<>> invocations_;
  // Cluster hand-over: per lane, the sequence numbers of the last AdoptLane and when.
  struct Adopted {
    std::unordered_set<uint64_t> seqs;
    int64_t at_mono = 0;
  };
  std::map<std::string, Adopted> adopted_;
};

}  // namespace bp::delivery
