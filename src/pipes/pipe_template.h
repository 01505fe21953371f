// Pipes InputTemplate: free text, a JSON path, or JSON with inline JSON paths (`<$.body.id>`)
// and reserved variables (`<aws.pipes.pipe-name>`, ...). Semantics in docs/semantics.md (Pipes).
//
// Pure functions, no I/O; thread-safe.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace bp::pipes {

inline constexpr size_t kMaxInputTemplateLength = 8192;

// Resolves a placeholder (`$...` path or reserved name) to its JSON value, nullopt if missing.
using PlaceholderResolver = std::function<std::optional<std::string>(const std::string& name)>;

// kValidation with a ValidationException message naming `field` when a `<aws.pipes.*>` name is
// not reserved or a `<$...>` path does not parse.
[[nodiscard]] Status ValidateInputTemplate(std::string_view text, std::string_view field);

// Renders the template. A JSON template (first non-blank byte `{` or `[`) whose output is not
// JSON fails with kValidation "INVALID_JSON: ..." (the delivery error form of transform/).
[[nodiscard]] StatusOr<std::string> RenderInputTemplate(std::string_view text,
                                                        const PlaceholderResolver& resolve);

}  // namespace bp::pipes
