#include "replay/replay_service.h"

#include <boost/json.hpp>
#include <cmath>
#include <optional>

#include "common/ids.h"
#include "common/log.h"
#include "model/validation.h"
#include "registry/registry_internal.h"

namespace bp::replay {

namespace json = boost::json;
using model::Input;
using model::Validator;

namespace {

constexpr std::string_view kMetaPrefix = "replay/";
constexpr int64_t kSliceMs = 60'000;
constexpr std::string_view kArnPattern =
    "^arn:aws([a-z]|\\-)*:events:([a-z]|\\d|\\-)*:([0-9]{12})?:.+\\/.+$";

bool Active(std::string_view state) {
  return state == "STARTING" || state == "RUNNING" || state == "CANCELLING";
}

// A timestamp member: epoch seconds (number) or ISO-8601 text. Returns epoch milliseconds.
StatusOr<std::optional<int64_t>> Timestamp(const json::object& in, std::string_view key) {
  auto* v = in.if_contains(key);
  if (!v || v->is_null()) return std::optional<int64_t>();
  if (v->is_int64()) return std::optional<int64_t>(v->as_int64() * 1000);
  if (v->is_uint64()) return std::optional<int64_t>(static_cast<int64_t>(v->as_uint64()) * 1000);
  if (v->is_double() && std::isfinite(v->as_double()) && std::fabs(v->as_double()) < 1e13) {
    return std::optional<int64_t>(static_cast<int64_t>(std::llround(v->as_double() * 1000)));
  }
  if (v->is_string()) {
    if (auto t = ParseIso8601(v->as_string())) return std::optional<int64_t>(*t * 1000);
  }
  return Status::Serialization("Member '" + std::string(key) + "' must be a timestamp.");
}

double Seconds(int64_t ms) { return static_cast<double>(ms) / 1000.0; }

std::string WithReplayName(std::string_view event, std::string_view replay) {
  std::string out(event.substr(0, event.rfind('}')));
  out += ",\"replay-name\":\"";
  out += replay;  // a resource name: no characters to escape
  out += "\"}";
  return out;
}

}  // namespace

struct ReplayService::Replay {
  json::object data;  // DescribeReplay fields
  uint64_t archive_id = 0;
  std::string bus;
  int64_t start_ms = 0, end_ms = 0;
  std::string cursor;  // the last replayed archive key; empty: none yet
  std::vector<std::string> filter_arns;
  int64_t not_before_us = 0;  // pacing (in memory)
  std::string State() const { return registry::JsonString(data, "State"); }
};

ReplayService::ReplayService(ReplayDeps deps, ReplayOptions options)
    : deps_(std::move(deps)), options_(std::move(options)) {}

ReplayService::~ReplayService() { Stop(); }

Status ReplayService::Persist(const Replay& r, store::WriteBatch& batch) {
  json::object stored = r.data;
  stored["ArchiveId"] = static_cast<int64_t>(r.archive_id);
  stored["Bus"] = r.bus;
  stored["StartMs"] = r.start_ms;
  stored["EndMs"] = r.end_ms;
  stored["Cursor"] = HexEncode(r.cursor);
  batch.Put(store::Family::kMeta,
            std::string(kMetaPrefix) + registry::JsonString(r.data, "ReplayName"),
            json::serialize(stored));
  return deps_.store->Write(std::move(batch));
}

Status ReplayService::Load() {
  std::lock_guard<std::mutex> lock(mu_);
  return deps_.store->Scan(
      store::Family::kMeta, kMetaPrefix, store::PrefixEnd(kMetaPrefix),
      [&](std::string_view, std::string_view v) {
        json::error_code ec;
        json::value parsed = json::parse(v, ec);
        if (ec || !parsed.is_object()) return true;
        auto r = std::make_unique<Replay>();
        r->data = std::move(parsed.as_object());
        auto num = [&](const char* k) {
          auto* x = r->data.if_contains(k);
          int64_t n = x && x->is_int64() ? x->as_int64() : 0;
          r->data.erase(k);
          return n;
        };
        r->archive_id = static_cast<uint64_t>(num("ArchiveId"));
        r->start_ms = num("StartMs");
        r->end_ms = num("EndMs");
        r->bus = registry::JsonString(r->data, "Bus");
        r->data.erase("Bus");
        std::string hex = registry::JsonString(r->data, "Cursor");
        r->data.erase("Cursor");
        auto nibble = [](char c) {
          return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;  // HexEncode wrote [0-9a-f]
        };
        for (size_t i = 0; i + 1 < hex.size(); i += 2) {
          r->cursor.push_back(static_cast<char>(nibble(hex[i]) * 16 + nibble(hex[i + 1])));
        }
        if (auto* d = r->data.if_contains("Destination"); d && d->is_object()) {
          if (auto* f = d->as_object().if_contains("FilterArns"); f && f->is_array()) {
            for (const auto& a : f->as_array()) {
              if (a.is_string()) r->filter_arns.emplace_back(a.as_string());
            }
          }
        }
        replays_[registry::JsonString(r->data, "ReplayName")] = std::move(r);
        return true;
      });
}

Status ReplayService::Start() {
  BP_RETURN_IF_ERROR(Load());
  worker_ = std::thread([this] { Loop(); });
  return Status::Ok();
}

void ReplayService::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (worker_.joinable()) worker_.join();
}

int ReplayService::Running() const {
  int n = 0;
  for (const auto& [name, r] : replays_) n += Active(r->State()) ? 1 : 0;
  return n;
}

void ReplayService::Finish(Replay& r, std::string_view state, std::string reason) {
  r.data["State"] = state;
  if (!reason.empty()) r.data["StateReason"] = reason;
  r.data["ReplayEndTime"] = registry::NowSeconds(*deps_.clock);
  store::WriteBatch b;
  Status s = Persist(r, b);
  if (!s.ok()) log::Error("replay", "cannot store the replay state", {{"error", s.ToString()}});
  log::Info("replay", "replay finished",
            {{"replay", registry::JsonString(r.data, "ReplayName")}, {"state", state}});
}

void ReplayService::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    std::vector<std::string> ready;
    int64_t now_us = deps_.clock->MonotonicMicros();
    int64_t wake_us = now_us + 1'000'000;
    for (const auto& [name, r] : replays_) {
      if (!Active(r->State())) continue;
      if (r->not_before_us <= now_us || r->State() == "CANCELLING") {
        ready.push_back(name);
      } else {
        wake_us = std::min(wake_us, r->not_before_us);
      }
    }
    if (ready.empty()) {
      cv_.wait_for(lock, std::chrono::microseconds(wake_us - now_us));
      continue;
    }
    lock.unlock();
    for (const auto& name : ready) Step(name);  // one batch each: replays share the worker fairly
    lock.lock();
  }
}

ReplayService::Batch ReplayService::NextBatch(const Position& p) const {
  Batch b;
  // The slice is the 1-minute interval (counted from EventStartTime) of the next event.
  std::optional<int64_t> next_time;
  auto peek =
      deps_.archives->Scan(p.archive_id, p.start_ms, p.cursor, p.end_ms, 1,
                           [&](std::string_view, std::string_view, int64_t t) { next_time = t; });
  if (!peek.ok()) {
    b.error = peek.status();
    return b;
  }
  if (!next_time) {
    b.end_of_range = true;
    return b;
  }
  int64_t slice_end =
      std::min(p.end_ms, p.start_ms + ((*next_time - p.start_ms) / kSliceMs + 1) * kSliceMs);
  size_t max = options_.batch_events;
  if (options_.events_per_second > 0) {
    max = std::min<size_t>(max, static_cast<size_t>(options_.events_per_second));
  }
  auto scanned = deps_.archives->Scan(
      p.archive_id, p.start_ms, p.cursor, slice_end, max,
      [&](std::string_view key, std::string_view event, int64_t t) {
        if (!b.error.ok()) return;
        std::string id;
        if (size_t at = event.find("\"id\":\""); at != std::string_view::npos) {
          id = std::string(event.substr(at + 6, 36));
        }
        auto done = deps_.fanout(p.bus, id, WithReplayName(event, p.name), p.filters, b.writes);
        if (!done.ok()) {
          b.error = done.status();
          return;
        }
        if (*done) b.after.push_back(std::move(*done));
        b.last_key = std::string(key);
        b.last_time = t;
        ++b.events;
      });
  if (!scanned.ok()) b.error = scanned.status();
  return b;
}

bool ReplayService::Step(const std::string& name) {
  Position pos;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = replays_.find(name);
    if (it == replays_.end() || !Active(it->second->State())) return false;
    Replay& r = *it->second;
    if (r.State() == "CANCELLING") {
      Finish(r, "CANCELLED", "");
      return false;
    }
    if (!deps_.archives->Exists(r.archive_id)) {
      Finish(r, "FAILED",
             "Archive " + registry::JsonString(r.data, "EventSourceArn") + " does not exist.");
      return false;
    }
    if (deps_.bus_exists && !deps_.bus_exists(r.bus)) {
      Finish(r, "FAILED", "Event bus " + r.bus + " does not exist.");
      return false;
    }
    pos = {name, r.bus, r.archive_id, r.start_ms, r.end_ms, r.cursor, r.filter_arns};
  }
  Batch batch = NextBatch(pos);  // reads the archive without holding mu_
  std::lock_guard<std::mutex> lock(mu_);
  auto it = replays_.find(name);
  if (it == replays_.end()) return false;
  Replay& r = *it->second;
  if (!batch.error.ok()) {
    Finish(r, "FAILED", batch.error.message().substr(0, 512));
    return false;
  }
  if (batch.events > 0) {
    r.cursor = batch.last_key;
    r.data["EventLastReplayedTime"] = Seconds(batch.last_time);
  }
  if (r.State() == "STARTING") r.data["State"] = "RUNNING";
  if (batch.end_of_range) {
    r.data["State"] = "COMPLETED";
    r.data["ReplayEndTime"] = registry::NowSeconds(*deps_.clock);
  }
  // A CancelReplay that arrived meanwhile keeps its CANCELLING state; this batch still commits.
  Status s = Persist(r, batch.writes);
  if (!s.ok()) {
    Finish(r, "FAILED", "The replay state could not be stored: " + s.message());
    return false;
  }
  for (auto& f : batch.after) f();
  if (options_.events_per_second > 0 && batch.events > 0) {
    r.not_before_us = deps_.clock->MonotonicMicros() +
                      static_cast<int64_t>(batch.events) * 1'000'000 / options_.events_per_second;
  }
  if (batch.end_of_range) {
    log::Info("replay", "replay finished", {{"replay", name}, {"state", "COMPLETED"}});
  }
  return !batch.end_of_range;
}

// ---- operations ----

ReplayService::Json ReplayService::View(const Replay& r, bool full) const {
  static const char* kFull[] = {
      "ReplayName",      "ReplayArn",    "Description",    "State",        "StateReason",
      "EventSourceArn",  "Destination",  "EventStartTime", "EventEndTime", "EventLastReplayedTime",
      "ReplayStartTime", "ReplayEndTime"};
  static const char* kSummary[] = {
      "ReplayName",   "EventSourceArn",        "State",           "StateReason",  "EventStartTime",
      "EventEndTime", "EventLastReplayedTime", "ReplayStartTime", "ReplayEndTime"};
  json::object out;
  auto copy = [&](const char* k) {
    if (auto* v = r.data.if_contains(k)) out[k] = *v;
  };
  if (full) {
    for (const char* k : kFull) copy(k);
  } else {
    for (const char* k : kSummary) copy(k);
  }
  return out;
}

namespace {

// A StartReplay request, validated as AWS does (members and the time range).
struct StartRequest {
  std::string name, source, dest_arn;
  std::optional<std::string> description;
  int64_t start_ms = 0, end_ms = 0;
  const json::array* filters = nullptr;
};

StatusOr<StartRequest> ReadStartRequest(const json::object& in) {
  Input input(in);
  BP_ASSIGN_OR_RETURN(auto name, input.String("ReplayName"));
  BP_ASSIGN_OR_RETURN(auto description, input.String("Description"));
  BP_ASSIGN_OR_RETURN(auto source, input.String("EventSourceArn"));
  BP_ASSIGN_OR_RETURN(auto start, Timestamp(in, "EventStartTime"));
  BP_ASSIGN_OR_RETURN(auto end, Timestamp(in, "EventEndTime"));
  BP_ASSIGN_OR_RETURN(auto destination, input.Object("Destination"));
  std::optional<std::string> dest_arn;
  const json::array* filters = nullptr;
  if (destination) {
    Input d(*destination);
    BP_ASSIGN_OR_RETURN(dest_arn, d.String("Arn"));
    BP_ASSIGN_OR_RETURN(filters, d.Array("FilterArns"));
  }
  Validator v;
  v.NotNull("replayName", name.has_value());
  if (name) v.Name("replayName", *name, 64);
  if (description) v.Length("description", *description, 0, 512);
  v.NotNull("eventSourceArn", source.has_value());
  if (source) {
    v.Length("eventSourceArn", *source, 1, 1600);
    if (v.ok()) {
      v.Pattern("eventSourceArn", *source,
                model::ParseArn(*source).has_value() && source->find('/') != std::string::npos,
                kArnPattern);
    }
  }
  v.NotNull("eventStartTime", start.has_value());
  v.NotNull("eventEndTime", end.has_value());
  v.NotNull("destination", destination != nullptr);
  if (destination) {
    v.NotNull("destination.arn", dest_arn.has_value());
    if (dest_arn) v.Length("destination.arn", *dest_arn, 1, 1600);
  }
  if (filters) {
    for (size_t i = 0; i < filters->size(); ++i) {
      if (!(*filters)[i].is_string()) return Status::Serialization("FilterArns must be strings.");
      v.Length("destination.filterArns." + std::to_string(i + 1) + ".member",
               (*filters)[i].as_string(), 1, 1600);
    }
  }
  BP_RETURN_IF_ERROR(v.Finish());
  if (*start >= *end) {
    return Status::Validation(
        "Parameter EventStartTime is not valid. Reason: EventStartTime must be before "
        "EventEndTime.");
  }
  return StartRequest{*name, *source, *dest_arn, description, *start, *end, filters};
}

}  // namespace

StatusOr<json::object> ReplayService::StartReplay(const json::object& in) {
  BP_ASSIGN_OR_RETURN(StartRequest req, ReadStartRequest(in));
  auto archive = deps_.archives->FindByArn(req.source);
  if (!archive) return Status::NotFound("Archive " + req.source + " does not exist.");
  if (req.dest_arn != archive->bus_arn) {
    return Status::Validation(
        "Parameter Destination.Arn is not valid. Reason: Cross event bus replay is not "
        "permitted: the destination must be the archive's event bus " +
        archive->bus_arn + ".");
  }
  auto r = std::make_unique<Replay>();
  if (req.filters) {
    for (const auto& f : *req.filters) {
      std::string arn(f.as_string());
      if (deps_.rule_exists && !deps_.rule_exists(archive->bus, arn)) {
        return Status::NotFound("Rule " + arn + " does not exist on EventBus " + archive->bus +
                                ".");
      }
      r->filter_arns.push_back(arn);
    }
  }
  r->archive_id = archive->id;
  r->bus = archive->bus;
  r->start_ms = req.start_ms;
  r->end_ms = req.end_ms;
  r->data["ReplayName"] = req.name;
  r->data["ReplayArn"] = "arn:aws:events:" + options_.partition.region + ":" +
                         options_.partition.account + ":replay/" + req.name;
  if (req.description) r->data["Description"] = *req.description;
  r->data["State"] = "STARTING";
  r->data["EventSourceArn"] = archive->arn;
  json::object dest;
  dest["Arn"] = req.dest_arn;
  if (req.filters) dest["FilterArns"] = *req.filters;
  r->data["Destination"] = std::move(dest);
  r->data["EventStartTime"] = Seconds(req.start_ms);
  r->data["EventEndTime"] = Seconds(req.end_ms);
  r->data["ReplayStartTime"] = registry::NowSeconds(*deps_.clock);

  std::lock_guard<std::mutex> lock(mu_);
  if (replays_.count(req.name))
    return Status::AlreadyExists("Replay " + req.name + " already exists.");
  if (Running() >= options_.max_running) {
    return Status::LimitExceeded(
        "The requested resource exceeds the maximum number allowed: at "
        "most " +
        std::to_string(options_.max_running) + " replays can run at the same time.");
  }
  store::WriteBatch b;
  BP_RETURN_IF_ERROR(Persist(*r, b));
  json::object out;
  out["ReplayArn"] = r->data["ReplayArn"];
  out["State"] = "STARTING";
  out["ReplayStartTime"] = r->data["ReplayStartTime"];
  replays_[req.name] = std::move(r);
  cv_.notify_all();
  return out;
}

StatusOr<json::object> ReplayService::DescribeReplay(const json::object& in) {
  BP_ASSIGN_OR_RETURN(auto name, registry::RequiredName(in, "ReplayName", "replayName", 64));
  std::lock_guard<std::mutex> lock(mu_);
  auto it = replays_.find(*name);
  if (it == replays_.end()) return Status::NotFound("Replay " + *name + " does not exist.");
  return View(*it->second, true);
}

StatusOr<json::object> ReplayService::ListReplays(const json::object& in) {
  Input input(in);
  BP_ASSIGN_OR_RETURN(auto prefix, input.String("NamePrefix"));
  BP_ASSIGN_OR_RETURN(auto state, input.String("State"));
  BP_ASSIGN_OR_RETURN(auto source, input.String("EventSourceArn"));
  Validator v;
  if (prefix) v.Name("namePrefix", *prefix, 64);
  if (state) {
    v.Enum("state", *state,
           {"STARTING", "RUNNING", "CANCELLING", "COMPLETED", "CANCELLED", "FAILED"});
  }
  if (source) v.Length("eventSourceArn", *source, 1, 1600);
  BP_RETURN_IF_ERROR(v.Finish());
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> names;
  for (const auto& [name, r] : replays_) {
    if (prefix && name.compare(0, prefix->size(), *prefix) != 0) continue;
    if (state && r->State() != *state) continue;
    if (source && registry::JsonString(r->data, "EventSourceArn") != *source) continue;
    names.push_back(name);
  }
  BP_ASSIGN_OR_RETURN(registry::Page page, registry::Paginate(names, in));
  json::array list;
  for (size_t i = page.begin; i < page.end; ++i) list.push_back(View(*replays_[names[i]], false));
  return registry::ListReply("Replays", std::move(list), page);
}

StatusOr<json::object> ReplayService::CancelReplay(const json::object& in) {
  BP_ASSIGN_OR_RETURN(auto name, registry::RequiredName(in, "ReplayName", "replayName", 64));
  std::lock_guard<std::mutex> lock(mu_);
  auto it = replays_.find(*name);
  if (it == replays_.end()) return Status::NotFound("Replay " + *name + " does not exist.");
  Replay& r = *it->second;
  std::string state = r.State();
  if (state != "STARTING" && state != "RUNNING") {
    return Status(StatusCode::kIllegalStatus,
                  "Replay " + *name + " is " + state + " and cannot be cancelled.");
  }
  r.data["State"] = "CANCELLING";
  store::WriteBatch b;
  BP_RETURN_IF_ERROR(Persist(r, b));
  cv_.notify_all();
  json::object out;
  out["ReplayArn"] = r.data["ReplayArn"];
  out["State"] = "CANCELLING";
  return out;
}

}  // namespace bp::replay
