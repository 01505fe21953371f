// PipeRunner: the data plane of one running pipe (SQS source → filter → enrichment → target).
//
// Threads: one thread per runner. It receives from the source queue (long polls of 1 s so that a
// stop is seen promptly), gathers a batch, filters, calls the enrichment and the target (API
// destination calls go through the delivery engine's limiter for that destination), and deletes
// the messages only after the target accepted them. A failed batch is left in flight: the
// messages become visible when their visibility timeout ends and the queue's RedrivePolicy
// decides their end (maxReceiveCount → dead-letter queue), as with AWS.
//
// Lifecycle: Start() launches the thread; RequestStop() asks it to finish its current batch;
// Join() waits for that. Abandon() (server shutdown, after a grace period) also stops waiting for
// an outstanding call: its batch is made visible again at once (at-least-once: the call may still
// have reached the endpoint).
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/log.h"
#include "delivery/engine.h"
#include "metrics/metrics.h"
#include "pipes/pipe_spec.h"
#include "pipes/sqs_record.h"
#include "queue/queue_service.h"
#include "store/store.h"

namespace bp::pipes {

struct PipeDeps {
  store::Store* store = nullptr;
  queue::QueueService* queues = nullptr;
  delivery::DeliveryEngine* engine = nullptr;
  metrics::Registry* metrics = nullptr;
  const Clock* clock = nullptr;
  model::Partition partition;
  ResourceResolver resolver;
  tasks::BusRoute bus_fanout;  // event bus targets: match and add tasks to a batch
};

class PipeRunner {
 public:
  PipeRunner(const PipeDeps& deps, PipePlan plan);
  ~PipeRunner();
  PipeRunner(const PipeRunner&) = delete;
  PipeRunner& operator=(const PipeRunner&) = delete;

  void Start();
  void RequestStop() { stop_.store(true); }
  void Abandon() {
    abandon_.store(true);
    stop_.store(true);
  }
  void Join();
  bool finished() const { return finished_.load(); }

 private:
  struct Counters {
    metrics::Counter* received;
    metrics::Counter* filtered;
    metrics::Counter* enriched;
    metrics::Counter* delivered;
    metrics::Histogram* batch_size;
  };
  // Execution log levels, in LogConfiguration.Level's order.
  static constexpr int kLevelTrace = 0, kLevelInfo = 1, kLevelError = 3;

  // One batch on its way: the kept records' receipt handles, payloads and path views.
  struct Work {
    std::vector<std::string> handles, events, views;
    std::string first_id;   // messageId of the first record (logs, attempt records)
    std::string ingestion;  // <aws.pipes.event.ingestion-time>
  };
  struct Failure {
    DeliveryErrorCode code = DeliveryErrorCode::kInternal;  // SPEC §9 ERROR_CODE
    std::string message;
  };

  void Run();
  std::vector<queue::ReceivedMessage> Collect();
  void Process(std::vector<queue::ReceivedMessage> batch);
  // Deletes (and counts) the records no filter matches; returns the others.
  std::vector<SqsRecord> FilterBatch(const std::vector<queue::ReceivedMessage>& batch);
  // Replaces w.events/w.views with the enrichment's records.
  std::optional<Failure> Enrich(Work& w);
  std::optional<Failure> Deliver(const Work& w);
  void FailBatch(const Work& w, const Failure& f);
  static Failure FailureOf(const Status& s);
  // Calls the engine and waits (bounded; Abandon stops the wait).
  delivery::PipeCallResult Call(delivery::PipeCall call);
  Status DeliverToBus(const std::vector<std::string>& inputs,
                      const std::vector<std::string>& views);
  Status DeliverToQueue(const std::vector<std::string>& inputs);
  void DeleteMessages(const std::vector<std::string>& receipt_handles);
  // An abandoned batch: visible again now rather than at the end of its visibility timeout.
  void ReleaseMessages(const std::vector<std::string>& receipt_handles);
  metrics::Counter& Batches(std::string_view outcome);
  // Writes one execution log line if the pipe's log level (or the server's) allows it.
  void Log(int level, std::string_view msg, std::initializer_list<log::Field> fields);
  void Pause(int64_t micros);  // sleeps, waking early on stop

  const PipeDeps& d_;
  const PipePlan plan_;
  std::unique_ptr<Counters> counters_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> abandon_{false};
  std::atomic<bool> finished_{false};  // Run() returned
  std::thread thread_;
};

}  // namespace bp::pipes
