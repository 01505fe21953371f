#include "secrets/secret_store.h"

#include <boost/json.hpp>

#include "common/ids.h"
#include "model/validation.h"
#include "secrets/secrets_internal.h"

namespace bp::secrets {

namespace json = boost::json;

namespace {

constexpr std::string_view kKeyPrefix = "secretsmanager/secret/";
constexpr size_t kMaxSecretBytes = 65536;

std::string Key(std::string_view name) { return std::string(kKeyPrefix) + std::string(name); }

}  // namespace

std::string Str(const json::object& o, std::string_view k) {
  const json::value* v = o.if_contains(k);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

Status MarkedForDeletionStatus() {
  return Status(
      StatusCode::kInvalidState,
      "You can't perform this operation on the secret because it was marked for deletion.");
}

std::string_view ExceptionName(StatusCode code) {
  switch (code) {
    case StatusCode::kNotFound:
      return "ResourceNotFoundException";
    case StatusCode::kAlreadyExists:
      return "ResourceExistsException";
    case StatusCode::kValidation:
      return "InvalidParameterException";
    case StatusCode::kSerialization:
      return "SerializationException";
    case StatusCode::kInvalidState:
      return "InvalidRequestException";
    case StatusCode::kLimitExceeded:
      return "LimitExceededException";
    default:
      return "InternalServiceError";
  }
}

SecretStore::SecretStore(store::Store& store, const Clock& clock, SecretStoreOptions options,
                         Sealer sealer)
    : store_(store), clock_(clock), options_(std::move(options)), sealer_(std::move(sealer)) {}

SecretStore::~SecretStore() = default;

StatusOr<std::unique_ptr<SecretStore>> SecretStore::Open(store::Store& store, const Clock& clock,
                                                         SecretStoreOptions options,
                                                         Sealer sealer) {
  std::unique_ptr<SecretStore> s(
      new SecretStore(store, clock, std::move(options), std::move(sealer)));
  BP_RETURN_IF_ERROR(s->Load());
  return s;
}

Status SecretStore::Load() {
  std::string begin(kKeyPrefix);
  Status inner = Status::Ok();
  Status scan = store_.Scan(
      store::Family::kMeta, begin, store::PrefixEnd(begin),
      [&](std::string_view key, std::string_view value) {
        auto plain = sealer_.open(value, key);
        if (!plain.ok()) {
          inner = Status::Corruption("secret record " + std::string(key) + " cannot be opened");
          return false;
        }
        json::error_code ec;
        json::value v = json::parse(*plain, ec);
        if (ec || !v.is_object()) {
          inner = Status::Corruption("secret record is not JSON");
          return false;
        }
        auto s = std::make_unique<Secret>();
        s->data = std::move(v.as_object());
        secrets_[s->name()] = std::move(s);
        return true;
      });
  BP_RETURN_IF_ERROR(scan);
  return inner;
}

Status SecretStore::Save(const Secret& s) {
  store::WriteBatch b;
  std::string key = Key(s.name());
  b.Put(store::Family::kMeta, key, sealer_.seal(json::serialize(s.data), key));
  return store_.Write(std::move(b));
}

Status SecretStore::Purge(const std::string& name) {
  store::WriteBatch b;
  b.Delete(store::Family::kMeta, Key(name));
  BP_RETURN_IF_ERROR(store_.Write(std::move(b)));
  secrets_.erase(name);
  return Status::Ok();
}

void SecretStore::PurgeExpired() {
  double now = clock_.NowMicros() / 1e6;
  std::vector<std::string> expired;
  for (const auto& [name, s] : secrets_) {
    const json::value* until = s->data.if_contains("PurgeAfter");
    if (until && until->is_number() && until->to_number<double>() <= now) expired.push_back(name);
  }
  for (const auto& name : expired) Purge(name).IgnoreError();  // retried on the next access
}

// A secret id is a name, a full ARN, or an ARN without the random suffix.
SecretStore::Secret* SecretStore::Find(std::string_view id, bool include_deleted) {
  PurgeExpired();
  Secret* found = nullptr;
  if (id.starts_with("arn:")) {
    for (auto& [name, s] : secrets_) {
      std::string arn = s->arn();
      if (arn == id ||
          (arn.size() == id.size() + 7 && arn.starts_with(id) && arn[id.size()] == '-')) {
        found = s.get();
        break;
      }
    }
  } else if (auto it = secrets_.find(std::string(id)); it != secrets_.end()) {
    found = it->second.get();
  }
  if (found && found->deleted() && !include_deleted) return nullptr;
  return found;
}

// Adds a version from SecretString/SecretBinary (+ClientRequestToken, VersionStages).
Status SecretStore::AddVersion(Secret& s, const Json& in, bool required) {
  model::Input input(in);
  BP_ASSIGN_OR_RETURN(auto str, input.String("SecretString"));
  BP_ASSIGN_OR_RETURN(auto bin, input.String("SecretBinary"));
  BP_ASSIGN_OR_RETURN(auto token, input.String("ClientRequestToken"));
  BP_ASSIGN_OR_RETURN(const json::array* stages_in, input.Array("VersionStages"));
  if (str && bin) {
    return Status::Validation(
        "You can't specify both a binary secret value and a string secret "
        "value in the same secret.");
  }
  if (!str && !bin) {
    if (required)
      return Status::Validation("You must provide either SecretString or SecretBinary.");
    return Status::Ok();
  }
  const std::string& value = str ? *str : *bin;
  if (value.size() > kMaxSecretBytes) {
    return Status::Validation("The secret value exceeds the maximum size of 65536 bytes.");
  }
  std::string version_id = token.value_or(NewUuid());
  if (version_id.size() < 32 || version_id.size() > 64) {
    return Status::Validation("ClientRequestToken must be 32-64 characters long.");
  }
  json::object& versions = s.versions();
  if (json::value* existing = versions.if_contains(version_id)) {
    const json::object& e = existing->as_object();
    bool same = str ? Str(e, "SecretString") == *str : Str(e, "SecretBinary") == *bin;
    if (same) return Status::Ok();  // an idempotent retry
    return Status(StatusCode::kAlreadyExists,
                  "A version with this ClientRequestToken already exists with a different value.");
  }
  json::array stages;
  if (stages_in) {
    for (const auto& st : *stages_in) {
      if (st.is_string()) stages.push_back(st);
    }
  } else {
    stages.push_back("AWSCURRENT");
  }
  bool makes_current = std::any_of(stages.begin(), stages.end(),
                                   [](const json::value& v) { return v == "AWSCURRENT"; });
  // Move labels: the new version takes its labels from every other version; AWSPREVIOUS goes to
  // the version that loses AWSCURRENT.
  std::string previous;
  for (auto& kv : versions) {
    json::array& vs = kv.value().as_object()["Stages"].as_array();
    json::array kept;
    for (const auto& label : vs) {
      bool taken = std::find(stages.begin(), stages.end(), label) != stages.end();
      if (taken && label == "AWSCURRENT") previous = kv.key();
      if (!taken && !(makes_current && label == "AWSPREVIOUS")) kept.push_back(label);
    }
    vs = std::move(kept);
  }
  if (!previous.empty())
    versions[previous].as_object()["Stages"].as_array().push_back("AWSPREVIOUS");
  // Versions left without a label are dropped (AWS deprecates them; Bridgeport forgets them).
  std::vector<std::string> unlabeled;
  for (const auto& kv : versions) {
    if (kv.value().as_object().at("Stages").as_array().empty()) unlabeled.emplace_back(kv.key());
  }
  for (const auto& id : unlabeled) versions.erase(id);
  json::object v;
  v[str ? "SecretString" : "SecretBinary"] = value;
  v["CreatedDate"] = clock_.NowMicros() / 1e6;
  v["Stages"] = std::move(stages);
  versions[version_id] = std::move(v);
  s.data["LastChangedDate"] = clock_.NowMicros() / 1e6;
  s.data["CurrentVersion"] = makes_current ? version_id : Str(s.data, "CurrentVersion");
  return Status::Ok();
}

}  // namespace bp::secrets
