// Validation and compaction of a PutEvents `Detail`: it must be a JSON object without duplicate
// keys and nested at most 1000 levels. The compact form drops insignificant white space only, so
// key order, number spelling and string escapes are exactly as the client sent them.
#pragma once

#include <string>
#include <string_view>

namespace bp::ingest {

inline constexpr int kMaxDetailDepth = 1000;

// Returns false (and leaves `out` unspecified) if `text` is not a valid JSON object under the
// rules above.
bool CompactDetail(std::string_view text, std::string* out);

}  // namespace bp::ingest
