// Tags (TagResource, UntagResource, ListTagsForResource).
#include <boost/json.hpp>

#include "common/ids.h"
#include "common/log.h"
#include "model/validation.h"
#include "registry/registry.h"
#include "registry/registry_internal.h"
#include "registry/settings.h"

namespace bp::registry {

namespace json = boost::json;
using model::Input;
using model::Validator;

// ---- tags ----

std::map<std::string, std::string> Registry::TagsOf(const std::string& arn) const {
  auto it = tags_.find(arn);
  return it == tags_.end() ? std::map<std::string, std::string>() : it->second;
}

bool Registry::ArnExists(std::string_view arn) const {
  for (auto& [n, b] : buses_)
    if (JsonString(b, "Arn") == arn) return true;
  for (auto& [k, r] : rules_)
    if (JsonString(r->data, "Arn") == arn) return true;
  for (auto& [n, c] : connections_)
    if (JsonString(c->data, "ConnectionArn") == arn) return true;
  for (auto& [n, d] : destinations_)
    if (JsonString(d->data, "ApiDestinationArn") == arn) return true;
  return false;
}

StatusOr<json::object> Registry::TagResource(const json::object& in) {
  Input input(in);
  BP_ASSIGN_OR_RETURN(auto arn, input.String("ResourceARN"));
  BP_ASSIGN_OR_RETURN(auto tags, input.Array("Tags"));
  Validator v;
  v.NotNull("resourceARN", arn.has_value());
  if (arn) v.Length("resourceARN", *arn, 1, 1600);
  v.NotNull("tags", tags != nullptr);
  BP_RETURN_IF_ERROR(v.Finish());
  BP_RETURN_IF_ERROR(ValidateTags(tags, options_.limits.max_tags));
  for (const auto& t : *tags) {
    BP_RETURN_IF_ERROR(
        ValidateSettingTag(JsonString(t.as_object(), "Key"), JsonString(t.as_object(), "Value")));
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (!ArnExists(*arn)) return Status::NotFound("Resource " + *arn + " does not exist.");
  auto next = TagsOf(*arn);
  for (const auto& t : *tags)
    next[JsonString(t.as_object(), "Key")] = JsonString(t.as_object(), "Value");
  if (static_cast<int>(next.size()) > options_.limits.max_tags) {
    return Status::LimitExceeded("The number of tags exceeds the limit of " +
                                 std::to_string(options_.limits.max_tags) + ".");
  }
  json::object tobj;
  for (auto& [k, val] : next) tobj[k] = val;
  store::WriteBatch b;
  b.Put(store::Family::kMeta, TagKey(*arn), json::serialize(tobj));
  BP_RETURN_IF_ERROR(Commit(std::move(b)));
  tags_[*arn] = std::move(next);
  // Settings tags change routing/delivery behaviour: republish whatever carries them.
  for (auto& [n, bus] : buses_) RebuildBus(n);
  for (auto& [n, c] : connections_) PublishConnection(n);
  for (auto& [n, d] : destinations_) PublishDestination(n);
  return json::object();
}

StatusOr<json::object> Registry::UntagResource(const json::object& in) {
  Input input(in);
  BP_ASSIGN_OR_RETURN(auto arn, input.String("ResourceARN"));
  BP_ASSIGN_OR_RETURN(auto keys, input.Array("TagKeys"));
  Validator v;
  v.NotNull("resourceARN", arn.has_value());
  v.NotNull("tagKeys", keys != nullptr);
  BP_RETURN_IF_ERROR(v.Finish());
  std::lock_guard<std::mutex> lock(mu_);
  if (!ArnExists(*arn)) return Status::NotFound("Resource " + *arn + " does not exist.");
  auto next = TagsOf(*arn);
  for (const auto& k : *keys) {
    if (k.is_string()) next.erase(std::string(k.as_string()));
  }
  json::object tobj;
  for (auto& [k, val] : next) tobj[k] = val;
  store::WriteBatch b;
  if (next.empty()) {
    b.Delete(store::Family::kMeta, TagKey(*arn));
  } else {
    b.Put(store::Family::kMeta, TagKey(*arn), json::serialize(tobj));
  }
  BP_RETURN_IF_ERROR(Commit(std::move(b)));
  if (next.empty()) {
    tags_.erase(*arn);
  } else {
    tags_[*arn] = std::move(next);
  }
  for (auto& [n, bus] : buses_) RebuildBus(n);
  for (auto& [n, c] : connections_) PublishConnection(n);
  for (auto& [n, d] : destinations_) PublishDestination(n);
  return json::object();
}

StatusOr<json::object> Registry::ListTagsForResource(const json::object& in) {
  Input input(in);
  BP_ASSIGN_OR_RETURN(auto arn, input.String("ResourceARN"));
  Validator v;
  v.NotNull("resourceARN", arn.has_value());
  BP_RETURN_IF_ERROR(v.Finish());
  std::lock_guard<std::mutex> lock(mu_);
  if (!ArnExists(*arn)) return Status::NotFound("Resource " + *arn + " does not exist.");
  json::array list;
  for (auto& [k, val] : TagsOf(*arn)) {
    json::object t;
    t["Key"] = k;
    t["Value"] = val;
    list.push_back(std::move(t));
  }
  json::object out;
  out["Tags"] = std::move(list);
  return out;
}

}  // namespace bp::registry
