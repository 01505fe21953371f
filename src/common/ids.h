// Identifiers: random UUIDv4 strings and time formatting shared by all modules.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace bp {

// A random (version 4) UUID in canonical lower-case form, e.g.
// "0f8fad5b-d9cb-469f-a165-70867728950e".
std::string NewUuid();

// Seconds since the epoch as "2024-01-02T03:04:05Z".
std::string FormatIso8601(int64_t epoch_seconds);

// Parses "2024-01-02T03:04:05Z" or with fractional seconds / numeric offset. Returns epoch seconds.
std::optional<int64_t> ParseIso8601(std::string_view text);

// Lower-case hex of bytes.
std::string HexEncode(std::string_view bytes);

}  // namespace bp
