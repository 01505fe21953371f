// One batch of a pipe: filter, enrichment, target, and what happens to the source messages.
#include <boost/json.hpp>

#include "common/ids.h"
#include "pipes/pipe_runner.h"
#include "pipes/pipe_template.h"
#include "pipes/sqs_record.h"
#include "transform/json_path.h"
#include "transform/json_text.h"
#include "transform/transform.h"

namespace bp::pipes {

namespace {

std::string Quoted(std::string_view s) {
  std::string out;
  transform::AppendQuoted(out, s);
  return out;
}

std::string JoinBatch(const std::vector<std::string>& items) {
  if (items.size() == 1) return items[0];
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += ',';
    out += items[i];
  }
  return out + "]";
}

// The enrichment's response as the records passed on: a JSON array is one record per element,
// any other JSON value one record, an empty body none, other text one JSON string.
std::vector<std::string> SplitEnrichmentResponse(const std::string& body) {
  std::vector<std::string> out;
  size_t p = transform::SkipWs(body, 0);
  if (p == body.size()) return out;
  std::string_view v = std::string_view(body).substr(p);
  if (!transform::IsValidJson(v)) {
    out.push_back(Quoted(body));
    return out;
  }
  if (transform::KindOf(v) == transform::JsonKind::kArray) {
    transform::ForEachElement(v, [&](std::string_view e) {
      std::string compact;
      transform::AppendMinified(compact, e);
      out.push_back(std::move(compact));
      return true;
    });
    return out;
  }
  std::string compact;
  transform::AppendMinified(compact, v);
  out.push_back(std::move(compact));
  return out;
}

std::optional<std::string> FindPath(const std::string& path, const std::string& doc) {
  auto parsed = transform::JsonPath::Parse(path);
  if (!parsed.ok()) return std::nullopt;
  auto found = parsed->Find(doc);
  if (!found) return std::nullopt;
  std::string out;
  transform::AppendMinified(out, *found);
  return out;
}

}  // namespace

// Placeholder values for one record: `view` is what paths read, `event` the payload as passed.
static PlaceholderResolver ResolverFor(const PipePlan& plan, const std::string& view,
                                       const std::string& event, const std::string& ingestion) {
  return [&plan, &view, &event, &ingestion](const std::string& name) -> std::optional<std::string> {
    if (name.starts_with("$")) return FindPath(name, view);
    if (name == "aws.pipes.pipe-arn") return Quoted(plan.arn);
    if (name == "aws.pipes.pipe-name") return Quoted(plan.name);
    if (name == "aws.pipes.source-arn") return Quoted(plan.source_arn);
    if (name == "aws.pipes.enrichment-arn") return Quoted(plan.enrichment_arn);
    if (name == "aws.pipes.target-arn") return Quoted(plan.target_arn);
    if (name == "aws.pipes.event.ingestion-time") return Quoted(ingestion);
    if (name == "aws.pipes.event") return Quoted(event);
    if (name == "aws.pipes.event.json") return view;
    return std::nullopt;
  };
}

static StatusOr<std::vector<std::string>> Transform(const PipePlan& plan,
                                                    const std::optional<std::string>& tpl,
                                                    const std::vector<std::string>& views,
                                                    const std::vector<std::string>& events,
                                                    const std::string& ingestion) {
  if (!tpl) return events;
  std::vector<std::string> out;
  for (size_t i = 0; i < views.size(); ++i) {
    BP_ASSIGN_OR_RETURN(
        std::string s,
        RenderInputTemplate(*tpl, ResolverFor(plan, views[i], events[i], ingestion)));
    out.push_back(std::move(s));
  }
  return out;
}

std::vector<SqsRecord> PipeRunner::FilterBatch(const std::vector<queue::ReceivedMessage>& batch) {
  std::vector<SqsRecord> kept;
  std::vector<std::string> dropped;
  for (const auto& m : batch) {
    SqsRecord r = MakeSqsRecord(m, plan_.source_arn, d_.partition.region);
    bool match = true;
    if (plan_.filter) {
      std::vector<uint32_t> ids;
      plan_.filter->Match(r.view_json, &ids);
      match = !ids.empty();
    }
    Log(kLevelTrace, match ? "record matched the filter" : "record filtered out",
        {{"pipe", plan_.name}, {"message_id", r.message_id}});
    if (match) {
      kept.push_back(std::move(r));
    } else {
      dropped.push_back(r.receipt_handle);
    }
  }
  if (!dropped.empty()) {
    DeleteMessages(dropped);
    counters_->filtered->Inc(dropped.size());
  }
  return kept;
}

PipeRunner::Failure PipeRunner::FailureOf(const Status& s) {
  auto de = transform::ParseDeliveryError(s);
  return {de ? de->code : DeliveryErrorCode::kInternal, de ? de->message : s.message()};
}

void PipeRunner::FailBatch(const Work& w, const Failure& f) {
  if (abandon_.load()) {
    ReleaseMessages(w.handles);
    Log(kLevelError, "batch abandoned at shutdown; its messages are visible again",
        {{"pipe", plan_.name}, {"records", static_cast<int64_t>(w.handles.size())}});
    return;
  }
  d_.metrics
      ->GetCounter(
          "bridgeport_pipe_records_failed_total",
          "Records of failed batches (left for their queue's redrive)",
          {{"pipe", plan_.name}, {"error_code", std::string(DeliveryErrorCodeName(f.code))}})
      .Inc(w.handles.size());
  Batches("failed").Inc();
  Log(kLevelError, "batch failed; its messages return to the source queue",
      {{"pipe", plan_.name},
       {"records", static_cast<int64_t>(w.handles.size())},
       {"message_id", w.first_id},
       {"error_code", std::string(DeliveryErrorCodeName(f.code))},
       {"error", f.message}});
}

std::optional<PipeRunner::Failure> PipeRunner::Enrich(Work& w) {
  auto inputs = Transform(plan_, plan_.enrichment_template, w.views, w.events, w.ingestion);
  if (!inputs.ok()) return FailureOf(inputs.status());
  auto r = Call({plan_.name, "enrichment", plan_.enrichment_destination, JoinBatch(*inputs),
                 plan_.enrichment_http_json, w.views[0], w.first_id, true});
  if (r.kind != delivery::PipeCallResult::Kind::kSuccess) {
    return Failure{r.error_code, r.error_message};
  }
  counters_->enriched->Inc(w.handles.size());
  w.events = SplitEnrichmentResponse(r.body);
  w.views = w.events;
  return std::nullopt;
}

std::optional<PipeRunner::Failure> PipeRunner::Deliver(const Work& w) {
  auto inputs = Transform(plan_, plan_.target_template, w.views, w.events, w.ingestion);
  if (!inputs.ok()) return FailureOf(inputs.status());
  switch (plan_.target_kind) {
    case TargetKind::kApiDestination: {
      auto r = Call({plan_.name, "target", plan_.target_resource, JoinBatch(*inputs),
                     plan_.target_http_json, w.views[0], w.first_id, false});
      if (r.kind != delivery::PipeCallResult::Kind::kSuccess) {
        return Failure{r.error_code, r.error_message};
      }
      return std::nullopt;
    }
    case TargetKind::kEventBus: {
      Status s = DeliverToBus(*inputs, w.views);
      if (!s.ok()) return FailureOf(s);
      return std::nullopt;
    }
    case TargetKind::kQueue: {
      Status s = DeliverToQueue(*inputs);
      if (!s.ok()) return FailureOf(s);
      return std::nullopt;
    }
  }
  return std::nullopt;
}

void PipeRunner::Process(std::vector<queue::ReceivedMessage> batch) {
  counters_->received->Inc(batch.size());
  counters_->batch_size->Observe(static_cast<double>(batch.size()));
  std::vector<SqsRecord> kept = FilterBatch(batch);
  if (kept.empty()) {
    Batches("filtered").Inc();
    return;
  }
  Work w;
  w.first_id = kept[0].message_id;
  w.ingestion = FormatIso8601(d_.clock->NowMicros() / 1'000'000);
  for (auto& r : kept) {
    w.handles.push_back(std::move(r.receipt_handle));
    w.events.push_back(std::move(r.event_json));
    w.views.push_back(std::move(r.view_json));
  }
  if (!plan_.enrichment_destination.empty()) {
    if (auto f = Enrich(w)) return FailBatch(w, *f);
    if (w.events.empty()) {
      Log(kLevelInfo, "enrichment returned no records; nothing sent to the target",
          {{"pipe", plan_.name}, {"records", static_cast<int64_t>(w.handles.size())}});
      DeleteMessages(w.handles);
      Batches("success").Inc();
      return;
    }
  }
  if (auto f = Deliver(w)) return FailBatch(w, *f);
  DeleteMessages(w.handles);
  counters_->delivered->Inc(w.handles.size());
  Batches("success").Inc();
  Log(kLevelInfo, "batch delivered",
      {{"pipe", plan_.name},
       {"records", static_cast<int64_t>(w.handles.size())},
       {"message_id", w.first_id}});
}

metrics::Counter& PipeRunner::Batches(std::string_view outcome) {
  return d_.metrics->GetCounter("bridgeport_pipe_batches_total", "Batches a pipe finished",
                                {{"pipe", plan_.name}, {"outcome", std::string(outcome)}});
}

Status PipeRunner::DeliverToBus(const std::vector<std::string>& inputs,
                                const std::vector<std::string>& views) {
  store::WriteBatch wb;
  std::vector<tasks::NewTask> tasks;
  int64_t now_ms = d_.clock->NowMillis();
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (transform::KindOf(std::string_view(inputs[i]).substr(transform::SkipWs(inputs[i], 0))) !=
        transform::JsonKind::kObject) {
      return transform::MakeDeliveryError(
          DeliveryErrorCode::kInvalidParameter,
          "An event bus target needs a JSON object as the event detail.");
    }
    std::string time = FormatIso8601(now_ms / 1000);
    if (!plan_.bus_time_path.empty()) {
      if (auto v = FindPath(plan_.bus_time_path, views[i])) {
        auto decoded = transform::DecodeString(*v);
        if (auto t = decoded ? ParseIso8601(*decoded) : std::nullopt) time = FormatIso8601(*t);
      }
    }
    std::string resources = "[";
    for (const auto& r : plan_.bus_resources) {
      std::optional<std::string> v = r.starts_with("$") ? FindPath(r, views[i]) : Quoted(r);
      if (!v || transform::KindOf(*v) != transform::JsonKind::kString) continue;
      if (resources.size() > 1) resources += ',';
      resources += *v;
    }
    resources += "]";
    std::string detail;
    transform::AppendMinified(detail, inputs[i]);
    std::string env =
        "{\"version\":\"0\",\"id\":" + Quoted(NewUuid()) + ",\"detail-type\":" +
        Quoted(plan_.bus_detail_type.empty() ? "Event from aws:sqs" : plan_.bus_detail_type) +
        ",\"source\":" +
        Quoted(plan_.bus_source.empty() ? "Pipe " + plan_.name : plan_.bus_source) +
        ",\"account\":" + Quoted(d_.partition.account) + ",\"time\":" + Quoted(time) +
        ",\"region\":" + Quoted(d_.partition.region) + ",\"resources\":" + resources +
        ",\"detail\":" + detail + "}";
    BP_ASSIGN_OR_RETURN(auto more, d_.bus_fanout(plan_.target_resource, env, now_ms, 1, wb));
    for (auto& t : more) tasks.push_back(std::move(t));
  }
  if (!wb.empty()) BP_RETURN_IF_ERROR(d_.store->Write(std::move(wb)));
  if (!tasks.empty()) d_.engine->Enqueue(std::move(tasks));
  return Status::Ok();
}

Status PipeRunner::DeliverToQueue(const std::vector<std::string>& inputs) {
  for (size_t start = 0; start < inputs.size(); start += 10) {
    std::vector<queue::SendBatchEntry> entries;
    for (size_t i = start; i < std::min(inputs.size(), start + 10); ++i) {
      queue::SendBatchEntry e;
      e.id = std::to_string(i - start);
      e.request.body = inputs[i];
      entries.push_back(std::move(e));
    }
    BP_ASSIGN_OR_RETURN(auto r,
                        d_.queues->SendMessageBatch(plan_.target_resource, std::move(entries)));
    if (!r.failed.empty()) {
      return transform::MakeDeliveryError(
          DeliveryErrorCode::kInvalidParameter,
          "The target queue refused a message: " + r.failed[0].message);
    }
  }
  return Status::Ok();
}

void PipeRunner::ReleaseMessages(const std::vector<std::string>& handles) {
  for (size_t start = 0; start < handles.size(); start += 10) {
    std::vector<queue::ReceiptEntry> entries;
    for (size_t i = start; i < std::min(handles.size(), start + 10); ++i) {
      entries.push_back({std::to_string(i - start), handles[i], 0});
    }
    auto r = d_.queues->ChangeMessageVisibilityBatch(plan_.source_queue, std::move(entries));
    if (!r.ok()) {
      Log(kLevelError,
          "cannot release abandoned messages; they reappear after their visibility "
          "timeout",
          {{"pipe", plan_.name}, {"error", r.status().ToString()}});
    }
  }
}

void PipeRunner::DeleteMessages(const std::vector<std::string>& handles) {
  for (size_t start = 0; start < handles.size(); start += 10) {
    std::vector<queue::ReceiptEntry> entries;
    for (size_t i = start; i < std::min(handles.size(), start + 10); ++i) {
      entries.push_back({std::to_string(i - start), handles[i], 0});
    }
    auto r = d_.queues->DeleteMessageBatch(plan_.source_queue, std::move(entries));
    if (!r.ok() || !r->failed.empty()) {
      Log(kLevelError, "cannot delete processed messages; they may be processed again",
          {{"pipe", plan_.name}, {"error", r.ok() ? r->failed[0].message : r.status().ToString()}});
    }
  }
}

}  // namespace bp::pipes
