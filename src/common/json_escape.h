// JSON string escaping shared by the logger, ingest and the transform module.
#pragma once

#include <string>
#include <string_view>

namespace bp {

// Appends `s` as the inside of a JSON string (no quotes): `"` and `\` escaped, control characters
// as \b \f \n \r \t or \u00XX; everything else, UTF-8 included, copied as is.
void AppendJsonEscaped(std::string& out, std::string_view s);

}  // namespace bp
