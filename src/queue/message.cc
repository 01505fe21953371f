#include "queue/message.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <set>

#include "common/ids.h"
#include "queue/queue_errors.h"

namespace bp::queue {
namespace {

void AppendLengthPrefixed(std::string& out, std::string_view s) {
  uint32_t n = static_cast<uint32_t>(s.size());
  out.push_back(static_cast<char>((n >> 24) & 0xff));
  out.push_back(static_cast<char>((n >> 16) & 0xff));
  out.push_back(static_cast<char>((n >> 8) & 0xff));
  out.push_back(static_cast<char>(n & 0xff));
  out.append(s);
}

// Decodes one UTF-8 code point at `i`; returns -1 on malformed input.
int32_t DecodeUtf8(std::string_view s, size_t& i) {
  auto b0 = static_cast<unsigned char>(s[i]);
  int len;
  int32_t cp;
  if (b0 < 0x80) {
    ++i;
    return b0;
  } else if ((b0 & 0xe0) == 0xc0) {
    len = 2;
    cp = b0 & 0x1f;
  } else if ((b0 & 0xf0) == 0xe0) {
    len = 3;
    cp = b0 & 0x0f;
  } else if ((b0 & 0xf8) == 0xf0) {
    len = 4;
    cp = b0 & 0x07;
  } else {
    return -1;
  }
  if (i + len > s.size()) return -1;
  for (int k = 1; k < len; ++k) {
    auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xc0) != 0x80) return -1;
    cp = (cp << 6) | (b & 0x3f);
  }
  // Reject overlong encodings and surrogates.
  static constexpr int32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return -1;
  i += len;
  return cp;
}

bool IsValidAttributeName(std::string_view name) {
  if (name.empty() || name.size() > 256) return false;
  if (name.front() == '.' || name.back() == '.') return false;
  if (name.find("..") != std::string_view::npos) return false;
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '.') {
      return false;
    }
  }
  std::string lower(name);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return !lower.starts_with("aws.") && !lower.starts_with("amazon.");
}

// SQS accepts decimal numbers with up to 38 significant digits.
bool IsValidNumber(std::string_view v) {
  size_t i = 0;
  if (i < v.size() && (v[i] == '+' || v[i] == '-')) ++i;
  size_t digits = 0;
  bool dot = false;
  for (; i < v.size(); ++i) {
    char c = v[i];
    if (std::isdigit(static_cast<unsigned char>(c))) {
      ++digits;
    } else if (c == '.' && !dot) {
      dot = true;
    } else if ((c == 'e' || c == 'E') && digits > 0) {
      size_t j = i + 1;
      if (j < v.size() && (v[j] == '+' || v[j] == '-')) ++j;
      if (j >= v.size()) return false;
      for (; j < v.size(); ++j) {
        if (!std::isdigit(static_cast<unsigned char>(v[j]))) return false;
      }
      break;
    } else {
      return false;
    }
  }
  return digits > 0 && digits <= 38;
}

}  // namespace

std::string Md5Hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), digest, &len, EVP_md5(), nullptr);
  return HexEncode(std::string_view(reinterpret_cast<const char*>(digest), len));
}

std::string Md5OfMessageAttributes(const std::vector<MessageAttribute>& attrs) {
  if (attrs.empty()) return "";
  std::vector<const MessageAttribute*> sorted;
  for (const auto& a : attrs) sorted.push_back(&a);
  std::sort(sorted.begin(), sorted.end(),
            [](const auto* a, const auto* b) { return a->name < b->name; });
  std::string buf;
  for (const auto* a : sorted) {
    AppendLengthPrefixed(buf, a->name);
    AppendLengthPrefixed(buf, a->data_type);
    if (a->IsBinary()) {
      buf.push_back(2);
      AppendLengthPrefixed(buf, a->binary_value);
    } else {
      buf.push_back(1);
      AppendLengthPrefixed(buf, a->string_value);
    }
  }
  return Md5Hex(buf);
}

bool IsValidMessageText(std::string_view body) {
  size_t i = 0;
  while (i < body.size()) {
    int32_t cp = DecodeUtf8(body, i);
    if (cp < 0) return false;
    bool ok = cp == 0x9 || cp == 0xa || cp == 0xd || (cp >= 0x20 && cp <= 0xd7ff) ||
              (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff);
    if (!ok) return false;
  }
  return true;
}

Status ValidateMessageAttributes(const std::vector<MessageAttribute>& attrs) {
  if (attrs.size() > kMaxMessageAttributes) {
    return QueueError(ErrorKind::kInvalidParameterValue, "Number of message attributes [" +
                                                             std::to_string(attrs.size()) +
                                                             "] exceeds the allowed maximum [10].");
  }
  std::set<std::string_view> seen;
  for (const auto& a : attrs) {
    if (!IsValidAttributeName(a.name)) {
      return QueueError(ErrorKind::kInvalidParameterValue,
                        "Message (user) attribute name '" + a.name + "' is invalid.");
    }
    if (!seen.insert(a.name).second) {
      return QueueError(ErrorKind::kInvalidParameterValue,
                        "Message (user) attribute name '" + a.name + "' is duplicated.");
    }
    std::string_view type = a.data_type;
    std::string_view base = type.substr(0, type.find('.'));
    if (type.empty()) {
      return QueueError(ErrorKind::kInvalidParameterValue, "The message attribute '" + a.name +
                                                               "' must contain non-empty message " +
                                                               "attribute type.");
    }
    if (type.size() > 256 || (base != "String" && base != "Number" && base != "Binary")) {
      return QueueError(ErrorKind::kInvalidParameterValue,
                        "The type of message (user) attribute '" + a.name + "' is invalid. " +
                            "You must use only the following supported type prefixes: Binary, " +
                            "Number, String.");
    }
    if (base == "Binary") {
      if (a.binary_value.empty()) {
        return QueueError(ErrorKind::kInvalidParameterValue,
                          "The message attribute '" + a.name +
                              "' must contain non-empty message attribute value for message " +
                              "attribute type 'Binary'.");
      }
      continue;
    }
    if (a.string_value.empty()) {
      return QueueError(ErrorKind::kInvalidParameterValue,
                        "The message attribute '" + a.name +
                            "' must contain non-empty message attribute value for message " +
                            "attribute type '" + std::string(base) + "'.");
    }
    if (!IsValidMessageText(a.string_value)) {
      return QueueError(ErrorKind::kInvalidMessageContents,
                        "Invalid characters found in the message attribute '" + a.name + "'.");
    }
    if (base == "Number" && !IsValidNumber(a.string_value)) {
      return QueueError(
          ErrorKind::kInvalidParameterValue,
          "Can't cast the value of message (user) attribute '" + a.name + "' to a number.");
    }
  }
  return Status::Ok();
}

size_t MessageSize(std::string_view body, const std::vector<MessageAttribute>& attrs) {
  size_t n = body.size();
  for (const auto& a : attrs) {
    n += a.name.size() + a.data_type.size() + a.string_value.size() + a.binary_value.size();
  }
  return n;
}

}  // namespace bp::queue
