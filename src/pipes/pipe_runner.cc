#include "pipes/pipe_runner.h"

#include <boost/json.hpp>
#include <condition_variable>
#include <mutex>

#include "common/ids.h"
#include "pipes/pipe_template.h"
#include "pipes/sqs_record.h"
#include "transform/json_path.h"
#include "transform/transform.h"

namespace bp::pipes {

namespace {

// A pipe call waits at most this long for its outcome (limiter backlog plus the timeout).
constexpr int64_t kMaxCallWaitMicros = 15 * 60 * 1'000'000LL;

}  // namespace

PipeRunner::PipeRunner(const PipeDeps& deps, PipePlan plan)
    : d_(deps), plan_(std::move(plan)), counters_(std::make_unique<Counters>()) {
  metrics::Labels l{{"pipe", plan_.name}};
  auto& m = *d_.metrics;
  counters_->received = &m.GetCounter("bridgeport_pipe_records_received_total",
                                      "Records a pipe received from its source", l);
  counters_->filtered =
      &m.GetCounter("bridgeport_pipe_records_filtered_total",
                    "Records that matched no filter (deleted from the source)", l);
  counters_->enriched = &m.GetCounter("bridgeport_pipe_records_enriched_total",
                                      "Records sent through a pipe's enrichment", l);
  counters_->delivered = &m.GetCounter("bridgeport_pipe_records_delivered_total",
                                       "Records a pipe's target accepted", l);
  counters_->batch_size =
      &m.GetHistogram("bridgeport_pipe_batch_size", "Records per batch a pipe received", l,
                      {1, 2, 5, 10, 20, 50, 100, 500, 1000, 10000});
}

PipeRunner::~PipeRunner() {
  Abandon();
  Join();
}

void PipeRunner::Start() {
  thread_ = std::thread([this] { Run(); });
}

void PipeRunner::Join() {
  if (thread_.joinable()) thread_.join();
}

void PipeRunner::Log(int level, std::string_view msg, std::initializer_list<log::Field> fields) {
  // A pipe's LogConfiguration.Level decides which of its execution logs are written (at info, or
  // debug for TRACE lines). Without one, the server's log level does, and per-batch lines are
  // debug lines like the engine's per-attempt lines.
  const std::string& lvl = plan_.log_level;
  log::Level out = level == kLevelError                  ? log::Level::kError
                   : level == kLevelInfo && !lvl.empty() ? log::Level::kInfo
                                                         : log::Level::kDebug;
  bool write;
  if (lvl.empty()) {
    write = log::Enabled(out);
  } else {
    int threshold = lvl == "TRACE"   ? kLevelTrace
                    : lvl == "INFO"  ? kLevelInfo
                    : lvl == "ERROR" ? kLevelError
                                     : 99;
    write = level >= threshold;
  }
  if (write) log::Write(out, "pipes", msg, fields);
}

void PipeRunner::Pause(int64_t micros) {
  int64_t until = d_.clock->MonotonicMicros() + micros;
  while (!stop_.load() && d_.clock->MonotonicMicros() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

void PipeRunner::Run() {
  log::Info("pipes", "pipe runner started",
            {{"pipe", plan_.name}, {"source", plan_.source_arn}, {"target", plan_.target_arn}});
  while (!stop_.load()) {
    auto batch = Collect();
    if (batch.empty()) continue;
    Process(std::move(batch));
  }
  log::Info("pipes", "pipe runner stopped", {{"pipe", plan_.name}});
  finished_.store(true);
}

std::vector<queue::ReceivedMessage> PipeRunner::Collect() {
  std::vector<queue::ReceivedMessage> out;
  int visibility = 30;
  auto attrs = d_.queues->GetQueueAttributes(plan_.source_queue, {"VisibilityTimeout"});
  if (!attrs.ok()) {
    Log(kLevelError, "source queue unavailable",
        {{"pipe", plan_.name}, {"error", attrs.status().ToString()}});
    Pause(1'000'000);
    return out;
  }
  if (auto it = attrs->find("VisibilityTimeout"); it != attrs->end()) {
    visibility = std::atoi(it->second.c_str());
  }
  // Messages gathered early in a batching window must stay hidden through the window.
  visibility = std::min(43200, visibility + plan_.window_seconds);
  int64_t first_us = 0;
  while (!stop_.load() && static_cast<int>(out.size()) < plan_.batch_size) {
    int64_t now = d_.clock->MonotonicMicros();
    int wait = 1;
    if (!out.empty()) {
      if (plan_.window_seconds == 0) break;
      int64_t left = first_us + int64_t{plan_.window_seconds} * 1'000'000 - now;
      if (left <= 0) break;
      wait = static_cast<int>(std::min<int64_t>(1, (left + 999'999) / 1'000'000));
    }
    queue::ReceiveRequest req;
    req.queue = plan_.source_queue;
    req.max_messages = std::min(10, plan_.batch_size - static_cast<int>(out.size()));
    req.visibility_timeout = visibility;
    req.wait_seconds = wait;
    req.attribute_names = {"All"};
    req.message_attribute_names = {"All"};
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    StatusOr<std::vector<queue::ReceivedMessage>> got = Status::Internal("no answer");
    d_.queues->ReceiveMessage(req, [&](StatusOr<std::vector<queue::ReceivedMessage>> r) {
      std::lock_guard<std::mutex> lock(mu);
      got = std::move(r);
      done = true;
      cv.notify_all();
    });
    {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return done; });
    }
    if (!got.ok()) {
      Log(kLevelError, "receive from the source queue failed",
          {{"pipe", plan_.name}, {"error", got.status().ToString()}});
      Pause(1'000'000);
      break;
    }
    if (!got->empty() && out.empty()) first_us = d_.clock->MonotonicMicros();
    for (auto& m : *got) out.push_back(std::move(m));
  }
  return out;
}

delivery::PipeCallResult PipeRunner::Call(delivery::PipeCall call) {
  struct Shared {
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    delivery::PipeCallResult result;
  };
  auto shared = std::make_shared<Shared>();
  d_.engine->SubmitPipeCall(std::move(call), [shared](delivery::PipeCallResult r) {
    std::lock_guard<std::mutex> lock(shared->mu);
    shared->result = std::move(r);
    shared->done = true;
    shared->cv.notify_all();
  });
  int64_t deadline = d_.clock->MonotonicMicros() + kMaxCallWaitMicros;
  std::unique_lock<std::mutex> lock(shared->mu);
  while (!shared->done) {
    if (abandon_.load() || d_.clock->MonotonicMicros() > deadline) {
      delivery::PipeCallResult r;
      r.kind = delivery::PipeCallResult::Kind::kRetryable;
      r.error_code = DeliveryErrorCode::kInternal;
      r.error_message = abandon_.load() ? "The pipe stopped while the call was outstanding."
                                        : "The call did not finish in time.";
      return r;
    }
    shared->cv.wait_for(lock, std::chrono::milliseconds(200));
  }
  return shared->result;
}

}  // namespace bp::pipes
