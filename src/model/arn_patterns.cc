#include "model/arn_patterns.h"

#include <functional>

namespace bp::model {

namespace {

bool Lower(char c) { return c >= 'a' && c <= 'z'; }
bool Digit(char c) { return c >= '0' && c <= '9'; }
bool Word(char c) { return Lower(c) || Digit(c) || (c >= 'A' && c <= 'Z') || c == '_'; }
bool BusNameChar(char c) { return Word(c) || c == '/' || c == '.' || c == '-'; }

// Consumes the longest run of `pred` characters (at least `min`); false if shorter.
bool Run(std::string_view& s, const std::function<bool(char)>& pred, size_t min) {
  size_t n = 0;
  while (n < s.size() && pred(s[n])) ++n;
  if (n < min) return false;
  s.remove_prefix(n);
  return true;
}

bool Literal(std::string_view& s, std::string_view lit) {
  if (s.substr(0, lit.size()) != lit) return false;
  s.remove_prefix(lit.size());
  return true;
}

// [a-z]+-[a-z]+-[\w-]+ (a field without ':'; `[\w-]+` may itself contain '-').
bool IsRegion(std::string_view r) {
  if (!Run(r, Lower, 1) || !Literal(r, "-") || !Run(r, Lower, 1) || !Literal(r, "-")) {
    return false;
  }
  return Run(
             r, [](char c) { return Word(c) || c == '-'; }, 1) &&
         r.empty();
}

// Splits "a:b:c..." at the next ':'.
std::string_view Field(std::string_view& s, bool* ok) {
  size_t colon = s.find(':');
  if (colon == std::string_view::npos) {
    *ok = false;
    return {};
  }
  std::string_view f = s.substr(0, colon);
  s.remove_prefix(colon + 1);
  return f;
}

bool IsBusArn(std::string_view s) {
  bool ok = true;
  std::string_view arn = Field(s, &ok);
  std::string_view partition = Field(s, &ok);
  std::string_view service = Field(s, &ok);
  std::string_view region = Field(s, &ok);
  std::string_view account = Field(s, &ok);
  if (!ok || arn != "arn" || partition.substr(0, 3) != "aws" || service != "events") return false;
  partition.remove_prefix(3);
  if (!Run(
          partition, [](char c) { return Word(c) || c == '-'; }, 0) ||
      !partition.empty()) {
    return false;
  }
  if (!IsRegion(region) || account.size() != 12) return false;
  std::string_view acct = account;
  if (!Run(acct, Digit, 12)) return false;
  if (!Literal(s, "event-bus/")) return false;
  return Run(s, BusNameChar, 1) && s.empty();
}

}  // namespace

bool IsEventBusNameOrArn(std::string_view value) {
  std::string_view name = value;
  if (Run(name, BusNameChar, 1) && name.empty()) return true;
  return IsBusArn(value);
}

bool IsConnectionArn(std::string_view s) {
  bool ok = true;
  std::string_view arn = Field(s, &ok);
  std::string_view partition = Field(s, &ok);
  std::string_view service = Field(s, &ok);
  std::string_view region = Field(s, &ok);
  std::string_view account = Field(s, &ok);
  if (!ok || arn != "arn" || partition.substr(0, 3) != "aws" || service != "events") return false;
  partition.remove_prefix(3);
  if (!Run(
          partition, [](char c) { return Lower(c) || c == '-'; }, 0) ||
      !partition.empty()) {
    return false;
  }
  if (!Run(
          region, [](char c) { return Lower(c) || Digit(c) || c == '-'; }, 0) ||
      !region.empty()) {
    return false;
  }
  if (!account.empty() && (account.size() != 12 || !Run(account, Digit, 12))) return false;
  if (!Literal(s, "connection/")) return false;
  if (!Run(
          s, [](char c) { return Word(c) || c == '.' || c == '-'; }, 1))
    return false;
  if (!Literal(s, "/")) return false;
  return Run(
             s, [](char c) { return (Word(c) && c != '_') || c == '-'; }, 1) &&
         s.empty();
}

}  // namespace bp::model
