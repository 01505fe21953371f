// Helpers shared by the secrets module's files.
#pragma once

#include <boost/json/object.hpp>
#include <string>

#include "common/status.h"
#include "secrets/secret_store.h"

namespace bp::secrets {

// A string member of `o`, or empty.
std::string Str(const boost::json::object& o, std::string_view k);
Status MarkedForDeletionStatus();

// In memory a secret holds its clear values; in the store the whole record is sealed.
struct SecretStore::Secret {
  boost::json::object data;  // Name, ARN, Description, KmsKeyId, Tags, dates, Versions{id: {...}}
  std::string name() const { return Str(data, "Name"); }
  std::string arn() const { return Str(data, "ARN"); }
  bool deleted() const { return data.contains("DeletedDate"); }
  boost::json::object& versions() {
    boost::json::value& v = data["Versions"];
    if (!v.is_object()) v = boost::json::object();
    return v.as_object();
  }
};

}  // namespace bp::secrets
