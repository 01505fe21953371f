// Internal to transform/: the JSON path subset EventBridge accepts in InputPath, InputPathsMap
// values and `$.` HttpParameters values.
//
// Grammar (whole text, no whitespace):  path := '$' step*
//   step := '.' name          name: 1+ bytes, none of . [ ] ' " * and no whitespace/control bytes
//         | '[' digits ']'    array index, 0-based, at most 9 digits
//         | '[' quoted ']'    quoted: '...' or "..." with \' \" \\ escapes; any other bytes
// Wildcards (`*`, `[*]`) and filters are rejected. Evaluation follows object members (first
// match of equal decoded key) and array indexes; anything else is "missing".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace bp::transform {

class JsonPath {
 public:
  // Parses `text`; on failure returns kValidation with a reason (no target context).
  static StatusOr<JsonPath> Parse(std::string_view text);

  // The value text (a span of `document`, unmodified) or nullopt when missing or malformed.
  std::optional<std::string_view> Find(std::string_view document) const;

  bool is_root() const { return steps_.empty(); }
  const std::string& text() const { return text_; }

 private:
  struct Step {
    bool is_index = false;
    std::string key;
    uint32_t index = 0;
  };
  std::string text_;
  std::vector<Step> steps_;
};

// True when an HttpParameters value is a dynamic `$.`/`$[` reference rather than a literal.
bool IsDynamicReference(std::string_view value);

}  // namespace bp::transform
