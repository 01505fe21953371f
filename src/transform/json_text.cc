#include "transform/json_text.h"

#include <boost/json/error.hpp>
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/parse_options.hpp>
#include <cstdint>

#include "common/json_escape.h"

namespace bp::transform {
namespace {

constexpr size_t npos = std::string_view::npos;

bool IsWs(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// Index just past the string token starting at s[pos] == '"', or npos.
size_t SkipString(std::string_view s, size_t pos) {
  for (size_t i = pos + 1; i < s.size(); ++i) {
    if (s[i] == '\\') {
      ++i;  // the escaped byte can never close the string
    } else if (s[i] == '"') {
      return i + 1;
    }
  }
  return npos;
}

size_t SkipLiteral(std::string_view s, size_t pos, std::string_view word) {
  return s.substr(pos, word.size()) == word ? pos + word.size() : npos;
}

size_t SkipValueImpl(std::string_view s, size_t pos, int depth);

// Skips an object or array whose opening bracket is at s[pos].
size_t SkipContainer(std::string_view s, size_t pos, int depth) {
  const bool is_object = s[pos] == '{';
  const char close = is_object ? '}' : ']';
  size_t i = SkipWs(s, pos + 1);
  if (i < s.size() && s[i] == close) return i + 1;
  while (true) {
    if (is_object) {
      if (i >= s.size() || s[i] != '"') return npos;
      i = SkipString(s, i);
      if (i == npos) return npos;
      i = SkipWs(s, i);
      if (i >= s.size() || s[i] != ':') return npos;
      ++i;
    }
    i = SkipValueImpl(s, i, depth + 1);
    if (i == npos) return npos;
    i = SkipWs(s, i);
    if (i >= s.size()) return npos;
    if (s[i] == close) return i + 1;
    if (s[i] != ',') return npos;
    i = SkipWs(s, i + 1);
  }
}

size_t SkipValueImpl(std::string_view s, size_t pos, int depth) {
  if (depth > kMaxDepth) return npos;
  pos = SkipWs(s, pos);
  if (pos >= s.size()) return npos;
  switch (s[pos]) {
    case '{':
    case '[':
      return SkipContainer(s, pos, depth);
    case '"':
      return SkipString(s, pos);
    case 't':
      return SkipLiteral(s, pos, "true");
    case 'f':
      return SkipLiteral(s, pos, "false");
    case 'n':
      return SkipLiteral(s, pos, "null");
    default:
      break;
  }
  size_t i = pos;
  while (i < s.size() && (s[i] == '-' || s[i] == '+' || s[i] == '.' || s[i] == 'e' || s[i] == 'E' ||
                          (s[i] >= '0' && s[i] <= '9'))) {
    ++i;
  }
  return i == pos ? npos : i;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Reads 4 hex digits at s[pos..pos+4); -1 if malformed.
int32_t ReadHex4(std::string_view s, size_t pos) {
  if (pos + 4 > s.size()) return -1;
  int32_t v = 0;
  for (size_t k = 0; k < 4; ++k) {
    const int h = HexValue(s[pos + k]);
    if (h < 0) return -1;
    v = v * 16 + h;
  }
  return v;
}

void AppendUtf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

}  // namespace

JsonKind KindOf(std::string_view value) {
  if (value.empty()) return JsonKind::kInvalid;
  switch (value[0]) {
    case '{':
      return JsonKind::kObject;
    case '[':
      return JsonKind::kArray;
    case '"':
      return JsonKind::kString;
    case 't':
      return JsonKind::kTrue;
    case 'f':
      return JsonKind::kFalse;
    case 'n':
      return JsonKind::kNull;
    default:
      return (value[0] == '-' || (value[0] >= '0' && value[0] <= '9')) ? JsonKind::kNumber
                                                                       : JsonKind::kInvalid;
  }
}

size_t SkipWs(std::string_view s, size_t pos) {
  while (pos < s.size() && IsWs(s[pos])) ++pos;
  return pos;
}

size_t SkipValue(std::string_view s, size_t pos) { return SkipValueImpl(s, pos, 0); }

std::optional<std::string_view> ValueAt(std::string_view s, size_t pos) {
  const size_t begin = SkipWs(s, pos);
  const size_t end = SkipValue(s, begin);
  if (end == npos) return std::nullopt;
  return s.substr(begin, end - begin);
}

bool ForEachMember(std::string_view object,
                   const std::function<bool(std::string_view, std::string_view)>& fn) {
  if (object.empty() || object[0] != '{') return false;
  size_t i = SkipWs(object, 1);
  if (i < object.size() && object[i] == '}') return true;
  while (i < object.size()) {
    if (object[i] != '"') return false;
    const size_t key_end = SkipString(object, i);
    if (key_end == npos) return false;
    const std::string_view key = object.substr(i, key_end - i);
    i = SkipWs(object, key_end);
    if (i >= object.size() || object[i] != ':') return false;
    i = SkipWs(object, i + 1);
    const size_t value_end = SkipValue(object, i);
    if (value_end == npos) return false;
    if (!fn(key, object.substr(i, value_end - i))) return true;
    i = SkipWs(object, value_end);
    if (i >= object.size()) return false;
    if (object[i] == '}') return true;
    if (object[i] != ',') return false;
    i = SkipWs(object, i + 1);
  }
  return false;
}

bool ForEachElement(std::string_view array, const std::function<bool(std::string_view)>& fn) {
  if (array.empty() || array[0] != '[') return false;
  size_t i = SkipWs(array, 1);
  if (i < array.size() && array[i] == ']') return true;
  while (i < array.size()) {
    const size_t value_end = SkipValue(array, i);
    if (value_end == npos) return false;
    if (!fn(array.substr(i, value_end - i))) return true;
    i = SkipWs(array, value_end);
    if (i >= array.size()) return false;
    if (array[i] == ']') return true;
    if (array[i] != ',') return false;
    i = SkipWs(array, i + 1);
  }
  return false;
}

std::optional<std::string> DecodeString(std::string_view token) {
  if (token.size() < 2 || token.front() != '"' || token.back() != '"') return std::nullopt;
  const std::string_view s = token.substr(1, token.size() - 2);
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c != '\\') {
      out.push_back(c);
      continue;
    }
    if (++i >= s.size()) return std::nullopt;
    switch (s[i]) {
      case '"':
        out.push_back('"');
        break;
      case '\\':
        out.push_back('\\');
        break;
      case '/':
        out.push_back('/');
        break;
      case 'b':
        out.push_back('\b');
        break;
      case 'f':
        out.push_back('\f');
        break;
      case 'n':
        out.push_back('\n');
        break;
      case 'r':
        out.push_back('\r');
        break;
      case 't':
        out.push_back('\t');
        break;
      case 'u': {
        int32_t cp = ReadHex4(s, i + 1);
        if (cp < 0) return std::nullopt;
        i += 4;
        if (cp >= 0xD800 && cp <= 0xDBFF && i + 2 < s.size() && s[i + 1] == '\\' &&
            s[i + 2] == 'u') {
          const int32_t low = ReadHex4(s, i + 3);
          if (low >= 0xDC00 && low <= 0xDFFF) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
            i += 6;
          }
        }
        if (cp >= 0xD800 && cp <= 0xDFFF) cp = 0xFFFD;
        AppendUtf8(out, static_cast<uint32_t>(cp));
        break;
      }
      default:
        return std::nullopt;
    }
  }
  return out;
}

bool KeyEquals(std::string_view key_token, std::string_view name) {
  if (key_token.size() < 2) return false;
  const std::string_view inner = key_token.substr(1, key_token.size() - 2);
  if (inner.find('\\') == std::string_view::npos) return inner == name;
  const std::optional<std::string> decoded = DecodeString(key_token);
  return decoded.has_value() && *decoded == name;
}

void AppendEscaped(std::string& out, std::string_view text) { AppendJsonEscaped(out, text); }

void AppendQuoted(std::string& out, std::string_view text) {
  out.push_back('"');
  AppendEscaped(out, text);
  out.push_back('"');
}

void AppendMinified(std::string& out, std::string_view value) {
  bool in_string = false;
  for (size_t i = 0; i < value.size(); ++i) {
    const char c = value[i];
    if (in_string) {
      out.push_back(c);
      if (c == '\\' && i + 1 < value.size()) {
        out.push_back(value[++i]);
      } else if (c == '"') {
        in_string = false;
      }
    } else if (!IsWs(c)) {
      out.push_back(c);
      if (c == '"') in_string = true;
    }
  }
}

bool IsValidJson(std::string_view text, std::string* error) {
  // A DOM is built only to reuse Boost.JSON's strict grammar and UTF-8 checks; the arena keeps it
  // cheap and it is discarded at once.
  boost::json::monotonic_resource arena;
  boost::json::parse_options options;
  options.max_depth = kMaxDepth;
  boost::system::error_code ec;
  try {
    (void)boost::json::parse(boost::json::string_view(text.data(), text.size()), ec, &arena,
                             options);
  } catch (const std::exception&) {  // allocation failure only
    ec = boost::json::error::exception;
  }
  if (ec && error != nullptr) *error = ec.message();
  return !ec;
}

}  // namespace bp::transform
