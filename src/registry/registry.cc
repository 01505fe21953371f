#include "registry/registry.h"

#include <algorithm>
#include <boost/json.hpp>
#include <cctype>
#include <functional>

#include "common/ids.h"
#include "common/log.h"
#include "model/arn_patterns.h"
#include "model/validation.h"
#include "registry/registry_internal.h"

namespace bp::registry {

namespace json = boost::json;
using model::Input;
using model::Validator;

std::string_view ConnectionStateName(ConnectionState s) {
  switch (s) {
    case ConnectionState::kCreating:
      return "CREATING";
    case ConnectionState::kUpdating:
      return "UPDATING";
    case ConnectionState::kDeleting:
      return "DELETING";
    case ConnectionState::kAuthorized:
      return "AUTHORIZED";
    case ConnectionState::kDeauthorized:
      return "DEAUTHORIZED";
    case ConnectionState::kAuthorizing:
      return "AUTHORIZING";
    case ConnectionState::kDeauthorizing:
      return "DEAUTHORIZING";
  }
  return "AUTHORIZED";
}

std::string_view AuthTypeName(AuthType t) {
  switch (t) {
    case AuthType::kBasic:
      return "BASIC";
    case AuthType::kApiKey:
      return "API_KEY";
    case AuthType::kOAuthClientCredentials:
      return "OAUTH_CLIENT_CREDENTIALS";
  }
  return "API_KEY";
}

std::optional<AuthType> ParseAuthType(std::string_view name) {
  for (AuthType t : {AuthType::kBasic, AuthType::kApiKey, AuthType::kOAuthClientCredentials}) {
    if (AuthTypeName(t) == name) return t;
  }
  return std::nullopt;
}

std::string JsonString(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end() || !it->value().is_string()) return {};
  return std::string(it->value().as_string());
}

double NowSeconds(const Clock& clock) {
  // Whole milliseconds, as AWS reports timestamps.
  return static_cast<double>(clock.NowMillis()) / 1000.0;
}

StatusOr<Page> Paginate(const std::vector<std::string>& names, const json::object& in) {
  Input input(in);
  BP_ASSIGN_OR_RETURN(auto limit, input.Integer("Limit"));
  BP_ASSIGN_OR_RETURN(auto token, input.String("NextToken"));
  Validator v;
  if (limit) v.Range("limit", *limit, 1, 100);
  if (token) v.Length("nextToken", *token, 1, 2048);
  BP_RETURN_IF_ERROR(v.Finish());
  Page page;
  if (token) {
    // The token is the hex of the last name returned; the next page starts after it.
    std::string last;
    const std::string& t = *token;
    if (t.size() % 2 != 0) return Status::Validation("The NextToken provided is invalid.");
    for (size_t i = 0; i < t.size(); i += 2) {
      int hi = std::isxdigit(static_cast<unsigned char>(t[i]))
                   ? std::stoi(t.substr(i, 1), nullptr, 16)
                   : -1;
      int lo = std::isxdigit(static_cast<unsigned char>(t[i + 1]))
                   ? std::stoi(t.substr(i + 1, 1), nullptr, 16)
                   : -1;
      if (hi < 0 || lo < 0) return Status::Validation("The NextToken provided is invalid.");
      last.push_back(static_cast<char>(hi * 16 + lo));
    }
    page.begin =
        static_cast<size_t>(std::upper_bound(names.begin(), names.end(), last) - names.begin());
  }
  size_t n = limit ? static_cast<size_t>(*limit) : 100;
  page.end = std::min(names.size(), page.begin + n);
  if (page.end < names.size() && page.end > page.begin)
    page.next_token = HexEncode(names[page.end - 1]);
  return page;
}

Status ValidateTags(const json::array* tags, int max_tags) {
  if (!tags) return Status::Ok();
  Validator v;
  if (static_cast<int>(tags->size()) > max_tags) {
    return Status::LimitExceeded("The number of tags exceeds the limit of " +
                                 std::to_string(max_tags) + ".");
  }
  for (size_t i = 0; i < tags->size(); ++i) {
    const auto& t = (*tags)[i];
    std::string base = "tags." + std::to_string(i + 1) + ".member.";
    if (!t.is_object())
      return Status::Serialization("Tags must be a list of {Key, Value} objects.");
    const auto& o = t.as_object();
    auto k = o.find("Key");
    auto val = o.find("Value");
    v.NotNull(base + "key", k != o.end() && k->value().is_string());
    v.NotNull(base + "value", val != o.end() && val->value().is_string());
    if (k != o.end() && k->value().is_string())
      v.Length(base + "key", k->value().as_string(), 1, 128);
    if (val != o.end() && val->value().is_string())
      v.Length(base + "value", val->value().as_string(), 0, 256);
  }
  return v.Finish();
}

StatusOr<std::optional<std::string>> RequiredName(const json::object& in, std::string_view member,
                                                  std::string_view field, size_t max) {
  Input input(in);
  BP_ASSIGN_OR_RETURN(auto name, input.String(member));
  Validator v;
  v.NotNull(field, name.has_value());
  if (name) v.Name(field, *name, max);
  BP_RETURN_IF_ERROR(v.Finish());
  return name;
}

json::object ListReply(std::string_view list_key, json::array list, const Page& page) {
  json::object out;
  out[list_key] = std::move(list);
  if (!page.next_token.empty()) out["NextToken"] = page.next_token;
  return out;
}

Registry::Registry(store::Store& store, const Clock& clock, RegistryOptions options,
                   SecretSealer sealer)
    : store_(store),
      clock_(clock),
      options_(std::move(options)),
      sealer_(std::move(sealer)),
      snapshot_(std::make_shared<Snapshot>()) {}

Registry::~Registry() = default;

StatusOr<std::unique_ptr<Registry>> Registry::Open(store::Store& store, const Clock& clock,
                                                   RegistryOptions options, SecretSealer sealer) {
  std::unique_ptr<Registry> r(new Registry(store, clock, std::move(options), std::move(sealer)));
  BP_RETURN_IF_ERROR(r->Load());
  return r;
}

Status Registry::Commit(store::WriteBatch batch) { return store_.Write(std::move(batch)); }

Status Registry::Load() {
  std::lock_guard<std::mutex> lock(mu_);
  return LoadLocked();
}

namespace {

// Scans the control-plane records under `prefix`, handing each decoded one to `load`. Stops at
// the first record that does not decode or that `load` refuses, and returns that error.
Status ScanRecords(store::Store& store, std::string_view prefix,
                   const std::function<Status(std::string_view key, json::object record)>& load) {
  Status error;
  BP_RETURN_IF_ERROR(store.Scan(store::Family::kMeta, prefix, store::PrefixEnd(prefix),
                                [&](std::string_view k, std::string_view v) {
                                  json::error_code ec;
                                  json::value parsed = json::parse(v, ec);
                                  if (ec || !parsed.is_object()) {
                                    error = Status::Corruption("undecodable control-plane record " +
                                                               std::string(k));
                                    return false;
                                  }
                                  error = load(k, std::move(parsed.as_object()));
                                  return error.ok();
                                }));
  return error;
}

}  // namespace

Status Registry::LoadLocked() {
  BP_RETURN_IF_ERROR(LoadBuses());
  BP_RETURN_IF_ERROR(LoadRules());
  BP_RETURN_IF_ERROR(LoadConnections());
  BP_RETURN_IF_ERROR(LoadDestinations());
  BP_RETURN_IF_ERROR(LoadTags());
  for (auto& [name, bus] : buses_) RebuildBus(name);
  for (auto& [name, c] : connections_) PublishConnection(name);
  for (auto& [name, d] : destinations_) PublishDestination(name);
  log::Info("registry", "control plane loaded",
            {{"buses", static_cast<int64_t>(buses_.size())},
             {"rules", static_cast<int64_t>(rules_.size())},
             {"connections", static_cast<int64_t>(connections_.size())},
             {"destinations", static_cast<int64_t>(destinations_.size())}});
  return Status::Ok();
}

Status Registry::LoadBuses() {
  BP_RETURN_IF_ERROR(ScanRecords(store_, "bus/", [&](std::string_view, json::object o) -> Status {
    buses_[JsonString(o, "Name")] = std::move(o);
    return Status::Ok();
  }));
  if (!buses_.count("default")) {
    json::object bus;
    bus["Name"] = "default";
    bus["Arn"] = model::EventBusArn(options_.partition, "default");
    bus["CreationTime"] = NowSeconds(clock_);
    bus["LastModifiedTime"] = NowSeconds(clock_);
    store::WriteBatch b;
    b.Put(store::Family::kMeta, BusKey("default"), json::serialize(bus));
    BP_RETURN_IF_ERROR(Commit(std::move(b)));
    buses_["default"] = std::move(bus);
  }
  return Status::Ok();
}

Status Registry::LoadRules() {
  return ScanRecords(store_, "rule/", [&](std::string_view k, json::object o) -> Status {
    auto rule = std::make_unique<Rule>();
    rule->data = o["Rule"].as_object();
    for (auto& t : o["Targets"].as_array()) rule->targets.push_back(t.as_object());
    if (rule->data.contains("EventPattern")) {
      auto compiled = pattern::CompilePattern(JsonString(rule->data, "EventPattern"));
      if (!compiled.ok()) {
        return Status::Corruption("stored pattern no longer compiles: " + std::string(k));
      }
      rule->compiled = *compiled;
    }
    std::string bus = JsonString(rule->data, "EventBusName");
    rules_[{bus, JsonString(rule->data, "Name")}] = std::move(rule);
    return Status::Ok();
  });
}

Status Registry::LoadConnections() {
  return ScanRecords(store_, "conn/", [&](std::string_view k, json::object o) -> Status {
    auto c = std::make_unique<Connection>();
    std::string sealed = JsonString(o, "SealedSecrets");
    o.erase("SealedSecrets");
    c->data = std::move(o);
    if (!sealed.empty()) {
      auto opened = sealer_.open(sealed, JsonString(c->data, "ConnectionArn"));
      if (!opened.ok()) {
        return Status::Corruption("cannot open the secrets of " + std::string(k) +
                                  " (wrong master key?)");
      }
      json::error_code ec;
      json::value sv = json::parse(*opened, ec);
      if (!ec && sv.is_object()) c->secrets = std::move(sv.as_object());
    }
    c->generation = 1;
    connections_[JsonString(c->data, "Name")] = std::move(c);
    return Status::Ok();
  });
}

Status Registry::LoadDestinations() {
  return ScanRecords(store_, "dest/", [&](std::string_view, json::object o) -> Status {
    auto d = std::make_unique<Destination>();
    d->data = std::move(o);
    destinations_[JsonString(d->data, "Name")] = std::move(d);
    return Status::Ok();
  });
}

Status Registry::LoadTags() {
  return ScanRecords(store_, "tags/", [&](std::string_view k, json::object o) -> Status {
    auto& m = tags_[std::string(k.substr(5))];
    for (auto& [tk, tv] : o) {
      if (tv.is_string()) m[std::string(tk)] = std::string(tv.as_string());
    }
    return Status::Ok();
  });
}

// ---- snapshots ----

void Registry::RebuildBus(const std::string& bus) {
  auto routes = std::make_shared<BusRoutes>();
  routes->name = bus;
  routes->arn = model::EventBusArn(options_.partition, bus);
  if (auto b = buses_.find(bus); b != buses_.end())
    routes->policy = JsonString(b->second, "Policy");
  pattern::MatcherBuilder builder;
  std::vector<std::pair<std::string, std::shared_ptr<const TargetRoute>>> target_entries;
  for (auto it = rules_.lower_bound({bus, ""}); it != rules_.end() && it->first.first == bus;
       ++it) {
    const Rule& rule = *it->second;
    RuleRoute rr;
    rr.name = JsonString(rule.data, "Name");
    rr.arn = JsonString(rule.data, "Arn");
    rr.enabled = JsonString(rule.data, "State") != "DISABLED";
    rr.schedule_expression = JsonString(rule.data, "ScheduleExpression");
    std::map<std::string, std::string> rule_tags;
    if (auto t = tags_.find(rr.arn); t != tags_.end()) rule_tags = t->second;
    for (const auto& t : rule.targets) {
      auto tr = std::make_shared<TargetRoute>();
      tr->bus = bus;
      tr->rule_name = rr.name;
      tr->rule_arn = rr.arn;
      tr->target_id = JsonString(t, "Id");
      tr->target_arn = JsonString(t, "Arn");
      tr->config = t;
      tr->rule_tags = rule_tags;
      auto parsed = model::ParseArn(tr->target_arn);
      if (parsed && parsed->service == "sqs") {
        tr->kind = TargetKind::kQueue;
        tr->resource_name = tr->target_arn;
      } else if (parsed && parsed->type == "event-bus") {
        tr->kind = TargetKind::kEventBus;
        tr->resource_name = parsed->rest;
      } else if (parsed && parsed->type == "api-destination") {
        tr->kind = TargetKind::kApiDestination;
        tr->resource_name = parsed->rest.substr(0, parsed->rest.find('/'));
      }
      if (auto rp = t.find("RetryPolicy"); rp != t.end() && rp->value().is_object()) {
        const auto& o = rp->value().as_object();
        if (auto m = o.find("MaximumRetryAttempts"); m != o.end() && m->value().is_int64()) {
          tr->max_retry_attempts = static_cast<int>(m->value().as_int64());
        }
        if (auto m = o.find("MaximumEventAgeInSeconds"); m != o.end() && m->value().is_int64()) {
          tr->max_event_age_seconds = m->value().as_int64();
        }
      }
      if (auto dl = t.find("DeadLetterConfig"); dl != t.end() && dl->value().is_object()) {
        tr->dead_letter_arn = JsonString(dl->value().as_object(), "Arn");
      }
      rr.targets.push_back(tr);
      target_entries.emplace_back(TargetIndexKey(bus, rr.name, tr->target_id), tr);
    }
    if (rule.compiled) {  // scheduled rules may have no pattern
      Status s = builder.Add(static_cast<uint32_t>(routes->rules.size()), rule.compiled);
      if (!s.ok()) log::Error("registry", "matcher rejected a stored rule", {{"rule", rr.arn}});
    }
    routes->rules.push_back(std::move(rr));
  }
  if (!routes->rules.empty()) routes->matcher = builder.Build();

  std::lock_guard<std::mutex> lock(snapshot_mu_);
  auto next = std::make_shared<Snapshot>(*snapshot_);
  // Drop this bus's old target entries, then add the new ones.
  std::string prefix = bus + '\x1f';
  for (auto it = next->targets.lower_bound(prefix);
       it != next->targets.end() && it->first.compare(0, prefix.size(), prefix) == 0;) {
    it = next->targets.erase(it);
  }
  for (auto& [k, v] : target_entries) next->targets[k] = v;
  if (buses_.count(bus)) {
    next->buses[bus] = std::move(routes);
  } else {
    next->buses.erase(bus);
  }
  snapshot_ = std::move(next);
}

void Registry::RemovePublished(std::string_view kind, const std::string& name) {
  std::lock_guard<std::mutex> lock(snapshot_mu_);
  auto next = std::make_shared<Snapshot>(*snapshot_);
  if (kind == "connection") next->connections.erase(name);
  if (kind == "destination") next->destinations.erase(name);
  snapshot_ = std::move(next);
}

std::shared_ptr<const BusRoutes> Registry::Routes(std::string_view bus) const {
  std::lock_guard<std::mutex> lock(snapshot_mu_);
  auto it = snapshot_->buses.find(bus);
  return it == snapshot_->buses.end() ? nullptr : it->second;
}

bool Registry::BusExists(std::string_view bus) const { return Routes(bus) != nullptr; }

std::shared_ptr<const TargetRoute> Registry::FindTarget(std::string_view bus, std::string_view rule,
                                                        std::string_view id) const {
  std::lock_guard<std::mutex> lock(snapshot_mu_);
  auto it = snapshot_->targets.find(TargetIndexKey(bus, rule, id));
  return it == snapshot_->targets.end() ? nullptr : it->second;
}

std::shared_ptr<const DestinationView> Registry::FindDestination(std::string_view name) const {
  std::lock_guard<std::mutex> lock(snapshot_mu_);
  auto it = snapshot_->destinations.find(name);
  return it == snapshot_->destinations.end() ? nullptr : it->second;
}

std::shared_ptr<const ConnectionView> Registry::FindConnection(std::string_view name) const {
  std::lock_guard<std::mutex> lock(snapshot_mu_);
  auto it = snapshot_->connections.find(name);
  return it == snapshot_->connections.end() ? nullptr : it->second;
}

// ---- event buses ----

StatusOr<std::string> Registry::ResolveBus(const json::object& in, std::string_view member,
                                           bool must_exist) const {
  Input input(in);
  BP_ASSIGN_OR_RETURN(auto given, input.String(member));
  std::string name = given.value_or("default");
  // AWS reports the member in lowerCamel ("name", "eventBusName").
  std::string field(member);
  field[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(field[0])));
  Validator v;
  v.Length(field, name, 1, 1600);
  if (v.ok()) {
    v.Pattern(field, name, model::IsEventBusNameOrArn(name), model::kEventBusNameOrArnPattern);
  }
  BP_RETURN_IF_ERROR(v.Finish());
  std::string bus = name;
  if (name.rfind("arn:", 0) == 0) {
    // Well-formed (checked above): a bus of another account or region is not one of ours.
    auto parsed = model::ParseArn(name);
    if (!parsed || parsed->account != options_.partition.account ||
        parsed->region != options_.partition.region) {
      return Status::NotFound("Event bus " + name + " does not exist.");
    }
    bus = parsed->rest;
  }
  if (must_exist && !buses_.count(bus)) {
    return Status::NotFound("Event bus " + bus + " does not exist.");
  }
  return bus;
}

StatusOr<json::object> Registry::CreateEventBus(const json::object& in) {
  Input input(in);
  BP_ASSIGN_OR_RETURN(auto name, input.String("Name"));
  BP_ASSIGN_OR_RETURN(auto description, input.String("Description"));
  BP_ASSIGN_OR_RETURN(auto kms, input.String("KmsKeyIdentifier"));
  BP_ASSIGN_OR_RETURN(auto dlc, input.Object("DeadLetterConfig"));
  BP_ASSIGN_OR_RETURN(auto log_config, input.Object("LogConfig"));
  BP_ASSIGN_OR_RETURN(auto tags, input.Array("Tags"));
  Validator v;
  v.NotNull("name", name.has_value());
  if (name) {
    v.Length("name", *name, 1, 256);
    bool model_ok = !name->empty() && std::all_of(name->begin(), name->end(), [](char c) {
      return c == '/' || model::IsResourceName(std::string_view(&c, 1));
    });
    if (v.ok()) v.Pattern("name", *name, model_ok, "[/\\.\\-_A-Za-z0-9]+");
  }
  if (description) v.Length("description", *description, 0, 512);
  if (kms) v.Length("kmsKeyIdentifier", *kms, 0, 2048);
  BP_RETURN_IF_ERROR(v.Finish());
  // '/' is legal in the model only for partner buses, whose name must be that of an existing
  // partner event source; Bridgeport has none.
  if (name->rfind("aws.partner/", 0) == 0) {
    return Status::NotFound("Event source " + *name + " does not exist.");
  }
  if (name->find('/') != std::string::npos) {
    return Status::Validation("Event bus name must not contain '/'.");
  }
  if (input.Has("EventSourceName")) {
    return Status::Validation(
        "Partner event sources are not supported: EventSourceName must not be set.");
  }
  BP_RETURN_IF_ERROR(ValidateTags(tags, options_.limits.max_tags));
  if (dlc) {
    std::string arn = JsonString(*dlc, "Arn");
    if (arn.empty() || (options_.queue_exists && !options_.queue_exists(arn))) {
      return Status::Validation("DeadLetterConfig Arn '" + arn + "' is not an existing queue.");
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (buses_.count(*name)) {
    return Status::AlreadyExists("Event bus " + *name + " already exists.");
  }
  if (static_cast<int>(buses_.size()) >= options_.limits.max_buses) {
    return Status::LimitExceeded("The requested resource exceeds the maximum number allowed.");
  }
  json::object bus;
  bus["Name"] = *name;
  bus["Arn"] = model::EventBusArn(options_.partition, *name);
  if (description) bus["Description"] = *description;
  if (kms) bus["KmsKeyIdentifier"] = *kms;
  if (dlc) bus["DeadLetterConfig"] = *dlc;
  if (log_config) bus["LogConfig"] = *log_config;
  bus["CreationTime"] = NowSeconds(clock_);
  bus["LastModifiedTime"] = NowSeconds(clock_);
  store::WriteBatch b;
  b.Put(store::Family::kMeta, BusKey(*name), json::serialize(bus));
  std::string arn = JsonString(bus, "Arn");
  std::map<std::string, std::string> tag_map;
  if (tags && !tags->empty()) {
    json::object tobj;
    for (const auto& t : *tags) {
      tag_map[JsonString(t.as_object(), "Key")] = JsonString(t.as_object(), "Value");
    }
    for (auto& [k, val] : tag_map) tobj[k] = val;
    b.Put(store::Family::kMeta, TagKey(arn), json::serialize(tobj));
  }
  BP_RETURN_IF_ERROR(Commit(std::move(b)));
  buses_[*name] = bus;
  if (!tag_map.empty()) tags_[arn] = tag_map;
  RebuildBus(*name);
  json::object out;
  out["EventBusArn"] = arn;
  for (const char* k : {"Description", "KmsKeyIdentifier", "DeadLetterConfig", "LogConfig"}) {
    if (auto it = bus.find(k); it != bus.end()) out[k] = it->value();
  }
  return out;
}

StatusOr<json::object> Registry::UpdateEventBus(const json::object& in) {
  std::lock_guard<std::mutex> lock(mu_);
  BP_ASSIGN_OR_RETURN(std::string name, ResolveBus(in, "Name", true));
  Input input(in);
  BP_ASSIGN_OR_RETURN(auto description, input.String("Description"));
  BP_ASSIGN_OR_RETURN(auto dlc, input.Object("DeadLetterConfig"));
  BP_ASSIGN_OR_RETURN(auto log_config, input.Object("LogConfig"));
  Validator v;
  if (description) v.Length("description", *description, 0, 512);
  BP_RETURN_IF_ERROR(v.Finish());
  json::object bus = buses_[name];
  if (description) bus["Description"] = *description;
  if (dlc) bus["DeadLetterConfig"] = *dlc;
  if (log_config) bus["LogConfig"] = *log_config;
  bus["LastModifiedTime"] = NowSeconds(clock_);
  store::WriteBatch b;
  b.Put(store::Family::kMeta, BusKey(name), json::serialize(bus));
  BP_RETURN_IF_ERROR(Commit(std::move(b)));
  buses_[name] = bus;
  json::object out;
  out["Arn"] = bus["Arn"];
  out["Name"] = name;
  for (const char* k : {"Description", "KmsKeyIdentifier", "DeadLetterConfig", "LogConfig"}) {
    if (auto it = bus.find(k); it != bus.end()) out[k] = it->value();
  }
  return out;
}

StatusOr<json::object> Registry::DescribeEventBus(const json::object& in) {
  std::lock_guard<std::mutex> lock(mu_);
  BP_ASSIGN_OR_RETURN(std::string name, ResolveBus(in, "Name", true));
  return buses_[name];
}

StatusOr<json::object> Registry::ListEventBuses(const json::object& in) {
  Input input(in);
  BP_ASSIGN_OR_RETURN(auto prefix, input.String("NamePrefix"));
  if (prefix) {
    Validator v;
    v.Length("namePrefix", *prefix, 1, 256);
    BP_RETURN_IF_ERROR(v.Finish());
  }
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> names;
  for (auto& [name, bus] : buses_) {
    if (!prefix || name.compare(0, prefix->size(), *prefix) == 0) names.push_back(name);
  }
  BP_ASSIGN_OR_RETURN(Page page, Paginate(names, in));
  json::array list;
  for (size_t i = page.begin; i < page.end; ++i) {
    const auto& bus = buses_[names[i]];
    json::object o;
    for (const char* k :
         {"Name", "Arn", "Description", "Policy", "CreationTime", "LastModifiedTime"}) {
      if (auto it = bus.find(k); it != bus.end()) o[k] = it->value();
    }
    list.push_back(std::move(o));
  }
  return ListReply("EventBuses", std::move(list), page);
}

StatusOr<json::object> Registry::DeleteEventBus(const json::object& in) {
  std::lock_guard<std::mutex> lock(mu_);
  BP_ASSIGN_OR_RETURN(std::string name, ResolveBus(in, "Name", false));
  if (name == "default") return Status::Validation("Cannot delete event bus default.");
  if (!buses_.count(name)) return json::object();  // idempotent
  auto it = rules_.lower_bound({name, ""});
  if (it != rules_.end() && it->first.first == name) {
    return Status::Validation("Cannot delete event bus " + name + " because it still has rules.");
  }
  std::string arn = JsonString(buses_[name], "Arn");
  store::WriteBatch b;
  b.Delete(store::Family::kMeta, BusKey(name));
  b.Delete(store::Family::kMeta, TagKey(arn));
  BP_RETURN_IF_ERROR(Commit(std::move(b)));
  buses_.erase(name);
  tags_.erase(arn);
  RebuildBus(name);
  return json::object();
}

}  // namespace bp::registry
