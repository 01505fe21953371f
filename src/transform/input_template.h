// Internal to transform/: InputTemplate parsing and rendering.
//
// A placeholder is `<name>` with name = 1+ of [A-Za-z0-9_.-]; any other `<` is literal text.
// A template whose first non-whitespace byte is `{` or `[` is a JSON template: each placeholder
// is classified as inside or outside a JSON string literal of the template text.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bp::transform {

class InputTemplate {
 public:
  struct Segment {
    bool is_placeholder = false;
    std::string text;        // literal text, or the placeholder name
    bool in_string = false;  // JSON templates: placeholder sits between quotes
  };

  // Never fails: every byte sequence is a template (placeholder validity is checked by callers).
  static InputTemplate Parse(std::string_view text);

  bool is_json() const { return is_json_; }
  const std::vector<Segment>& segments() const { return segments_; }

  // Resolves a placeholder name to its value as JSON text, or nullopt when missing.
  using Resolver = std::function<std::optional<std::string_view>(const std::string&)>;

  // Substitutes every placeholder (see docs/semantics.md for the rules). The result of a JSON
  // template is not checked here. Rendering stops, with nullopt, as soon as the output would
  // exceed `max_bytes`: an amplifying template never allocates more than the cap.
  std::optional<std::string> Render(const Resolver& resolve,
                                    size_t max_bytes = static_cast<size_t>(-1)) const;

 private:
  bool is_json_ = false;
  std::vector<Segment> segments_;
};

}  // namespace bp::transform
