// Internal to transform/: scanning JSON *text* without building a DOM.
//
// The transform module must reproduce event values exactly as they were sent (key order, number
// spelling, string escapes), so it works on spans of the original text instead of a parsed tree.
// Every function here is bounds-safe on arbitrary (even malformed) input: malformed text is
// reported (npos / nullopt / false), never read past. Full validation is `IsValidJson`.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace bp::transform {

enum class JsonKind { kObject, kArray, kString, kNumber, kTrue, kFalse, kNull, kInvalid };

// Kind of the value whose text starts at value[0] (no leading whitespace expected).
JsonKind KindOf(std::string_view value);

// Index of the first non-whitespace byte at or after `pos` (s.size() if none).
size_t SkipWs(std::string_view s, size_t pos);

// Skips the value starting at `pos` (whitespace allowed before it). Returns the index just past
// it, or npos when the text is malformed or nested deeper than kMaxDepth. Lenient about number
// syntax; strict about structure.
inline constexpr int kMaxDepth = 2048;
size_t SkipValue(std::string_view s, size_t pos);

// Returns the value text starting at `pos` (leading whitespace skipped), or nullopt if malformed.
std::optional<std::string_view> ValueAt(std::string_view s, size_t pos);

// Calls fn(key_token, value) for each member of the object `object` (a complete value span);
// key_token includes its quotes. Stops early (returning true) when fn returns false.
// Returns false when `object` is not a well-formed object.
bool ForEachMember(std::string_view object,
                   const std::function<bool(std::string_view, std::string_view)>& fn);

// Same for array elements.
bool ForEachElement(std::string_view array, const std::function<bool(std::string_view)>& fn);

// Decodes a string token (with its quotes) to UTF-8. Lone surrogates become U+FFFD.
std::optional<std::string> DecodeString(std::string_view token);

// True when the string token (with quotes) decodes to exactly `name`.
bool KeyEquals(std::string_view key_token, std::string_view name);

// Appends `text` escaped for use between JSON string quotes (", \ and control characters).
void AppendEscaped(std::string& out, std::string_view text);

// Appends `value` with whitespace outside strings removed (compact form, spelling kept).
void AppendMinified(std::string& out, std::string_view value);

// Appends `text` as a quoted JSON string.
void AppendQuoted(std::string& out, std::string_view text);

// True iff `text` is exactly one valid JSON value (RFC 8259, UTF-8, surrounding whitespace
// allowed). On failure, *error (when given) receives a short reason.
bool IsValidJson(std::string_view text, std::string* error = nullptr);

}  // namespace bp::transform
