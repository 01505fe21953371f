#include "pipes/pipe_template.h"

#include <vector>

#include "transform/json_path.h"
#include "transform/json_text.h"
#include "transform/transform.h"

namespace bp::pipes {

namespace {

constexpr std::string_view kReserved[] = {"aws.pipes.pipe-arn",   "aws.pipes.pipe-name",
                                          "aws.pipes.source-arn", "aws.pipes.enrichment-arn",
                                          "aws.pipes.target-arn", "aws.pipes.event.ingestion-time",
                                          "aws.pipes.event",      "aws.pipes.event.json"};

bool IsReserved(std::string_view name) {
  for (auto r : kReserved) {
    if (name == r) return true;
  }
  return false;
}

struct Segment {
  bool placeholder = false;
  std::string text;
  bool in_string = false;
};

// A placeholder is `<$...>` or `<aws.pipes....>` with no blank, `<` or `>` inside; any other `<`
// is literal text.
std::vector<Segment> Parse(std::string_view t, bool json) {
  std::vector<Segment> out;
  std::string literal;
  bool in_string = false;
  for (size_t i = 0; i < t.size(); ++i) {
    char c = t[i];
    if (c == '<') {
      size_t end = i + 1;
      while (end < t.size() && t[end] != '>' && t[end] != '<' &&
             static_cast<unsigned char>(t[end]) > ' ') {
        ++end;
      }
      std::string_view name = t.substr(i + 1, end - i - 1);
      if (end < t.size() && t[end] == '>' &&
          (name.starts_with("$") || name.starts_with("aws.pipes."))) {
        if (!literal.empty()) out.push_back({false, std::move(literal), false});
        literal.clear();
        out.push_back({true, std::string(name), in_string});
        i = end;
        continue;
      }
    }
    if (json && c == '"') in_string = !in_string;
    if (json && c == '\\' && in_string && i + 1 < t.size()) {
      literal.push_back(c);
      c = t[++i];
    }
    literal.push_back(c);
  }
  if (!literal.empty()) out.push_back({false, std::move(literal), false});
  return out;
}

bool IsJsonTemplate(std::string_view t) {
  size_t p = transform::SkipWs(t, 0);
  return p < t.size() && (t[p] == '{' || t[p] == '[');
}

}  // namespace

Status ValidateInputTemplate(std::string_view text, std::string_view field) {
  if (text.size() > kMaxInputTemplateLength) {
    return Status::Validation("1 validation error detected: Value at '" + std::string(field) +
                              "' failed to satisfy constraint: Member must have length less "
                              "than or equal to 8192");
  }
  for (const Segment& s : Parse(text, IsJsonTemplate(text))) {
    if (!s.placeholder) continue;
    bool ok =
        s.text.starts_with("$") ? transform::JsonPath::Parse(s.text).ok() : IsReserved(s.text);
    if (!ok) {
      return Status::Validation("1 validation error detected: Value at '" + std::string(field) +
                                "' failed to satisfy constraint: InputTemplate contains an "
                                "invalid placeholder <" +
                                s.text + ">");
    }
  }
  return Status::Ok();
}

StatusOr<std::string> RenderInputTemplate(std::string_view text,
                                          const PlaceholderResolver& resolve) {
  const bool json = IsJsonTemplate(text);
  std::string out;
  for (const Segment& s : Parse(text, json)) {
    if (!s.placeholder) {
      out += s.text;
      continue;
    }
    std::optional<std::string> v = resolve(s.text);
    if (!v) {
      if (json && !s.in_string) out += "null";
      continue;
    }
    bool is_string = transform::KindOf(*v) == transform::JsonKind::kString;
    std::optional<std::string> raw = is_string ? transform::DecodeString(*v) : std::nullopt;
    if (json && s.in_string) {
      transform::AppendEscaped(out, raw ? std::string_view(*raw) : std::string_view(*v));
    } else if (json) {
      out += *v;
    } else {
      out += raw ? *raw : *v;
    }
  }
  if (json && !transform::IsValidJson(out)) {
    return transform::MakeDeliveryError(DeliveryErrorCode::kInvalidJson,
                                        "The InputTemplate output is not valid JSON.");
  }
  return out;
}

}  // namespace bp::pipes
