// SecretStore: the Secrets Manager control plane (secrets, their versions and staging labels).
//
// Each operation takes the decoded AWS JSON 1.1 request object and returns the response object
// (api-style, like registry::Registry). Records live in the store's kMeta family, each sealed
// whole with the server's master key (the `sealer`), so secret values never sit in the store in
// clear text; callers must never log request or response bodies of GetSecretValue/CreateSecret/
// PutSecretValue/UpdateSecret.
//
// Versions: PutSecretValue/UpdateSecret with a value add a version labelled AWSCURRENT, move
// AWSPREVIOUS to the version that was current, and drop versions left without a label.
// Deletion with a recovery window marks the secret (DeletedDate); it is purged lazily once the
// window has passed. ForceDeleteWithoutRecovery purges at once.
//
// Thread-safety: all methods are thread-safe (one mutex; each change is durable before return).
#pragma once

#include <boost/json/object.hpp>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "common/clock.h"
#include "common/status.h"
#include "store/store.h"

namespace bp::secrets {

// Seals/opens a record (AES-GCM with the master key in production). `aad` binds it to its key.
struct Sealer {
  std::function<std::string(std::string_view plaintext, std::string_view aad)> seal;
  std::function<StatusOr<std::string>(std::string_view sealed, std::string_view aad)> open;
};

struct SecretStoreOptions {
  std::string region = "us-east-1";
  std::string account = "000000000000";
};

// The Secrets Manager exception name for a status: kNotFound ResourceNotFoundException,
// kAlreadyExists ResourceExistsException, kValidation InvalidParameterException, kInvalidState
// InvalidRequestException, kLimitExceeded LimitExceededException, store faults
// InternalServiceError.
std::string_view ExceptionName(StatusCode code);

// Options of GetRandomPassword / GenerateSecretString.
struct PasswordOptions {
  int length = 32;
  std::string exclude_characters;
  bool exclude_numbers = false, exclude_punctuation = false, exclude_uppercase = false,
       exclude_lowercase = false, include_space = false, require_each_included_type = true;
};
StatusOr<PasswordOptions> ParsePasswordOptions(const boost::json::object& in);
StatusOr<std::string> GeneratePassword(const PasswordOptions& options);

class SecretStore {
 public:
  using Json = boost::json::object;
  static StatusOr<std::unique_ptr<SecretStore>> Open(store::Store& store, const Clock& clock,
                                                     SecretStoreOptions options, Sealer sealer);
  ~SecretStore();

  StatusOr<Json> CreateSecret(const Json& in);
  StatusOr<Json> GetSecretValue(const Json& in);
  StatusOr<Json> PutSecretValue(const Json& in);
  StatusOr<Json> DescribeSecret(const Json& in);
  StatusOr<Json> ListSecrets(const Json& in);
  StatusOr<Json> DeleteSecret(const Json& in);
  StatusOr<Json> UpdateSecret(const Json& in);
  StatusOr<Json> RestoreSecret(const Json& in);
  StatusOr<Json> GetRandomPassword(const Json& in);

  // The value of a secret for `{{resolve:secretsmanager:...}}`: `json_key` selects a top-level
  // member of a JSON SecretString (empty: the whole string); `stage`/`version_id` pick a version
  // (empty: AWSCURRENT).
  StatusOr<std::string> ResolveValue(std::string_view secret_id, std::string_view json_key,
                                     std::string_view stage, std::string_view version_id);

 private:
  struct Secret;
  SecretStore(store::Store& store, const Clock& clock, SecretStoreOptions options, Sealer sealer);
  Status Load();
  // Callers hold mu_.
  Secret* Find(std::string_view id, bool include_deleted);
  Status Save(const Secret& s);
  Status Purge(const std::string& name);
  void PurgeExpired();
  Status AddVersion(Secret& s, const Json& in, bool required);
  Json Describe(const Secret& s) const;

  store::Store& store_;
  const Clock& clock_;
  const SecretStoreOptions options_;
  const Sealer sealer_;
  std::mutex mu_;
  std::map<std::string, std::unique_ptr<Secret>> secrets_;  // by name; GUARDED_BY(mu_)
};

}  // namespace bp::secrets
