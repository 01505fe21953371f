// Small text encodings used by auth (internal to the module; not part of its public API).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace bp::auth {

// Percent-encodes every byte except RFC 3986 unreserved characters (A-Z a-z 0-9 - . _ ~).
// Space becomes "%20", which form decoders (application/x-www-form-urlencoded) also accept.
std::string UrlEncode(std::string_view in);

// Standard base64 (RFC 4648 §4) with '=' padding.
std::string Base64Encode(std::string_view in);

// Decodes standard base64; padding optional. nullopt on any invalid character or length.
std::optional<std::string> Base64Decode(std::string_view in);

// Decodes hex (either case); nullopt on odd length or a non-hex character.
std::optional<std::string> HexDecode(std::string_view in);

}  // namespace bp::auth
