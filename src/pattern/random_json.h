// Deterministic random patterns and events over a tiny vocabulary, so that matches are frequent;
// used by the differential test and the matcher_diff_fuzz target.
#pragma once

#include <cstdint>
#include <string>

namespace bp::pattern::testing {

class RandomJson {
 public:
  explicit RandomJson(uint64_t seed) : state_(seed * 0x9E3779B97F4A7C15ULL + 1) {}

  uint32_t Next() {
    state_ ^= state_ << 13;
    state_ ^= state_ >> 7;
    state_ ^= state_ << 17;
    return static_cast<uint32_t>(state_ >> 11);
  }
  uint32_t Below(uint32_t n) { return Next() % n; }

  std::string Key() {
    static const char* kKeys[] = {"a", "b", "c", "a.b", "d"};
    return std::string("\"") + kKeys[Below(5)] + "\"";
  }
  std::string Str() {
    static const char* kStrs[] = {"",        "x",       "X",        "xy", "ab",
                                  "\\u00e9", "\\u00c9", "10.0.0.1", "a*b"};
    return std::string("\"") + kStrs[Below(9)] + "\"";
  }
  std::string Scalar() {
    static const char* kScalars[] = {"0", "1", "1.5", "-2", "1e2", "100", "true", "false", "null"};
    const uint32_t r = Below(3);
    if (r == 0) return kScalars[Below(9)];
    return Str();
  }

  std::string EventValue(int depth) {
    const uint32_t r = Below(depth > 2 ? 2 : 5);
    if (r <= 1) return Scalar();
    if (r == 2) return EventObject(depth + 1);
    std::string s = "[";
    const uint32_t n = Below(4);
    for (uint32_t i = 0; i < n; ++i) s += (i ? "," : "") + EventValue(depth + 1);
    return s + "]";
  }
  std::string EventObject(int depth) {
    static const char* kKeys[] = {"a", "b", "c", "a.b", "d"};
    std::string s = "{";
    const uint32_t n = Below(4);
    const uint32_t first = Below(5);
    for (uint32_t i = 0; i < n; ++i) {  // distinct keys, as in a well-formed event
      s +=
          std::string(i ? "," : "") + "\"" + kKeys[(first + i) % 5] + "\":" + EventValue(depth + 1);
    }
    return s + "}";
  }

  std::string Condition() {
    switch (Below(14)) {
      case 0:
        return Scalar();
      case 1:
        return "{\"prefix\":" + Str() + "}";
      case 2:
        return "{\"suffix\":" + Str() + "}";
      case 3:
        return "{\"equals-ignore-case\":" + Str() + "}";
      case 4:
        return "{\"prefix\":{\"equals-ignore-case\":" + Str() + "}}";
      case 5:
        return "{\"wildcard\":\"" + std::string(Below(2) ? "*" : "x*") + "\"}";
      case 6:
        return "{\"anything-but\":" + Str() + "}";
      case 7:
        return "{\"anything-but\":[1,100]}";
      case 8:
        return "{\"anything-but\":{\"prefix\":\"x\"}}";
      case 9:
        return "{\"numeric\":[\">\",0,\"<=\",100]}";
      case 10:
        return "{\"exists\":true}";
      case 11:
        return "{\"exists\":false}";
      case 12:
        return "{\"cidr\":\"10.0.0.0/24\"}";
      default:
        return "{\"anything-but\":{\"equals-ignore-case\":\"X\"}}";
    }
  }
  std::string PatternObject(int depth) {
    std::string s = "{";
    const uint32_t n = 1 + Below(3);
    for (uint32_t i = 0; i < n; ++i) {
      s += i ? "," : "";
      const uint32_t r = Below(depth > 1 ? 4 : 6);
      if (r == 4) {
        s += Key() + ":" + PatternObject(depth + 1);
      } else if (r == 5) {
        s += "\"$or\":[" + PatternObject(depth + 1) + "," + PatternObject(depth + 1) + "]";
      } else {
        s += Key() + ":[" + Condition();
        if (Below(3) == 0) s += "," + Condition();
        s += "]";
      }
    }
    return s + "}";
  }

 private:
  uint64_t state_;
};

}  // namespace bp::pattern::testing
