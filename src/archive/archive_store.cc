#include "archive/archive_store.h"

#include <boost/json.hpp>

#include "common/log.h"
#include "model/validation.h"
#include "pattern/pattern.h"
#include "registry/registry_internal.h"

namespace bp::archive {

namespace json = boost::json;
using model::Input;
using model::Validator;

namespace {

constexpr std::string_view kMetaPrefix = "archive/";
constexpr std::string_view kNextIdKey = "archive-next-id";
constexpr size_t kSweepPage = 1000;
constexpr int64_t kDayMs = 86'400'000;
constexpr std::string_view kArnPattern =
    "^arn:aws([a-z]|\\-)*:events:([a-z]|\\d|\\-)*:([0-9]{12})?:.+\\/.+$";

uint64_t FlipSign(int64_t v) { return static_cast<uint64_t>(v) ^ (uint64_t{1} << 63); }

Status NotFound(const std::string& name) {
  return Status::NotFound("Archive " + name + " does not exist.");
}

bool LooksLikeArn(std::string_view s) {
  auto p = model::ParseArn(s);
  return p && p->service == "events" && s.find('/') != std::string_view::npos;
}

// The members CreateArchive and UpdateArchive share.
struct ArchiveSettings {
  std::optional<std::string> description, pattern, kms;
  std::optional<int64_t> retention;
  std::shared_ptr<const pattern::Pattern> compiled;  // set when `pattern` is
};

// Reads and validates the shared members (violations go into `v`).
StatusOr<ArchiveSettings> ReadSettings(const Input& input, Validator& v) {
  ArchiveSettings s;
  BP_ASSIGN_OR_RETURN(s.description, input.String("Description"));
  BP_ASSIGN_OR_RETURN(s.pattern, input.String("EventPattern"));
  BP_ASSIGN_OR_RETURN(s.retention, input.Integer("RetentionDays"));
  BP_ASSIGN_OR_RETURN(s.kms, input.String("KmsKeyIdentifier"));
  if (s.description) v.Length("description", *s.description, 0, 512);
  if (s.pattern) v.Length("eventPattern", *s.pattern, 0, 4096);
  if (s.retention) v.Range("retentionDays", *s.retention, 0, INT32_MAX);
  if (s.kms) v.Length("kmsKeyIdentifier", *s.kms, 0, 2048);
  return s;
}

// Compiles the pattern (after the validator passed) and copies the given members into `data`.
Status ApplySettings(ArchiveSettings& s, json::object& data) {
  if (s.pattern) {
    BP_ASSIGN_OR_RETURN(s.compiled, pattern::CompilePattern(*s.pattern));
    data["EventPattern"] = *s.pattern;
  }
  if (s.description) data["Description"] = *s.description;
  if (s.retention) data["RetentionDays"] = *s.retention;
  if (s.kms) data["KmsKeyIdentifier"] = *s.kms;
  return Status::Ok();
}

}  // namespace

std::string ArchivePrefix(uint64_t id) {
  std::string k = "e";
  store::AppendBigEndian64(k, id);
  return k;
}

std::string ArchiveEventKey(uint64_t id, int64_t time_ms, std::string_view event_id) {
  std::string k = ArchivePrefix(id);
  store::AppendBigEndian64(k, FlipSign(time_ms));
  k.append(event_id);
  return k;
}

struct ArchiveStore::Archive {
  json::object data;  // DescribeArchive fields without the counters
  uint64_t id = 0;
  std::string bus;
  std::shared_ptr<const pattern::Pattern> compiled;  // null: every event
  std::shared_ptr<ArchiveCounters> counters = std::make_shared<ArchiveCounters>();
};

struct ArchiveStore::Snapshot {
  struct Entry {
    uint64_t id;
    bool all;  // no pattern
    std::shared_ptr<ArchiveCounters> counters;
  };
  struct Bus {
    std::vector<Entry> archives;
    std::shared_ptr<const pattern::Matcher> matcher;  // ids index `archives`
  };
  std::map<std::string, Bus, std::less<>> buses;
  std::map<std::string, ArchiveRef, std::less<>> by_arn;
  std::map<uint64_t, std::string> names_by_id;
};

ArchiveStore::ArchiveStore(store::Store& store, const Clock& clock, ArchiveOptions options)
    : store_(store),
      clock_(clock),
      options_(std::move(options)),
      snapshot_(std::make_shared<Snapshot>()) {}

ArchiveStore::~ArchiveStore() { Stop(); }

StatusOr<std::unique_ptr<ArchiveStore>> ArchiveStore::Open(store::Store& store, const Clock& clock,
                                                           ArchiveOptions options) {
  std::unique_ptr<ArchiveStore> a(new ArchiveStore(store, clock, std::move(options)));
  BP_RETURN_IF_ERROR(a->Load());
  return a;
}

Status ArchiveStore::Load() {
  std::lock_guard<std::mutex> lock(mu_);
  BP_ASSIGN_OR_RETURN(auto next, store_.Get(store::Family::kMeta, kNextIdKey));
  if (next && next->size() == 8) next_id_ = store::ReadBigEndian64(*next);
  Status error;
  BP_RETURN_IF_ERROR(store_.Scan(
      store::Family::kMeta, kMetaPrefix, store::PrefixEnd(kMetaPrefix),
      [&](std::string_view k, std::string_view v) {
        json::error_code ec;
        json::value parsed = json::parse(v, ec);
        if (ec || !parsed.is_object()) {
          error = Status::Corruption("undecodable archive record " + std::string(k));
          return false;
        }
        auto a = std::make_unique<Archive>();
        a->data = std::move(parsed.as_object());
        const json::value* id = a->data.if_contains("Id");
        if (!id || !id->is_int64()) {
          error = Status::Corruption("archive record without an id " + std::string(k));
          return false;
        }
        a->id = static_cast<uint64_t>(id->as_int64());
        a->data.erase("Id");
        a->bus = registry::JsonString(a->data, "EventBusName");
        a->data.erase("EventBusName");
        if (auto p = registry::JsonString(a->data, "EventPattern"); !p.empty()) {
          auto compiled = pattern::CompilePattern(p);
          if (!compiled.ok()) {
            error =
                Status::Corruption("stored archive pattern no longer compiles: " + std::string(k));
            return false;
          }
          a->compiled = *compiled;
        }
        next_id_ = std::max(next_id_, a->id + 1);
        archives_[registry::JsonString(a->data, "ArchiveName")] = std::move(a);
        return true;
      }));
  BP_RETURN_IF_ERROR(error);
  // Exact counters: one pass over each archive's events.
  for (auto& entry : archives_) {
    auto& a = entry.second;
    std::string begin = ArchivePrefix(a->id);
    BP_RETURN_IF_ERROR(store_.Scan(store::Family::kArchive, begin, store::PrefixEnd(begin),
                                   [&](std::string_view, std::string_view value) {
                                     a->counters->events++;
                                     a->counters->bytes += static_cast<int64_t>(value.size());
                                     return true;
                                   }));
  }
  Publish();
  return Status::Ok();
}

void ArchiveStore::Publish() {
  auto next = std::make_shared<Snapshot>();
  std::map<std::string, pattern::MatcherBuilder> builders;
  for (const auto& [name, a] : archives_) {
    auto& bus = next->buses[a->bus];
    uint32_t index = static_cast<uint32_t>(bus.archives.size());
    bus.archives.push_back({a->id, a->compiled == nullptr, a->counters});
    if (a->compiled) {
      Status s = builders[a->bus].Add(index, a->compiled);
      if (!s.ok())
        log::Error("archive", "matcher rejected an archive pattern", {{"archive", name}});
    }
    ArchiveRef ref{a->id, name, registry::JsonString(a->data, "ArchiveArn"), a->bus,
                   registry::JsonString(a->data, "EventSourceArn")};
    next->by_arn[ref.arn] = ref;
    next->names_by_id[a->id] = name;
  }
  for (auto& [bus, builder] : builders) next->buses[bus].matcher = builder.Build();
  std::lock_guard<std::mutex> lock(snapshot_mu_);
  snapshot_ = std::move(next);
}

std::shared_ptr<const ArchiveStore::Snapshot> ArchiveStore::snapshot() const {
  std::lock_guard<std::mutex> lock(snapshot_mu_);
  return snapshot_;
}

int ArchiveStore::Add(std::string_view bus, std::string_view event_id, int64_t event_time_s,
                      std::string_view envelope, store::WriteBatch& batch,
                      std::vector<ArchiveCopy>* copies) const {
  auto snap = snapshot();
  auto it = snap->buses.find(bus);
  if (it == snap->buses.end()) return 0;
  const Snapshot::Bus& b = it->second;
  thread_local std::vector<uint32_t> matched;
  matched.clear();
  if (b.matcher) b.matcher->Match(envelope, &matched);
  std::vector<bool> take(b.archives.size(), false);
  for (uint32_t m : matched) {
    if (m < take.size()) take[m] = true;
  }
  int added = 0;
  for (size_t i = 0; i < b.archives.size(); ++i) {
    const auto& e = b.archives[i];
    if (!e.all && !take[i]) continue;
    batch.Put(store::Family::kArchive, ArchiveEventKey(e.id, event_time_s * 1000, event_id),
              std::string(envelope));
    copies->push_back({e.counters, static_cast<int64_t>(envelope.size())});
    ++added;
  }
  return added;
}

void ArchiveStore::Count(const std::vector<ArchiveCopy>& copies) {
  for (const auto& c : copies) {
    c.counters->events++;
    c.counters->bytes += c.bytes;
  }
}

std::optional<ArchiveRef> ArchiveStore::FindByArn(std::string_view arn) const {
  auto snap = snapshot();
  auto it = snap->by_arn.find(arn);
  if (it == snap->by_arn.end()) return std::nullopt;
  return it->second;
}

bool ArchiveStore::Exists(uint64_t id) const { return snapshot()->names_by_id.count(id) > 0; }

StatusOr<size_t> ArchiveStore::Scan(uint64_t id, int64_t start_ms, std::string_view after_key,
                                    int64_t end_ms, size_t max, const EventFn& fn) const {
  std::string begin = ArchivePrefix(id);
  store::AppendBigEndian64(begin, FlipSign(start_ms));
  if (!after_key.empty() && after_key >= begin) {
    begin = std::string(after_key);
    begin.push_back('\0');
  }
  std::string end = ArchivePrefix(id);
  store::AppendBigEndian64(end, FlipSign(end_ms));
  if (begin >= end) return size_t{0};
  size_t n = 0;
  BP_RETURN_IF_ERROR(
      store_.Scan(store::Family::kArchive, begin, end, [&](std::string_view k, std::string_view v) {
        int64_t t = static_cast<int64_t>(store::ReadBigEndian64(k.substr(9)) ^ (uint64_t{1} << 63));
        fn(k, v, t);
        return ++n < max;
      }));
  return n;
}

// ---- control plane ----

ArchiveStore::Json ArchiveStore::Describe(const Archive& a, bool full) const {
  json::object out;
  static const char* kFull[] = {"ArchiveArn",  "ArchiveName",      "EventSourceArn",
                                "Description", "EventPattern",     "State",
                                "StateReason", "KmsKeyIdentifier", "RetentionDays"};
  static const char* kSummary[] = {"ArchiveName", "EventSourceArn", "State", "StateReason",
                                   "RetentionDays"};
  auto copy = [&](const char* k) {
    if (auto* v = a.data.if_contains(k)) out[k] = *v;
  };
  if (full) {
    for (const char* k : kFull) copy(k);
  } else {
    for (const char* k : kSummary) copy(k);
  }
  out["SizeBytes"] = a.counters->bytes.load();
  out["EventCount"] = a.counters->events.load();
  copy("CreationTime");
  return out;
}

StatusOr<json::object> ArchiveStore::CreateArchive(const json::object& in) {
  Input input(in);
  BP_ASSIGN_OR_RETURN(auto name, input.String("ArchiveName"));
  BP_ASSIGN_OR_RETURN(auto source, input.String("EventSourceArn"));
  Validator v;
  v.NotNull("archiveName", name.has_value());
  if (name) v.Name("archiveName", *name, 48);
  v.NotNull("eventSourceArn", source.has_value());
  if (source) {
    v.Length("eventSourceArn", *source, 1, 1600);
    if (v.ok()) v.Pattern("eventSourceArn", *source, LooksLikeArn(*source), kArnPattern);
  }
  BP_ASSIGN_OR_RETURN(ArchiveSettings settings, ReadSettings(input, v));
  BP_RETURN_IF_ERROR(v.Finish());
  auto a = std::make_unique<Archive>();
  BP_RETURN_IF_ERROR(ApplySettings(settings, a->data));
  auto parsed = model::ParseArn(*source);
  if (!parsed || parsed->type != "event-bus" || parsed->account != options_.partition.account ||
      parsed->region != options_.partition.region ||
      (options_.bus_exists && !options_.bus_exists(parsed->rest))) {
    return Status::NotFound("Event bus " + (parsed ? parsed->rest : *source) + " does not exist.");
  }

  std::lock_guard<std::mutex> lock(mu_);
  if (archives_.count(*name)) {
    return Status::AlreadyExists("Archive " + *name + " already exists.");
  }
  a->id = next_id_;
  a->bus = parsed->rest;
  a->compiled = settings.compiled;
  a->data["ArchiveName"] = *name;
  a->data["ArchiveArn"] = "arn:aws:events:" + options_.partition.region + ":" +
                          options_.partition.account + ":archive/" + *name;
  a->data["EventSourceArn"] = model::EventBusArn(options_.partition, a->bus);
  a->data["State"] = "ENABLED";
  if (!settings.retention) a->data["RetentionDays"] = 0;
  a->data["CreationTime"] = registry::NowSeconds(clock_);
  json::object stored = a->data;
  stored["Id"] = static_cast<int64_t>(a->id);
  stored["EventBusName"] = a->bus;
  store::WriteBatch b;
  b.Put(store::Family::kMeta, std::string(kMetaPrefix) + *name, json::serialize(stored));
  std::string next;
  store::AppendBigEndian64(next, a->id + 1);
  b.Put(store::Family::kMeta, std::string(kNextIdKey), next);
  BP_RETURN_IF_ERROR(store_.Write(std::move(b)));
  next_id_ = a->id + 1;
  json::object out;
  out["ArchiveArn"] = a->data["ArchiveArn"];
  out["State"] = "ENABLED";
  out["CreationTime"] = a->data["CreationTime"];
  archives_[*name] = std::move(a);
  Publish();
  return out;
}

StatusOr<json::object> ArchiveStore::DescribeArchive(const json::object& in) {
  BP_ASSIGN_OR_RETURN(auto name, registry::RequiredName(in, "ArchiveName", "archiveName", 48));
  std::lock_guard<std::mutex> lock(mu_);
  auto it = archives_.find(*name);
  if (it == archives_.end()) return NotFound(*name);
  return Describe(*it->second, true);
}

StatusOr<json::object> ArchiveStore::ListArchives(const json::object& in) {
  Input input(in);
  BP_ASSIGN_OR_RETURN(auto prefix, input.String("NamePrefix"));
  BP_ASSIGN_OR_RETURN(auto source, input.String("EventSourceArn"));
  BP_ASSIGN_OR_RETURN(auto state, input.String("State"));
  Validator v;
  if (prefix) v.Name("namePrefix", *prefix, 48);
  if (source) {
    v.Length("eventSourceArn", *source, 1, 1600);
    if (v.ok()) v.Pattern("eventSourceArn", *source, LooksLikeArn(*source), kArnPattern);
  }
  if (state) {
    v.Enum("state", *state,
           {"ENABLED", "DISABLED", "CREATING", "UPDATING", "CREATE_FAILED", "UPDATE_FAILED"});
  }
  BP_RETURN_IF_ERROR(v.Finish());
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> names;
  for (const auto& [name, a] : archives_) {
    if (prefix && name.compare(0, prefix->size(), *prefix) != 0) continue;
    if (source && registry::JsonString(a->data, "EventSourceArn") != *source) continue;
    if (state && registry::JsonString(a->data, "State") != *state) continue;
    names.push_back(name);
  }
  BP_ASSIGN_OR_RETURN(registry::Page page, registry::Paginate(names, in));
  json::array list;
  for (size_t i = page.begin; i < page.end; ++i)
    list.push_back(Describe(*archives_[names[i]], false));
  return registry::ListReply("Archives", std::move(list), page);
}

StatusOr<json::object> ArchiveStore::UpdateArchive(const json::object& in) {
  Input input(in);
  BP_ASSIGN_OR_RETURN(auto name, input.String("ArchiveName"));
  Validator v;
  v.NotNull("archiveName", name.has_value());
  if (name) v.Name("archiveName", *name, 48);
  BP_ASSIGN_OR_RETURN(ArchiveSettings settings, ReadSettings(input, v));
  BP_RETURN_IF_ERROR(v.Finish());
  json::object changes;
  BP_RETURN_IF_ERROR(ApplySettings(settings, changes));
  std::lock_guard<std::mutex> lock(mu_);
  auto it = archives_.find(*name);
  if (it == archives_.end()) return NotFound(*name);
  Archive& a = *it->second;
  json::object data = a.data;
  for (auto& [k, val] : changes) data[k] = val;
  json::object stored = data;
  stored["Id"] = static_cast<int64_t>(a.id);
  stored["EventBusName"] = a.bus;
  store::WriteBatch b;
  b.Put(store::Family::kMeta, std::string(kMetaPrefix) + *name, json::serialize(stored));
  BP_RETURN_IF_ERROR(store_.Write(std::move(b)));
  a.data = std::move(data);
  if (settings.compiled) a.compiled = settings.compiled;
  Publish();
  json::object out;
  out["ArchiveArn"] = a.data["ArchiveArn"];
  out["State"] = a.data["State"];
  out["CreationTime"] = a.data["CreationTime"];
  return out;
}

StatusOr<json::object> ArchiveStore::DeleteArchive(const json::object& in) {
  BP_ASSIGN_OR_RETURN(auto name, registry::RequiredName(in, "ArchiveName", "archiveName", 48));
  std::lock_guard<std::mutex> lock(mu_);
  auto it = archives_.find(*name);
  if (it == archives_.end()) return NotFound(*name);
  uint64_t id = it->second->id;
  store::WriteBatch b;
  b.Delete(store::Family::kMeta, std::string(kMetaPrefix) + *name);
  b.DeleteRange(store::Family::kArchive, ArchivePrefix(id), store::PrefixEnd(ArchivePrefix(id)));
  BP_RETURN_IF_ERROR(store_.Write(std::move(b)));
  archives_.erase(it);
  // A PutEvents batch built before this delete may still land under the old id: purge it again.
  deleted_ids_.push_back(id);
  Publish();
  return json::object();
}

// ---- retention ----

StatusOr<int64_t> ArchiveStore::SweepExpired() {
  struct Work {
    uint64_t id;
    int64_t cutoff_ms;
    std::shared_ptr<ArchiveCounters> counters;
  };
  std::vector<Work> work;
  std::vector<uint64_t> purge;
  int64_t now = clock_.NowMillis();
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [name, a] : archives_) {
      const json::value* r = a->data.if_contains("RetentionDays");
      int64_t days = r && r->is_int64() ? r->as_int64() : 0;
      if (days > 0) work.push_back({a->id, now - days * kDayMs, a->counters});
    }
    purge.swap(deleted_ids_);
  }
  for (uint64_t id : purge) {
    store::WriteBatch b;
    b.DeleteRange(store::Family::kArchive, ArchivePrefix(id), store::PrefixEnd(ArchivePrefix(id)));
    BP_RETURN_IF_ERROR(store_.Write(std::move(b)));
  }
  int64_t deleted = 0;
  for (const Work& w : work) {
    // Point deletes of exactly the keys read, so the counters stay exact even while PutEvents
    // adds old-dated events concurrently.
    while (true) {
      store::WriteBatch b;
      int64_t events = 0, bytes = 0;
      BP_ASSIGN_OR_RETURN(size_t n, Scan(w.id, INT64_MIN, {}, w.cutoff_ms, kSweepPage,
                                         [&](std::string_view k, std::string_view v, int64_t) {
                                           b.Delete(store::Family::kArchive, std::string(k));
                                           ++events;
                                           bytes += static_cast<int64_t>(v.size());
                                         }));
      if (n == 0) break;
      BP_RETURN_IF_ERROR(store_.Write(std::move(b)));
      w.counters->events -= events;
      w.counters->bytes -= bytes;
      deleted += events;
      if (n < kSweepPage) break;
    }
    if (deleted > 0) {
      std::string end = ArchivePrefix(w.id);
      store::AppendBigEndian64(end, FlipSign(w.cutoff_ms));
      store_.CompactRange(store::Family::kArchive, ArchivePrefix(w.id), end);
    }
  }
  return deleted;
}

void ArchiveStore::StartSweeper(int64_t interval_ms) {
  sweeper_ = std::thread([this, interval_ms] {
    std::unique_lock<std::mutex> lock(sweep_mu_);
    while (!stop_) {
      lock.unlock();
      auto swept = SweepExpired();
      if (!swept.ok()) {
        log::Error("archive", "retention sweep failed", {{"error", swept.status().ToString()}});
      } else if (*swept > 0) {
        log::Info("archive", "expired archived events deleted", {{"events", *swept}});
      }
      lock.lock();
      sweep_cv_.wait_for(lock, std::chrono::milliseconds(interval_ms), [this] { return stop_; });
    }
  });
}

void ArchiveStore::Stop() {
  {
    std::lock_guard<std::mutex> lock(sweep_mu_);
    stop_ = true;
  }
  sweep_cv_.notify_all();
  if (sweeper_.joinable()) sweeper_.join();
}

}  // namespace bp::archive
