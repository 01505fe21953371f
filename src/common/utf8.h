// UTF-8 checks for text that reaches JSON replies or must be valid by contract.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace bp {

// True if `s` is well-formed UTF-8 (no overlongs, surrogates or code points above U+10FFFF).
bool IsValidUtf8(std::string_view s);

// Appends code point `cp` (at most U+10FFFF) encoded as UTF-8.
void AppendUtf8(uint32_t cp, std::string* out);

// `s` with every ill-formed byte replaced by U+FFFD, for echoing untrusted bytes in messages.
std::string SanitizeUtf8(std::string_view s);

}  // namespace bp
