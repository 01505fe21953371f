// Fuzzes JSON path parsing and evaluation over arbitrary documents.
//
// Input: "<path>\n<document>". Invariants checked: evaluation never reads out of bounds (ASan);
// on a valid document, a found value is itself valid JSON, and a found string decodes.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "transform/json_path.h"
#include "transform/json_text.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t newline = input.find('\n');
  const std::string_view path_text = input.substr(0, newline);
  const std::string_view document =
      newline == std::string_view::npos ? std::string_view() : input.substr(newline + 1);

  bp::StatusOr<bp::transform::JsonPath> path = bp::transform::JsonPath::Parse(path_text);
  if (!path.ok()) return 0;
  const std::optional<std::string_view> found = path->Find(document);
  if (!found.has_value() || !bp::transform::IsValidJson(document)) return 0;
  if (!bp::transform::IsValidJson(*found)) std::abort();
  if (bp::transform::KindOf(*found) == bp::transform::JsonKind::kString &&
      !bp::transform::DecodeString(*found).has_value()) {
    std::abort();
  }
  return 0;
}
