// ListPipes and the tag operations of PipeService.
#include <boost/json.hpp>

#include "pipes/pipe_service.h"

namespace bp::pipes {

namespace json = boost::json;

namespace {

std::string StrOf(const json::object& o, std::string_view k) {
  auto it = o.find(k);
  return it != o.end() && it->value().is_string() ? std::string(it->value().as_string())
                                                  : std::string();
}

Status BadQuery(std::string_view value, std::string_view field, std::string_view constraint) {
  return Status::Validation("1 validation error detected: Value '" + std::string(value) + "' at '" +
                            std::string(field) +
                            "' failed to satisfy constraint: " + std::string(constraint));
}

}  // namespace

StatusOr<PipeService::Json> PipeService::ListPipes(const Query& q) {
  auto get = [&](const char* k) {
    auto it = q.find(k);
    return it == q.end() ? std::string() : it->second;
  };
  std::string name_prefix = get("NamePrefix"), source_prefix = get("SourcePrefix"),
              target_prefix = get("TargetPrefix"), desired = get("DesiredState"),
              current = get("CurrentState"), token = get("NextToken"), limit_text = get("Limit");
  int limit = 100;
  if (!limit_text.empty()) {
    char* end = nullptr;
    long v = std::strtol(limit_text.c_str(), &end, 10);
    if (*end != '\0' || v < 1 || v > 100) {
      return BadQuery(limit_text, "limit", "Member must have value between 1 and 100");
    }
    limit = static_cast<int>(v);
  }
  if (!desired.empty() && desired != "RUNNING" && desired != "STOPPED") {
    return BadQuery(desired, "desiredState",
                    "Member must satisfy enum value set: [RUNNING, STOPPED]");
  }
  std::lock_guard<std::mutex> lock(mu_);
  json::array list;
  std::string next;
  auto it = token.empty() ? pipes_.begin() : pipes_.lower_bound(token);
  for (; it != pipes_.end(); ++it) {
    const Json& r = it->second->record;
    std::string cur = StrOf(r, "CurrentState");
    std::string want = cur == "DELETING" ? "DELETED" : StrOf(r, "DesiredState");
    if (!it->first.starts_with(name_prefix)) continue;
    if (!StrOf(r, "Source").starts_with(source_prefix)) continue;
    if (!StrOf(r, "Target").starts_with(target_prefix)) continue;
    if (!desired.empty() && want != desired) continue;
    if (!current.empty() && cur != current) continue;
    if (static_cast<int>(list.size()) == limit) {
      next = it->first;
      break;
    }
    json::object p;
    for (const char* k : {"Name", "Arn", "DesiredState", "CurrentState", "StateReason",
                          "CreationTime", "LastModifiedTime", "Source", "Target", "Enrichment"}) {
      if (auto f = r.find(k); f != r.end()) p[k] = f->value();
    }
    p["DesiredState"] = want;
    list.push_back(std::move(p));
  }
  Json out;
  out["Pipes"] = std::move(list);
  if (!next.empty()) out["NextToken"] = next;
  return out;
}

std::string PipeService::NameFromArn(const std::string& arn) const {
  std::string prefix =
      "arn:aws:pipes:" + d_.partition.region + ":" + d_.partition.account + ":pipe/";
  return arn.starts_with(prefix) ? arn.substr(prefix.size()) : std::string();
}

StatusOr<PipeService::Json> PipeService::TagResource(const std::string& arn, const Json& body) {
  auto tags_it = body.find("tags");
  if (tags_it == body.end() || !tags_it->value().is_object()) {
    return BadQuery("null", "tags", "Member must not be null");
  }
  std::lock_guard<std::mutex> lock(mu_);
  Entry* e = Find(NameFromArn(arn));
  if (!e) return Status::NotFound("Resource " + arn + " does not exist.");
  Json r = e->record;
  json::object tags =
      r.contains("Tags") && r["Tags"].is_object() ? r["Tags"].as_object() : json::object();
  for (const auto& kv : tags_it->value().as_object()) {
    if (kv.key().empty() || kv.key().size() > 128 || !kv.value().is_string() ||
        kv.value().as_string().size() > 256) {
      return BadQuery(kv.key(), "tags",
                      "Map keys must have length 1 to 128 and values length 0 to 256");
    }
    tags[kv.key()] = kv.value();
  }
  if (tags.size() > 50) return BadQuery("", "tags", "A pipe can have at most 50 tags");
  r["Tags"] = std::move(tags);
  BP_RETURN_IF_ERROR(Persist(r));
  e->record = std::move(r);
  return Json();
}

StatusOr<PipeService::Json> PipeService::UntagResource(const std::string& arn,
                                                       const std::vector<std::string>& keys) {
  std::lock_guard<std::mutex> lock(mu_);
  Entry* e = Find(NameFromArn(arn));
  if (!e) return Status::NotFound("Resource " + arn + " does not exist.");
  Json r = e->record;
  if (r.contains("Tags") && r["Tags"].is_object()) {
    for (const auto& k : keys) r["Tags"].as_object().erase(k);
    if (r["Tags"].as_object().empty()) r.erase("Tags");
  }
  BP_RETURN_IF_ERROR(Persist(r));
  e->record = std::move(r);
  return Json();
}

StatusOr<PipeService::Json> PipeService::ListTagsForResource(const std::string& arn) {
  std::lock_guard<std::mutex> lock(mu_);
  Entry* e = Find(NameFromArn(arn));
  if (!e) return Status::NotFound("Resource " + arn + " does not exist.");
  Json out;
  auto it = e->record.find("Tags");
  out["tags"] = it != e->record.end() ? it->value() : json::object();
  return out;
}

}  // namespace bp::pipes
