// Rules and targets.
#include <boost/json.hpp>
#include <set>

#include "common/log.h"
#include "model/validation.h"
#include "registry/registry.h"
#include "registry/registry_internal.h"
#include "registry/settings.h"

namespace bp::registry {

namespace json = boost::json;
using model::Input;
using model::Validator;

namespace {

Status RuleNotFound(const std::string& rule, const std::string& bus) {
  return Status::NotFound("Rule " + rule + " does not exist on EventBus " + bus + ".");
}

// The stored form of a rule: its fields and its targets under one key, so both change atomically.
std::string StoredRule(const json::object& rule, const std::vector<json::object>& targets) {
  json::object stored;
  stored["Rule"] = rule;
  json::array list;
  for (const auto& t : targets) list.push_back(t);
  stored["Targets"] = std::move(list);
  return json::serialize(stored);
}

// PutRule's EventPattern: within the length quota `max_length`, then compiled.
StatusOr<std::shared_ptr<const pattern::Pattern>> CompileRulePattern(const std::string& pattern,
                                                                     int max_length) {
  if (pattern.size() > 4096) {  // the model's maximum; the quota below is at most this
    Validator len;
    len.Length("eventPattern", pattern, 0, 4096);
    return len.Finish();
  }
  if (static_cast<int>(pattern.size()) > max_length) {
    return Status::InvalidEventPattern(
        "Event pattern is not valid. Reason: Event pattern is longer than " +
        std::to_string(max_length) + " characters.");
  }
  return pattern::CompilePattern(pattern);
}

// PutRule's Tags: the list itself, then each tag as a setting.
Status ValidateRuleTags(const json::array* tags, int max_tags) {
  BP_RETURN_IF_ERROR(ValidateTags(tags, max_tags));
  if (tags) {
    for (const auto& t : *tags) {
      BP_RETURN_IF_ERROR(
          ValidateSettingTag(JsonString(t.as_object(), "Key"), JsonString(t.as_object(), "Value")));
    }
  }
  return Status::Ok();
}

}  // namespace

Status Registry::ValidateSchedule(const std::optional<std::string>& schedule) const {
  if (!schedule) return Status::Ok();
  if (!options_.validate_schedule) {
    return Status::Validation("Parameter ScheduleExpression is not valid.");
  }
  return options_.validate_schedule(*schedule);
}

Registry::Rule* Registry::FindRule(const std::string& bus, const std::string& name) {
  auto it = rules_.find({bus, name});
  return it == rules_.end() ? nullptr : it->second.get();
}

StatusOr<json::object> Registry::PutRule(const json::object& in) {
  Input input(in);
  BP_ASSIGN_OR_RETURN(auto name, input.String("Name"));
  BP_ASSIGN_OR_RETURN(auto pattern, input.String("EventPattern"));
  BP_ASSIGN_OR_RETURN(auto state, input.String("State"));
  BP_ASSIGN_OR_RETURN(auto description, input.String("Description"));
  BP_ASSIGN_OR_RETURN(auto role_arn, input.String("RoleArn"));
  BP_ASSIGN_OR_RETURN(auto schedule, input.String("ScheduleExpression"));
  BP_ASSIGN_OR_RETURN(auto tags, input.Array("Tags"));
  Validator v;
  v.NotNull("name", name.has_value());
  if (name) v.Name("name", *name, 64);
  if (state) {
    v.Enum("state", *state,
           {"ENABLED", "DISABLED", "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"});
  }
  if (description) v.Length("description", *description, 0, 512);
  if (role_arn) v.Length("roleArn", *role_arn, 1, 1600);
  if (schedule) v.Length("scheduleExpression", *schedule, 0, 256);
  BP_RETURN_IF_ERROR(v.Finish());
  BP_RETURN_IF_ERROR(ValidateSchedule(schedule));
  if (!pattern && !schedule) {
    return Status::Validation("Parameter(s) EventPattern or ScheduleExpression must be specified.");
  }
  std::shared_ptr<const pattern::Pattern> compiled;
  if (pattern) {
    BP_ASSIGN_OR_RETURN(compiled, CompileRulePattern(*pattern, options_.limits.max_pattern_length));
  }
  BP_RETURN_IF_ERROR(ValidateRuleTags(tags, options_.limits.max_tags));

  std::lock_guard<std::mutex> lock(mu_);
  BP_ASSIGN_OR_RETURN(std::string bus, ResolveBus(in, "EventBusName", true));
  if (schedule && bus != "default") {
    return Status::Validation("ScheduleExpression is supported only on the default event bus.");
  }
  Rule* existing = FindRule(bus, *name);
  if (!existing) {
    int count = 0;
    for (auto it = rules_.lower_bound({bus, ""}); it != rules_.end() && it->first.first == bus;
         ++it) {
      ++count;
    }
    if (count >= options_.limits.max_rules_per_bus) {
      return Status::LimitExceeded("The requested resource exceeds the maximum number allowed: " +
                                   std::to_string(options_.limits.max_rules_per_bus) +
                                   " rules per event bus.");
    }
  }
  auto rule = std::make_unique<Rule>();
  rule->data["Name"] = *name;
  rule->data["Arn"] = model::RuleArn(options_.partition, bus, *name);
  if (pattern) rule->data["EventPattern"] = *pattern;
  if (schedule) rule->data["ScheduleExpression"] = *schedule;
  rule->data["State"] = state.value_or("ENABLED");
  if (description) rule->data["Description"] = *description;
  if (role_arn) rule->data["RoleArn"] = *role_arn;
  rule->data["EventBusName"] = bus;
  rule->data["CreatedBy"] = options_.partition.account;
  rule->compiled = compiled;
  if (existing) rule->targets = existing->targets;
  std::string arn = JsonString(rule->data, "Arn");
  BP_RETURN_IF_ERROR(StoreRule(bus, *name, std::move(rule), tags));
  json::object out;
  out["RuleArn"] = arn;
  return out;
}

Status Registry::StoreRule(const std::string& bus, const std::string& name,
                           std::unique_ptr<Rule> rule, const json::array* tags) {
  std::string arn = JsonString(rule->data, "Arn");
  store::WriteBatch b;
  b.Put(store::Family::kMeta, RuleKey(bus, name), StoredRule(rule->data, rule->targets));
  std::map<std::string, std::string> tag_map = TagsOf(arn);
  if (tags && !tags->empty()) {
    for (const auto& t : *tags)
      tag_map[JsonString(t.as_object(), "Key")] = JsonString(t.as_object(), "Value");
    if (static_cast<int>(tag_map.size()) > options_.limits.max_tags) {
      return Status::LimitExceeded("The number of tags exceeds the limit of " +
                                   std::to_string(options_.limits.max_tags) + ".");
    }
    json::object tobj;
    for (auto& [k, val] : tag_map) tobj[k] = val;
    b.Put(store::Family::kMeta, TagKey(arn), json::serialize(tobj));
  }
  BP_RETURN_IF_ERROR(Commit(std::move(b)));
  rules_[{bus, name}] = std::move(rule);
  if (!tag_map.empty()) tags_[arn] = tag_map;
  RebuildBus(bus);
  return Status::Ok();
}

StatusOr<json::object> Registry::DescribeRule(const json::object& in) {
  BP_ASSIGN_OR_RETURN(std::optional<std::string> name, RequiredName(in, "Name", "name"));
  std::lock_guard<std::mutex> lock(mu_);
  BP_ASSIGN_OR_RETURN(std::string bus, ResolveBus(in, "EventBusName", true));
  Rule* rule = FindRule(bus, *name);
  if (!rule) return RuleNotFound(*name, bus);
  return rule->data;
}

StatusOr<json::object> Registry::ListRules(const json::object& in) {
  Input input(in);
  BP_ASSIGN_OR_RETURN(auto prefix, input.String("NamePrefix"));
  if (prefix) {
    Validator v;
    v.Name("namePrefix", *prefix, 64);
    BP_RETURN_IF_ERROR(v.Finish());
  }
  std::lock_guard<std::mutex> lock(mu_);
  BP_ASSIGN_OR_RETURN(std::string bus, ResolveBus(in, "EventBusName", true));
  std::vector<std::string> names;
  for (auto it = rules_.lower_bound({bus, ""}); it != rules_.end() && it->first.first == bus;
       ++it) {
    if (!prefix || it->first.second.compare(0, prefix->size(), *prefix) == 0) {
      names.push_back(it->first.second);
    }
  }
  BP_ASSIGN_OR_RETURN(Page page, Paginate(names, in));
  json::array list;
  for (size_t i = page.begin; i < page.end; ++i) list.push_back(FindRule(bus, names[i])->data);
  return ListReply("Rules", std::move(list), page);
}

StatusOr<json::object> Registry::DeleteRule(const json::object& in) {
  Input input(in);
  BP_ASSIGN_OR_RETURN(auto name, input.String("Name"));
  BP_ASSIGN_OR_RETURN(auto force, input.Bool("Force"));
  (void)force;
  Validator v;
  v.NotNull("name", name.has_value());
  if (name) v.Name("name", *name, 64);
  BP_RETURN_IF_ERROR(v.Finish());
  std::lock_guard<std::mutex> lock(mu_);
  BP_ASSIGN_OR_RETURN(std::string bus, ResolveBus(in, "EventBusName", true));
  Rule* rule = FindRule(bus, *name);
  if (!rule) return json::object();  // idempotent
  if (!rule->targets.empty()) {
    return Status::Validation("Rule can't be deleted since it has targets.");
  }
  std::string arn = JsonString(rule->data, "Arn");
  store::WriteBatch b;
  b.Delete(store::Family::kMeta, RuleKey(bus, *name));
  b.Delete(store::Family::kMeta, TagKey(arn));
  BP_RETURN_IF_ERROR(Commit(std::move(b)));
  rules_.erase({bus, *name});
  tags_.erase(arn);
  RebuildBus(bus);
  return json::object();
}

StatusOr<json::object> Registry::SetRuleState(const json::object& in, bool enabled) {
  BP_ASSIGN_OR_RETURN(std::optional<std::string> name, RequiredName(in, "Name", "name"));
  std::lock_guard<std::mutex> lock(mu_);
  BP_ASSIGN_OR_RETURN(std::string bus, ResolveBus(in, "EventBusName", true));
  Rule* rule = FindRule(bus, *name);
  if (!rule) return RuleNotFound(*name, bus);
  json::object data = rule->data;
  data["State"] = enabled ? "ENABLED" : "DISABLED";
  store::WriteBatch b;
  b.Put(store::Family::kMeta, RuleKey(bus, *name), StoredRule(data, rule->targets));
  BP_RETURN_IF_ERROR(Commit(std::move(b)));
  rule->data = std::move(data);
  RebuildBus(bus);
  return json::object();
}

StatusOr<json::object> Registry::EnableRule(const json::object& in) {
  return SetRuleState(in, true);
}
StatusOr<json::object> Registry::DisableRule(const json::object& in) {
  return SetRuleState(in, false);
}

StatusOr<json::object> Registry::ListRuleNamesByTarget(const json::object& in) {
  Input input(in);
  BP_ASSIGN_OR_RETURN(auto target_arn, input.String("TargetArn"));
  Validator v;
  v.NotNull("targetArn", target_arn.has_value());
  if (target_arn) v.Length("targetArn", *target_arn, 1, 1600);
  BP_RETURN_IF_ERROR(v.Finish());
  std::lock_guard<std::mutex> lock(mu_);
  BP_ASSIGN_OR_RETURN(std::string bus, ResolveBus(in, "EventBusName", true));
  std::vector<std::string> names;
  for (auto it = rules_.lower_bound({bus, ""}); it != rules_.end() && it->first.first == bus;
       ++it) {
    for (const auto& t : it->second->targets) {
      if (JsonString(t, "Arn") == *target_arn) {
        names.push_back(it->first.second);
        break;
      }
    }
  }
  BP_ASSIGN_OR_RETURN(Page page, Paginate(names, in));
  json::array list;
  for (size_t i = page.begin; i < page.end; ++i) list.push_back(json::string(names[i]));
  return ListReply("RuleNames", std::move(list), page);
}

// ---- targets ----

Status Registry::ValidateTarget(const json::object& t, const std::string& bus,
                                std::string* error_code) {
  (void)error_code;
  Input input(t);
  BP_ASSIGN_OR_RETURN(auto arn, input.String("Arn"));
  auto parsed = model::ParseArn(*arn);
  bool supported = false;
  if (parsed && parsed->service == "events" && parsed->type == "api-destination") {
    std::string name = parsed->rest.substr(0, parsed->rest.find('/'));
    auto it = destinations_.find(name);
    if (it == destinations_.end() || JsonString(it->second->data, "ApiDestinationArn") != *arn) {
      return Status::Validation("API destination " + *arn + " does not exist.");
    }
    supported = true;
  } else if (parsed && parsed->service == "sqs") {
    if (options_.queue_exists && !options_.queue_exists(*arn)) {
      return Status::Validation("Queue " + *arn + " does not exist.");
    }
    supported = true;
  } else if (parsed && parsed->service == "events" && parsed->type == "event-bus") {
    if (parsed->region != options_.partition.region ||
        parsed->account != options_.partition.account) {
      return Status::Validation("Event bus targets must be in the same account and region.");
    }
    if (!buses_.count(parsed->rest)) {
      return Status::Validation("Event bus " + parsed->rest + " does not exist.");
    }
    if (parsed->rest == bus) {
      return Status::Validation("A rule cannot target the event bus it belongs to.");
    }
    for (const char* k : {"Input", "InputPath", "InputTransformer"}) {
      if (input.Has(k)) {
        return Status::Validation(
            "Input, InputPath and InputTransformer are not supported for event bus targets.");
      }
    }
    supported = true;
  }
  if (!supported) {
    return Status::Validation("Target arn " + *arn +
                              " is not supported: Bridgeport delivers to API destinations, "
                              "SQS-compatible queues and event buses.");
  }
  BP_ASSIGN_OR_RETURN(auto retry, input.Object("RetryPolicy"));
  if (retry) {
    Input r(*retry);
    BP_ASSIGN_OR_RETURN(auto attempts, r.Integer("MaximumRetryAttempts"));
    BP_ASSIGN_OR_RETURN(auto age, r.Integer("MaximumEventAgeInSeconds"));
    Validator v;
    if (attempts) v.Range("targets.member.retryPolicy.maximumRetryAttempts", *attempts, 0, 185);
    if (age) v.Range("targets.member.retryPolicy.maximumEventAgeInSeconds", *age, 60, 86400);
    BP_RETURN_IF_ERROR(v.Finish());
  }
  BP_ASSIGN_OR_RETURN(auto dlc, input.Object("DeadLetterConfig"));
  if (dlc) {
    std::string dl = JsonString(*dlc, "Arn");
    auto p = model::ParseArn(dl);
    if (!p || p->service != "sqs") {
      return Status::Validation("DeadLetterConfig Arn " + dl + " must be the ARN of an SQS queue.");
    }
    if (options_.queue_exists && !options_.queue_exists(dl)) {
      return Status::Validation("Dead-letter queue " + dl + " does not exist.");
    }
  }
  if (options_.validate_target_input) BP_RETURN_IF_ERROR(options_.validate_target_input(t));
  return Status::Ok();
}

StatusOr<json::object> Registry::PutTargets(const json::object& in) {
  Input input(in);
  BP_ASSIGN_OR_RETURN(auto rule_name, input.String("Rule"));
  BP_ASSIGN_OR_RETURN(auto targets, input.Array("Targets"));
  Validator v;
  v.NotNull("rule", rule_name.has_value());
  if (rule_name) v.Name("rule", *rule_name, 64);
  v.NotNull("targets", targets != nullptr);
  if (targets && (targets->empty() || targets->size() > 10)) {
    v.Fail(
        "Value '[...]' at 'targets' failed to satisfy constraint: Member must have length " +
        std::string(targets->empty() ? "greater than or equal to 1" : "less than or equal to 10"));
  }
  std::set<std::string> ids;
  if (targets) {
    for (size_t i = 0; i < targets->size(); ++i) {
      const auto& t = (*targets)[i];
      if (!t.is_object()) return Status::Serialization("Targets must be a list of objects.");
      std::string base = "targets." + std::to_string(i + 1) + ".member.";
      Input ti(t.as_object());
      BP_ASSIGN_OR_RETURN(auto id, ti.String("Id"));
      BP_ASSIGN_OR_RETURN(auto arn, ti.String("Arn"));
      v.NotNull(base + "id", id.has_value());
      v.NotNull(base + "arn", arn.has_value());
      if (id) {
        v.Name(base + "id", *id, 64);
        if (!ids.insert(*id).second) v.Fail("Targets contain the Id " + *id + " more than once.");
      }
      if (arn) v.Length(base + "arn", *arn, 1, 1600);
    }
  }
  BP_RETURN_IF_ERROR(v.Finish());
  for (size_t i = 0; i < targets->size(); ++i) {
    BP_RETURN_IF_ERROR(ValidateTargetParameterBlocks((*targets)[i].as_object(), i));
  }

  std::lock_guard<std::mutex> lock(mu_);
  BP_ASSIGN_OR_RETURN(std::string bus, ResolveBus(in, "EventBusName", true));
  Rule* rule = FindRule(bus, *rule_name);
  if (!rule) return RuleNotFound(*rule_name, bus);
  // Validate every target first (whole-request errors), then apply.
  for (const auto& t : *targets) {
    std::string code;
    BP_RETURN_IF_ERROR(ValidateTarget(t.as_object(), bus, &code));
  }
  std::vector<json::object> next = rule->targets;
  for (const auto& t : *targets) {
    const auto& obj = t.as_object();
    std::string id = JsonString(obj, "Id");
    bool replaced = false;
    for (auto& existing : next) {
      if (JsonString(existing, "Id") == id) {
        existing = obj;
        replaced = true;
      }
    }
    if (!replaced) next.push_back(obj);
  }
  if (static_cast<int>(next.size()) > options_.limits.max_targets_per_rule) {
    return Status::LimitExceeded(
        "The requested resource exceeds the maximum number allowed: a rule can have at most " +
        std::to_string(options_.limits.max_targets_per_rule) + " targets.");
  }
  store::WriteBatch b;
  b.Put(store::Family::kMeta, RuleKey(bus, *rule_name), StoredRule(rule->data, next));
  BP_RETURN_IF_ERROR(Commit(std::move(b)));
  rule->targets = std::move(next);
  RebuildBus(bus);
  json::object out;
  out["FailedEntryCount"] = 0;
  out["FailedEntries"] = json::array();
  return out;
}

StatusOr<json::object> Registry::RemoveTargets(const json::object& in) {
  Input input(in);
  BP_ASSIGN_OR_RETURN(auto rule_name, input.String("Rule"));
  BP_ASSIGN_OR_RETURN(auto ids, input.Array("Ids"));
  Validator v;
  v.NotNull("rule", rule_name.has_value());
  if (rule_name) v.Name("rule", *rule_name, 64);
  v.NotNull("ids", ids != nullptr);
  if (ids && (ids->empty() || ids->size() > 100)) {
    v.Fail(
        "Value '[...]' at 'ids' failed to satisfy constraint: Member must have length between 1 "
        "and 100");
  }
  if (ids) {
    for (size_t i = 0; i < ids->size(); ++i) {
      if (!(*ids)[i].is_string()) return Status::Serialization("Ids must be a list of strings.");
      v.Name("ids." + std::to_string(i + 1) + ".member", (*ids)[i].as_string(), 64);
    }
  }
  BP_RETURN_IF_ERROR(v.Finish());
  std::lock_guard<std::mutex> lock(mu_);
  BP_ASSIGN_OR_RETURN(std::string bus, ResolveBus(in, "EventBusName", true));
  Rule* rule = FindRule(bus, *rule_name);
  if (!rule) return RuleNotFound(*rule_name, bus);
  std::vector<json::object> next;
  std::set<std::string> remove;
  for (const auto& id : *ids) remove.insert(std::string(id.as_string()));
  json::array failed;
  std::set<std::string> present;
  for (auto& t : rule->targets) {
    std::string id = JsonString(t, "Id");
    present.insert(id);
    if (!remove.count(id)) next.push_back(t);
  }
  for (const auto& id : remove) {
    if (!present.count(id)) {
      json::object f;
      f["TargetId"] = id;
      f["ErrorCode"] = "ResourceNotFoundException";
      f["ErrorMessage"] = "Target " + id + " does not exist on rule " + *rule_name + ".";
      failed.push_back(std::move(f));
    }
  }
  store::WriteBatch b;
  b.Put(store::Family::kMeta, RuleKey(bus, *rule_name), StoredRule(rule->data, next));
  BP_RETURN_IF_ERROR(Commit(std::move(b)));
  rule->targets = std::move(next);
  RebuildBus(bus);
  json::object out;
  out["FailedEntryCount"] = static_cast<int64_t>(failed.size());
  out["FailedEntries"] = std::move(failed);
  return out;
}

StatusOr<json::object> Registry::ListTargetsByRule(const json::object& in) {
  BP_ASSIGN_OR_RETURN(std::optional<std::string> rule_name, RequiredName(in, "Rule", "rule"));
  std::lock_guard<std::mutex> lock(mu_);
  BP_ASSIGN_OR_RETURN(std::string bus, ResolveBus(in, "EventBusName", true));
  Rule* rule = FindRule(bus, *rule_name);
  if (!rule) return RuleNotFound(*rule_name, bus);
  std::vector<std::string> ids;
  std::map<std::string, const json::object*> by_id;
  for (auto& t : rule->targets) {
    ids.push_back(JsonString(t, "Id"));
    by_id[ids.back()] = &t;
  }
  std::sort(ids.begin(), ids.end());
  BP_ASSIGN_OR_RETURN(Page page, Paginate(ids, in));
  json::array list;
  for (size_t i = page.begin; i < page.end; ++i) list.push_back(*by_id[ids[i]]);
  return ListReply("Targets", std::move(list), page);
}

}  // namespace bp::registry
