// Unicode simple case folding (CaseFolding.txt C+S mappings, all planes) of UTF-8 text.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace bp::pattern {

// Returns the simple case folding of one code point (itself when it has none).
uint32_t FoldCodePoint(uint32_t cp);

// Appends the case-folded form of `in` to *out. Invalid UTF-8 bytes are copied through unchanged,
// so folding never fails and equal inputs always fold equally.
void AppendCaseFolded(std::string_view in, std::string* out);

}  // namespace bp::pattern
