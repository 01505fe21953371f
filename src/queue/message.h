// Message content rules shared by every way a message enters a queue: body characters, message
// attributes, sizes, and the MD5 digests that SQS clients verify.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace bp::queue {

// A user message attribute. `data_type` is "String", "Number" or "Binary", optionally followed by
// ".<custom label>". Binary values hold raw bytes (base64 is a wire-format concern of api/sqs).
struct MessageAttribute {
  std::string name;
  std::string data_type;
  std::string string_value;  // String and Number types
  std::string binary_value;  // Binary types

  bool IsBinary() const { return data_type.starts_with("Binary"); }
  bool operator==(const MessageAttribute&) const = default;
};

inline constexpr size_t kMaxMessageAttributes = 10;

// Lower-case hex MD5 of `data`.
std::string Md5Hex(std::string_view data);

// MD5OfMessageAttributes exactly as SQS computes it: attributes sorted by name; for each, the
// 4-byte big-endian length + bytes of the name, of the data type, then a transport byte (1 for
// String/Number, 2 for Binary) and the length-prefixed value. Empty string when `attrs` is empty.
std::string Md5OfMessageAttributes(const std::vector<MessageAttribute>& attrs);

// True if `body` is valid UTF-8 made only of characters XML 1.0 allows (#x9 #xA #xD #x20-#xD7FF
// #xE000-#xFFFD #x10000-#x10FFFF).
bool IsValidMessageText(std::string_view body);

// Validates names, types and values of user attributes (InvalidParameterValue /
// InvalidMessageContents queue errors).
[[nodiscard]] Status ValidateMessageAttributes(const std::vector<MessageAttribute>& attrs);

// Bytes counted against MaximumMessageSize: body plus every attribute's name, type and value.
size_t MessageSize(std::string_view body, const std::vector<MessageAttribute>& attrs);

}  // namespace bp::queue
