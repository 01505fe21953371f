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

}  // namespace

bool Redriver::Step(RedriveJob& job, int64_t now_us) {
  const int64_t interval = 1'000'000 / job.rate;
  // Up to 50 steps a second: at high rates a step takes several messages.
  const size_t want = static_cast<size_t>(std::max(1, job.rate / 50));
  constexpr size_t kPage = 1000;
  RedriveJob next = job;
  auto page = d_.queues->PeekMessages(job.queue, job.cursor, kPage);
  if (!page.ok()) {
    next.state = "FAILED";
    next.last_error = "the queue " + job.queue + " no longer exists";
    next.updated_ms = d_.clock->NowMillis();
    Persist(next).IgnoreError();
    job = std::move(next);
    return false;
  }
  std::vector<uint64_t> picked;
  std::map<uint64_t, std::shared_ptr<const registry::TargetRoute>> targets;
  bool finished = page->size() < kPage;  // unless we stop early below
  for (const auto& m : *page) {
    if (m.seq > job.filter.max_seq) {
      finished = true;
      break;
    }
    if (picked.size() >= want) {
      finished = false;
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
    auto target = TargetOf(*d_.registry, o);
    if (!target) {
      ++next.skipped;
      next.last_error = "message " + m.message_id + ": its rule or target no longer exists";
      continue;
    }
    picked.push_back(m.seq);
    targets[m.seq] = std::move(target);
  }
  if (finished) next.state = "COMPLETED";
  int64_t now_ms = d_.clock->NowMillis();
  next.updated_ms = now_ms;
  std::vector<tasks::NewTask> tasks;
  bool written = false;
  size_t taken_count = 0;
  if (!picked.empty()) {
    auto taken = d_.queues->TakeMessages(
        job.queue, picked,
        [&](const std::vector<queue::PeekedMessage>& msgs, store::WriteBatch& b) {
          next.redriven += msgs.size();
          next.skipped += picked.size() - msgs.size();
          for (const auto& m : msgs) {
            const auto& t = targets[m.seq];
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
      next = job;
      next.state = "FAILED";
      next.last_error = "store write failed: " + std::string(taken.status().message());
      next.updated_ms = now_ms;
      Persist(next).IgnoreError();
      job = std::move(next);
      return false;
    }
    taken_count = taken->size();
    if (taken->empty()) next.skipped += picked.size();  // consumed elsewhere meanwhile
    if (!tasks.empty()) d_.engine->Enqueue(std::move(tasks));
  }
  if (!written && (finished || next.skipped != job.skipped)) Persist(next).IgnoreError();
  // Pacing: a step starts only once the previous one's messages have had their interval each,
  // measured from when that step started, so task creations are never closer than 1/rate apart
  // (a late step delays the following ones instead of bunching them).
  next.next_us = now_us + static_cast<int64_t>(taken_count) * interval;
  job = std::move(next);
  return job.state == "RUNNING";
}

}  // namespace bp::console
