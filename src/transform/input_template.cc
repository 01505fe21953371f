#include "transform/input_template.h"

#include "transform/json_text.h"

namespace bp::transform {
namespace {

bool IsPlaceholderByte(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == '-';
}

// Length of the placeholder name if `text[pos]` starts `<name>`, else 0.
size_t PlaceholderNameLength(std::string_view text, size_t pos) {
  size_t i = pos + 1;
  while (i < text.size() && IsPlaceholderByte(text[i])) ++i;
  if (i == pos + 1 || i >= text.size() || text[i] != '>') return 0;
  return i - pos - 1;
}

}  // namespace

InputTemplate InputTemplate::Parse(std::string_view text) {
  InputTemplate tpl;
  const size_t first = SkipWs(text, 0);
  tpl.is_json_ = first < text.size() && (text[first] == '{' || text[first] == '[');

  std::string literal;
  bool in_string = false;  // JSON templates only
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '<') {
      const size_t n = PlaceholderNameLength(text, i);
      if (n > 0) {
        if (!literal.empty()) tpl.segments_.push_back({false, std::move(literal), false});
        literal.clear();
        tpl.segments_.push_back({true, std::string(text.substr(i + 1, n)), in_string});
        i += n + 1;
        continue;
      }
    }
    literal.push_back(c);
    if (!tpl.is_json_) continue;
    if (in_string && c == '\\' && i + 1 < text.size()) {
      literal.push_back(text[++i]);  // an escaped byte neither ends the string nor opens `<`
    } else if (c == '"') {
      in_string = !in_string;
    }
  }
  if (!literal.empty()) tpl.segments_.push_back({false, std::move(literal), false});
  return tpl;
}

std::optional<std::string> InputTemplate::Render(const Resolver& resolve, size_t max_bytes) const {
  std::string out;
  for (const Segment& segment : segments_) {
    // Checked after every segment: the output never grows past the cap by more than one value
    // (itself bounded by the event's size), whatever the template repeats.
    if (out.size() > max_bytes) return std::nullopt;
    if (!segment.is_placeholder) {
      if (segment.text.size() > max_bytes - out.size()) return std::nullopt;
      out += segment.text;
      continue;
    }
    const std::optional<std::string_view> value = resolve(segment.text);
    const JsonKind kind = value.has_value() ? KindOf(*value) : JsonKind::kInvalid;
    if (!is_json_) {
      // Literal substitution: strings contribute their characters, other values their JSON.
      if (!value.has_value()) continue;
      if (kind == JsonKind::kString) {
        const std::optional<std::string> decoded = DecodeString(*value);
        out += decoded.value_or(std::string());
      } else {
        AppendMinified(out, *value);
      }
    } else if (segment.in_string) {
      if (!value.has_value()) continue;
      if (kind == JsonKind::kString) {
        // The token's inner text is already a valid JSON-escaped form of the content.
        out += value->substr(1, value->size() - 2);
      } else {
        std::string compact;
        AppendMinified(compact, *value);
        AppendEscaped(out, compact);
      }
    } else {
      if (!value.has_value()) {
        out += "null";
      } else {
        AppendMinified(out, *value);
      }
    }
  }
  if (out.size() > max_bytes) return std::nullopt;
  return out;
}

}  // namespace bp::transform
