// One paced step of a redrive job: pick the next matching messages, create their tasks and
// delete them in one durable write, hand the tasks to the engine.
#include <algorithm>

#include "console/redrive.h"
#include "delivery/engine.h"
#include "registry/registry.h"
#include "store/store.h"

namespace bp::console {

namespace {

std::shared_ptr<const registry::TargetRoute> TargetOf(const registry::Registry& r,
                                                      const DeadLetterOrigin& o) {
  if (o.rule.empty() || o.target_arn.empty()) return nullptr;
  auto routes = r.Routes(o.bus);
  if (!routes) return nullptr;
  for (const auto& rule : routes->rules) {
    if (rule.name != o.rule) continue;
    for (const auto& t : rule.targets) {
      if (t->target_arn == o.target_arn) return t;  // the first target with that ARN
    }
  }
  return nullptr;
}

std::string EventIdOf(const std::string& body) {
  json::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec || !v.is_object()) return {};
  auto it = v.as_object().find("id");
  return it != v.as_object().end() && it->value().is_string() ? std::string(it->value().as_string())
                                                              : std::string();
}

// The messages of one step: up to `want` of `page` that pass the job's filter and still have
// their rule and target.
struct Picked {
  std::vector<uint64_t> seqs;
  std::map<uint64_t, std::shared_ptr<const registry::TargetRoute>> targets;
  bool finished = false;  // the job reached its end (the filter's last message, or the queue's)
};

// Walks `page` from the job's cursor; `next` gets the advanced cursor and the skip counts.
Picked PickMessages(const registry::Registry& registry, const RedriveJob& job,
                    const std::vector<queue::PeekedMessage>& page, size_t page_size, size_t want,
                    RedriveJob& next) {
  Picked picked;
  picked.finished = page.size() < page_size;  // unless we stop early below
  for (const auto& m : page) {
    if (m.seq > job.filter.max_seq) {
      picked.finished = true;
      break;
    }
    if (picked.seqs.size() >= want) {
      picked.finished = false;
      break;
    }
    next.cursor = m.seq;
    DeadLetterOrigin o = OriginOf(m);
    if (!job.filter.Matches(m, o)) continue;
    if (!m.visible) {
      ++next.skipped;
      next.last_error = "message " + m.message_id + " was in flight (received by a consumer)";
      continue;
    }
    auto target = TargetOf(registry, o);
    if (!target) {
      ++next.skipped;
      next.last_error = "message " + m.message_id + ": its rule or target no longer exists";
      continue;
    }
    picked.seqs.push_back(m.seq);
    picked.targets[m.seq] = std::move(target);
  }
  return picked;
}

}  // namespace

void Redriver::FailJob(RedriveJob& job, std::string error, int64_t now_ms) {
  RedriveJob next = job;
  next.state = "FAILED";
  next.last_error = std::move(error);
  next.updated_ms = now_ms;
  Persist(next).IgnoreError();
  job = std::move(next);
}

bool Redriver::Step(RedriveJob& job, int64_t now_us) {
  const int64_t interval = 1'000'000 / job.rate;
  // Up to 50 steps a second: at high rates a step takes several messages.
  const size_t want = static_cast<size_t>(std::max(1, job.rate / 50));
  constexpr size_t kPage = 1000;
  auto page = d_.queues->PeekMessages(job.queue, job.cursor, kPage);
  if (!page.ok()) {
    FailJob(job, "the queue " + job.queue + " no longer exists", d_.clock->NowMillis());
    return false;
  }
  RedriveJob next = job;
  Picked picked = PickMessages(*d_.registry, job, *page, kPage, want, next);
  if (picked.finished) next.state = "COMPLETED";
  int64_t now_ms = d_.clock->NowMillis();
  next.updated_ms = now_ms;
  std::vector<tasks::NewTask> tasks;
  bool written = false;
  size_t taken_count = 0;
  if (!picked.seqs.empty()) {
    auto taken = d_.queues->TakeMessages(
        job.queue, picked.seqs,
        [&](const std::vector<queue::PeekedMessage>& msgs, store::WriteBatch& b) {
          next.redriven += msgs.size();
          next.skipped += picked.seqs.size() - msgs.size();
          for (const auto& m : msgs) {
            const auto& t = picked.targets[m.seq];
            tasks::TaskRecord task;
            task.seq = d_.engine->NextSeq();
            task.bus = t->bus;
            task.rule = t->rule_name;
            task.target_id = t->target_id;
            task.event_id = EventIdOf(m.body);
            task.ingestion_ms = now_ms;  // a new delivery: fresh retries and event age
            task.event_json = m.body;
            auto record = std::make_shared<const std::string>(tasks::EncodeTask(task));
            b.Put(store::Family::kTasks, tasks::TaskKey(task.seq), *record);
            tasks.push_back({task.seq, tasks::LaneFor(*t), now_ms, 0,
                             static_cast<int32_t>(t->max_event_age_seconds), std::move(record)});
          }
          b.Put(store::Family::kMeta, "redrive/" + next.id, json::serialize(next.ToJson()));
          written = true;
        });
    if (!taken.ok()) {
      FailJob(job, "store write failed: " + std::string(taken.status().message()), now_ms);
      return false;
    }
    taken_count = taken->size();
    if (taken->empty()) next.skipped += picked.seqs.size();  // consumed elsewhere meanwhile
    if (!tasks.empty()) d_.engine->Enqueue(std::move(tasks));
  }
  if (!written && (picked.finished || next.skipped != job.skipped)) Persist(next).IgnoreError();
  // Pacing: a step starts only once the previous one's messages have had their interval each,
  // measured from when that step started, so task creations are never closer than 1/rate apart
  // (a late step delays the following ones instead of bunching them).
  next.next_us = now_us + static_cast<int64_t>(taken_count) * interval;
  job = std::move(next);
  return job.state == "RUNNING";
}

}  // namespace bp::console
