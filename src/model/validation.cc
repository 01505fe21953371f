#include "model/validation.h"

namespace bp::model {

bool IsResourceName(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

namespace {
std::string Quote(std::string_view v) {
  std::string s(v.substr(0, 256));
  return "'" + s + "'";
}
}  // namespace

void Validator::Length(std::string_view field, std::string_view value, size_t min, size_t max) {
  if (value.size() < min) {
    errors_.push_back("Value " + Quote(value) + " at '" + std::string(field) +
                      "' failed to satisfy constraint: Member must have length greater than or "
                      "equal to " +
                      std::to_string(min));
  } else if (value.size() > max) {
    errors_.push_back("Value " + Quote(value) + " at '" + std::string(field) +
                      "' failed to satisfy constraint: Member must have length less than or equal "
                      "to " +
                      std::to_string(max));
  }
}

void Validator::Name(std::string_view field, std::string_view value, size_t max) {
  size_t before = errors_.size();
  Length(field, value, 1, max);
  if (errors_.size() == before && !IsResourceName(value)) {
    Pattern(field, value, false, kNamePatternText);
  }
}

void Validator::Pattern(std::string_view field, std::string_view value, bool ok,
                        std::string_view pattern) {
  if (ok) return;
  errors_.push_back("Value " + Quote(value) + " at '" + std::string(field) +
                    "' failed to satisfy constraint: Member must satisfy regular expression "
                    "pattern: " +
                    std::string(pattern));
}

void Validator::Range(std::string_view field, int64_t value, int64_t min, int64_t max) {
  if (value < min) {
    errors_.push_back("Value '" + std::to_string(value) + "' at '" + std::string(field) +
                      "' failed to satisfy constraint: Member must have value greater than or "
                      "equal to " +
                      std::to_string(min));
  } else if (value > max) {
    errors_.push_back("Value '" + std::to_string(value) + "' at '" + std::string(field) +
                      "' failed to satisfy constraint: Member must have value less than or equal "
                      "to " +
                      std::to_string(max));
  }
}

void Validator::Enum(std::string_view field, std::string_view value,
                     std::initializer_list<std::string_view> allowed) {
  for (auto a : allowed) {
    if (a == value) return;
  }
  std::string set = "[";
  bool first = true;
  for (auto a : allowed) {
    if (!first) set += ", ";
    set += a;
    first = false;
  }
  set += "]";
  errors_.push_back("Value " + Quote(value) + " at '" + std::string(field) +
                    "' failed to satisfy constraint: Member must satisfy enum value set: " + set);
}

void Validator::NotNull(std::string_view field, bool present) {
  if (present) return;
  errors_.push_back("Value null at '" + std::string(field) +
                    "' failed to satisfy constraint: Member must not be null");
}

void Validator::Fail(std::string message) { errors_.push_back(std::move(message)); }

Status Validator::Finish() const {
  if (errors_.empty()) return Status::Ok();
  std::string msg =
      std::to_string(errors_.size()) +
      (errors_.size() == 1 ? " validation error detected: " : " validation errors detected: ");
  for (size_t i = 0; i < errors_.size(); ++i) {
    if (i) msg += "; ";
    msg += errors_[i];
  }
  return Status::Validation(std::move(msg));
}

bool Input::Has(std::string_view key) const {
  auto it = obj_.find(key);
  return it != obj_.end() && !it->value().is_null();
}

namespace {
Status TypeError(std::string_view key, std::string_view want) {
  return Status::Serialization("Member '" + std::string(key) + "' must be " + std::string(want) +
                               ".");
}
}  // namespace

StatusOr<std::optional<std::string>> Input::String(std::string_view key) const {
  auto it = obj_.find(key);
  if (it == obj_.end() || it->value().is_null()) return std::optional<std::string>();
  if (!it->value().is_string()) return TypeError(key, "a string");
  return std::optional<std::string>(std::string(it->value().as_string()));
}

StatusOr<std::optional<int64_t>> Input::Integer(std::string_view key) const {
  auto it = obj_.find(key);
  if (it == obj_.end() || it->value().is_null()) return std::optional<int64_t>();
  const auto& v = it->value();
  if (v.is_int64()) return std::optional<int64_t>(v.as_int64());
  if (v.is_uint64() && v.as_uint64() <= static_cast<uint64_t>(INT64_MAX)) {
    return std::optional<int64_t>(static_cast<int64_t>(v.as_uint64()));
  }
  if (v.is_double() && v.as_double() == static_cast<double>(static_cast<int64_t>(v.as_double()))) {
    return std::optional<int64_t>(static_cast<int64_t>(v.as_double()));
  }
  return TypeError(key, "an integer");
}

StatusOr<std::optional<bool>> Input::Bool(std::string_view key) const {
  auto it = obj_.find(key);
  if (it == obj_.end() || it->value().is_null()) return std::optional<bool>();
  if (!it->value().is_bool()) return TypeError(key, "a boolean");
  return std::optional<bool>(it->value().as_bool());
}

StatusOr<const boost::json::object*> Input::Object(std::string_view key) const {
  auto it = obj_.find(key);
  if (it == obj_.end() || it->value().is_null())
    return static_cast<const boost::json::object*>(nullptr);
  if (!it->value().is_object()) return TypeError(key, "an object");
  return &it->value().as_object();
}

StatusOr<const boost::json::array*> Input::Array(std::string_view key) const {
  auto it = obj_.find(key);
  if (it == obj_.end() || it->value().is_null())
    return static_cast<const boost::json::array*>(nullptr);
  if (!it->value().is_array()) return TypeError(key, "a list");
  return &it->value().as_array();
}

}  // namespace bp::model
