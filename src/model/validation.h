// Request validation with AWS's message format:
//   "1 validation error detected: Value 'a b' at 'name' failed to satisfy constraint: Member must
//    satisfy regular expression pattern: [\.\-_A-Za-z0-9]+"
// Several violations are reported together ("2 validation errors detected: ...; ...").
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace bp::model {

// The character class of resource names: [\.\-_A-Za-z0-9]+
bool IsResourceName(std::string_view s);
inline constexpr std::string_view kNamePatternText = "[\\.\\-_A-Za-z0-9]+";

class Validator {
 public:
  // `field` is the lowerCamel member path AWS reports (e.g. "name", "targets.1.member.id").
  void Length(std::string_view field, std::string_view value, size_t min, size_t max);
  void Name(std::string_view field, std::string_view value, size_t max);
  void Pattern(std::string_view field, std::string_view value, bool ok, std::string_view pattern);
  void Range(std::string_view field, int64_t value, int64_t min, int64_t max);
  void Enum(std::string_view field, std::string_view value,
            std::initializer_list<std::string_view> allowed);
  void NotNull(std::string_view field, bool present);
  void Fail(std::string message);  // a free-form violation

  bool ok() const { return errors_.empty(); }
  Status Finish() const;

 private:
  std::vector<std::string> errors_;
};

// Typed access to request members. A member of the wrong JSON type is a SerializationException.
class Input {
 public:
  explicit Input(const boost::json::object& obj) : obj_(obj) {}
  const boost::json::object& object() const { return obj_; }
  bool Has(std::string_view key) const;
  StatusOr<std::optional<std::string>> String(std::string_view key) const;
  StatusOr<std::optional<int64_t>> Integer(std::string_view key) const;
  StatusOr<std::optional<bool>> Bool(std::string_view key) const;
  StatusOr<const boost::json::object*> Object(std::string_view key) const;  // null if absent
  StatusOr<const boost::json::array*> Array(std::string_view key) const;    // null if absent

 private:
  const boost::json::object& obj_;
};

}  // namespace bp::model
