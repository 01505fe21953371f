// The Secrets Manager operations of SecretStore.
#include <boost/json.hpp>

#include "common/ids.h"
#include "model/validation.h"
#include "secrets/secret_store.h"
#include "secrets/secrets_internal.h"

namespace bp::secrets {

namespace json = boost::json;

namespace {

constexpr int64_t kDaySeconds = 86400;

bool ValidName(std::string_view n) {
  if (n.empty() || n.size() > 512) return false;
  for (char c : n) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              std::string_view("/_+=.@-").find(c) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

std::string RandomSuffix() {
  PasswordOptions o;
  o.length = 6;
  o.exclude_numbers = true;
  o.exclude_punctuation = true;
  o.require_each_included_type = false;
  auto pw = GeneratePassword(o);
  return pw.ok() ? *pw : std::string("AbCdEf");
}

StatusOr<std::string> SecretId(const json::object& in) {
  model::Input input(in);
  BP_ASSIGN_OR_RETURN(auto id, input.String("SecretId"));
  if (!id || id->empty()) {
    return Status::Validation(
        "1 validation error detected: Value null at 'secretId' failed to "
        "satisfy constraint: Member must not be null");
  }
  return *id;
}

Status NotFound() { return Status::NotFound("Secrets Manager can't find the specified secret."); }

}  // namespace

StatusOr<json::object> SecretStore::CreateSecret(const Json& in) {
  model::Input input(in);
  BP_ASSIGN_OR_RETURN(auto name, input.String("Name"));
  BP_ASSIGN_OR_RETURN(auto description, input.String("Description"));
  BP_ASSIGN_OR_RETURN(auto kms, input.String("KmsKeyId"));
  BP_ASSIGN_OR_RETURN(const json::array* tags, input.Array("Tags"));
  if (!name) {
    return Status::Validation(
        "1 validation error detected: Value null at 'name' failed to "
        "satisfy constraint: Member must not be null");
  }
  if (!ValidName(*name)) {
    return Status::Validation(
        "Invalid name. Must be a valid name containing alphanumeric "
        "characters, or any of the following: -/_+=.@!");
  }
  if (description && description->size() > 2048) {
    return Status::Validation("Description must be at most 2048 characters.");
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (Secret* existing = Find(*name, true)) {
    if (existing->deleted()) {
      return Status(StatusCode::kInvalidState,
                    "You can't create this secret because a secret with this name is already "
                    "scheduled for deletion.");
    }
    return Status::AlreadyExists("The operation failed because the secret " + *name +
                                 " already exists.");
  }
  auto s = std::make_unique<Secret>();
  double now = clock_.NowMicros() / 1e6;
  s->data["Name"] = *name;
  s->data["ARN"] = "arn:aws:secretsmanager:" + options_.region + ":" + options_.account +
                   ":secret:" + *name + "-" + RandomSuffix();
  if (description) s->data["Description"] = *description;
  if (kms) s->data["KmsKeyId"] = *kms;
  if (tags) s->data["Tags"] = *tags;
  s->data["CreatedDate"] = now;
  s->data["LastChangedDate"] = now;
  BP_RETURN_IF_ERROR(AddVersion(*s, in, false));
  BP_RETURN_IF_ERROR(Save(*s));
  json::object out;
  out["ARN"] = s->arn();
  out["Name"] = *name;
  if (s->data.contains("CurrentVersion")) out["VersionId"] = s->data["CurrentVersion"];
  secrets_[*name] = std::move(s);
  return out;
}

StatusOr<json::object> SecretStore::GetSecretValue(const Json& in) {
  BP_ASSIGN_OR_RETURN(std::string id, SecretId(in));
  model::Input input(in);
  BP_ASSIGN_OR_RETURN(auto version_id, input.String("VersionId"));
  BP_ASSIGN_OR_RETURN(auto stage, input.String("VersionStage"));
  std::lock_guard<std::mutex> lock(mu_);
  Secret* s = Find(id, true);
  if (!s) return NotFound();
  if (s->deleted()) return MarkedForDeletionStatus();
  const json::object* chosen = nullptr;
  std::string chosen_id;
  std::string want_stage = stage.value_or(version_id ? "" : "AWSCURRENT");
  for (const auto& kv : s->versions()) {
    const json::object& v = kv.value().as_object();
    if (version_id && kv.key() != *version_id) continue;
    if (!want_stage.empty()) {
      const json::array& st = v.at("Stages").as_array();
      if (std::find(st.begin(), st.end(), json::value(want_stage)) == st.end()) continue;
    }
    chosen = &v;
    chosen_id = kv.key();
  }
  if (!chosen) {
    return Status::NotFound(
        "Secrets Manager can't find the specified secret value for " +
        (version_id ? "VersionId: " + *version_id : "staging label: " + want_stage));
  }
  json::object out;
  out["ARN"] = s->arn();
  out["Name"] = s->name();
  out["VersionId"] = chosen_id;
  if (chosen->contains("SecretString")) out["SecretString"] = chosen->at("SecretString");
  if (chosen->contains("SecretBinary")) out["SecretBinary"] = chosen->at("SecretBinary");
  out["VersionStages"] = chosen->at("Stages");
  out["CreatedDate"] = chosen->at("CreatedDate");
  return out;
}

StatusOr<json::object> SecretStore::PutSecretValue(const Json& in) {
  BP_ASSIGN_OR_RETURN(std::string id, SecretId(in));
  std::lock_guard<std::mutex> lock(mu_);
  Secret* s = Find(id, true);
  if (!s) return NotFound();
  if (s->deleted()) return MarkedForDeletionStatus();
  Secret updated = *s;
  BP_RETURN_IF_ERROR(AddVersion(updated, in, true));
  BP_RETURN_IF_ERROR(Save(updated));
  *s = std::move(updated);
  json::object out;
  out["ARN"] = s->arn();
  out["Name"] = s->name();
  std::string token = Str(in, "ClientRequestToken");
  std::string vid = token.empty() ? Str(s->data, "CurrentVersion") : token;
  out["VersionId"] = vid;
  if (const json::value* v = s->versions().if_contains(vid)) {
    out["VersionStages"] = v->as_object().at("Stages");
  }
  return out;
}

json::object SecretStore::Describe(const Secret& s) const {
  json::object out;
  for (const char* k : {"ARN", "Name", "Description", "KmsKeyId", "Tags", "CreatedDate",
                        "LastChangedDate", "DeletedDate"}) {
    if (const json::value* v = s.data.if_contains(k)) out[k] = *v;
  }
  json::object stages;
  if (const json::value* vs = s.data.if_contains("Versions")) {
    for (const auto& kv : vs->as_object()) stages[kv.key()] = kv.value().as_object().at("Stages");
  }
  out["VersionIdsToStages"] = std::move(stages);
  return out;
}

StatusOr<json::object> SecretStore::DescribeSecret(const Json& in) {
  BP_ASSIGN_OR_RETURN(std::string id, SecretId(in));
  std::lock_guard<std::mutex> lock(mu_);
  Secret* s = Find(id, true);
  if (!s) return NotFound();
  return Describe(*s);
}

StatusOr<json::object> SecretStore::ListSecrets(const Json& in) {
  model::Input input(in);
  BP_ASSIGN_OR_RETURN(auto max, input.Integer("MaxResults"));
  BP_ASSIGN_OR_RETURN(auto token, input.String("NextToken"));
  BP_ASSIGN_OR_RETURN(auto planned, input.Bool("IncludePlannedDeletion"));
  BP_ASSIGN_OR_RETURN(const json::array* filters, input.Array("Filters"));
  if (max && (*max < 1 || *max > 100)) {
    return Status::Validation("MaxResults must be between 1 and 100.");
  }
  std::lock_guard<std::mutex> lock(mu_);
  PurgeExpired();
  json::array list;
  std::string next;
  for (const auto& [name, s] : secrets_) {
    if (token && name <= *token) continue;
    if (s->deleted() && !planned.value_or(false)) continue;
    bool match = true;
    if (filters) {
      for (const auto& f : *filters) {
        if (!f.is_object()) continue;
        std::string key = Str(f.as_object(), "Key");
        const json::value* values = f.as_object().if_contains("Values");
        if (!values || !values->is_array()) continue;
        bool any = false;
        for (const auto& v : values->as_array()) {
          if (!v.is_string()) continue;
          std::string_view want = v.as_string();
          std::string field = key == "description" ? Str(s->data, "Description") : name;
          if (key == "name" || key == "description" || key == "all") any |= field.starts_with(want);
        }
        match &= any;
      }
    }
    if (!match) continue;
    if (max && static_cast<int64_t>(list.size()) == *max) {
      next = std::string(list.back().as_object().at("Name").as_string());
      break;
    }
    json::object d = Describe(*s);
    d["SecretVersionsToStages"] = d["VersionIdsToStages"];
    d.erase("VersionIdsToStages");
    list.push_back(std::move(d));
  }
  json::object out;
  out["SecretList"] = std::move(list);
  if (!next.empty()) out["NextToken"] = next;
  return out;
}

StatusOr<json::object> SecretStore::DeleteSecret(const Json& in) {
  BP_ASSIGN_OR_RETURN(std::string id, SecretId(in));
  model::Input input(in);
  BP_ASSIGN_OR_RETURN(auto window, input.Integer("RecoveryWindowInDays"));
  BP_ASSIGN_OR_RETURN(auto force, input.Bool("ForceDeleteWithoutRecovery"));
  if (window && force.value_or(false)) {
    return Status::Validation(
        "You can't use ForceDeleteWithoutRecovery in conjunction with "
        "RecoveryWindowInDays.");
  }
  if (window && (*window < 7 || *window > 30)) {
    return Status::Validation(
        "The RecoveryWindowInDays value must be between 7 and 30 days "
        "(inclusive).");
  }
  std::lock_guard<std::mutex> lock(mu_);
  Secret* s = Find(id, true);
  if (!s) return NotFound();
  json::object out;
  out["ARN"] = s->arn();
  out["Name"] = s->name();
  double now = clock_.NowMicros() / 1e6;
  if (force.value_or(false)) {
    BP_RETURN_IF_ERROR(Purge(s->name()));
    out["DeletionDate"] = now;
    return out;
  }
  if (s->deleted()) return MarkedForDeletionStatus();
  Secret updated = *s;
  double purge = now + static_cast<double>(window.value_or(30) * kDaySeconds);
  updated.data["DeletedDate"] = now;
  updated.data["PurgeAfter"] = purge;
  BP_RETURN_IF_ERROR(Save(updated));
  *s = std::move(updated);
  out["DeletionDate"] = purge;
  return out;
}

StatusOr<json::object> SecretStore::RestoreSecret(const Json& in) {
  BP_ASSIGN_OR_RETURN(std::string id, SecretId(in));
  std::lock_guard<std::mutex> lock(mu_);
  Secret* s = Find(id, true);
  if (!s) return NotFound();
  Secret updated = *s;
  updated.data.erase("DeletedDate");
  updated.data.erase("PurgeAfter");
  BP_RETURN_IF_ERROR(Save(updated));
  *s = std::move(updated);
  return json::object{{"ARN", json::value(s->arn())}, {"Name", json::value(s->name())}};
}

StatusOr<json::object> SecretStore::UpdateSecret(const Json& in) {
  BP_ASSIGN_OR_RETURN(std::string id, SecretId(in));
  model::Input input(in);
  BP_ASSIGN_OR_RETURN(auto description, input.String("Description"));
  BP_ASSIGN_OR_RETURN(auto kms, input.String("KmsKeyId"));
  std::lock_guard<std::mutex> lock(mu_);
  Secret* s = Find(id, true);
  if (!s) return NotFound();
  if (s->deleted()) return MarkedForDeletionStatus();
  Secret updated = *s;
  if (description) updated.data["Description"] = *description;
  if (kms) updated.data["KmsKeyId"] = *kms;
  BP_RETURN_IF_ERROR(AddVersion(updated, in, false));
  updated.data["LastChangedDate"] = clock_.NowMicros() / 1e6;
  BP_RETURN_IF_ERROR(Save(updated));
  *s = std::move(updated);
  json::object out;
  out["ARN"] = s->arn();
  out["Name"] = s->name();
  if (input.Has("SecretString") || input.Has("SecretBinary")) {
    std::string token = Str(in, "ClientRequestToken");
    out["VersionId"] = token.empty() ? Str(s->data, "CurrentVersion") : token;
  }
  return out;
}

StatusOr<json::object> SecretStore::GetRandomPassword(const Json& in) {
  BP_ASSIGN_OR_RETURN(PasswordOptions options, ParsePasswordOptions(in));
  BP_ASSIGN_OR_RETURN(std::string pw, GeneratePassword(options));
  return json::object{{"RandomPassword", pw}};
}

StatusOr<std::string> SecretStore::ResolveValue(std::string_view secret_id,
                                                std::string_view json_key, std::string_view stage,
                                                std::string_view version_id) {
  json::object in{{"SecretId", secret_id}};
  if (!stage.empty()) in["VersionStage"] = stage;
  if (!version_id.empty()) in["VersionId"] = version_id;
  BP_ASSIGN_OR_RETURN(json::object v, GetSecretValue(in));
  std::string value = Str(v, "SecretString");
  if (json_key.empty()) return value;
  json::error_code ec;
  json::value parsed = json::parse(value, ec);
  if (ec || !parsed.is_object()) {
    return Status::Validation("The secret's SecretString is not a JSON object, so the key " +
                              std::string(json_key) + " cannot be selected.");
  }
  const json::value* member = parsed.as_object().if_contains(json_key);
  if (!member) {
    return Status::Validation("The secret's SecretString has no key " + std::string(json_key) +
                              ".");
  }
  return member->is_string() ? std::string(member->as_string()) : json::serialize(*member);
}

}  // namespace bp::secrets
