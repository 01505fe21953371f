#include "transform/json_path.h"

#include "transform/json_text.h"

namespace bp::transform {
namespace {

bool IsNameByte(char c) {
  const auto u = static_cast<unsigned char>(c);
  if (u <= 0x20 || u == 0x7F) return false;
  return c != '.' && c != '[' && c != ']' && c != '\'' && c != '"' && c != '*';
}

Status Bad(std::string reason) { return Status::Validation(std::move(reason)); }

}  // namespace

StatusOr<JsonPath> JsonPath::Parse(std::string_view text) {
  if (text.empty() || text[0] != '$') return Bad("a JSON path must start with '$'");
  JsonPath path;
  path.text_ = std::string(text);
  size_t i = 1;
  while (i < text.size()) {
    Step step;
    if (text[i] == '.') {
      const size_t begin = ++i;
      while (i < text.size() && IsNameByte(text[i])) ++i;
      if (i == begin) {
        if (i < text.size() && text[i] == '*') return Bad("wildcards are not supported");
        return Bad("empty member name at offset " + std::to_string(begin));
      }
      step.key = std::string(text.substr(begin, i - begin));
    } else if (text[i] == '[') {
      ++i;
      if (i >= text.size()) return Bad("unterminated '['");
      if (text[i] == '\'' || text[i] == '"') {
        const char quote = text[i++];
        bool closed = false;
        while (i < text.size()) {
          const char c = text[i++];
          if (c == quote) {
            closed = true;
            break;
          }
          if (c == '\\') {
            if (i >= text.size()) break;
            const char e = text[i++];
            if (e != '\'' && e != '"' && e != '\\') return Bad("bad escape in quoted name");
            step.key.push_back(e);
          } else {
            step.key.push_back(c);
          }
        }
        if (!closed) return Bad("unterminated quoted name");
      } else if (text[i] >= '0' && text[i] <= '9') {
        const size_t begin = i;
        uint32_t index = 0;
        while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
          if (i - begin >= 9) return Bad("array index too large");
          index = index * 10 + static_cast<uint32_t>(text[i] - '0');
          ++i;
        }
        step.is_index = true;
        step.index = index;
      } else if (text[i] == '*') {
        return Bad("wildcards are not supported");
      } else {
        return Bad("expected an index or a quoted name after '['");
      }
      if (i >= text.size() || text[i] != ']') return Bad("expected ']'");
      ++i;
    } else {
      return Bad("unexpected character at offset " + std::to_string(i));
    }
    path.steps_.push_back(std::move(step));
  }
  return path;
}

std::optional<std::string_view> JsonPath::Find(std::string_view document) const {
  std::optional<std::string_view> current = ValueAt(document, 0);
  for (const Step& step : steps_) {
    if (!current.has_value()) return std::nullopt;
    std::optional<std::string_view> next;
    if (step.is_index) {
      uint32_t n = 0;
      ForEachElement(*current, [&](std::string_view element) {
        if (n++ == step.index) {
          next = element;
          return false;
        }
        return true;
      });
    } else {
      ForEachMember(*current, [&](std::string_view key, std::string_view value) {
        if (KeyEquals(key, step.key)) {
          next = value;
          return false;
        }
        return true;
      });
    }
    current = next;
  }
  return current;
}

bool IsDynamicReference(std::string_view value) {
  return value.size() >= 2 && value[0] == '$' && (value[1] == '.' || value[1] == '[');
}

}  // namespace bp::transform
