#include "ingest/detail_json.h"

#include <algorithm>
#include <vector>

#include "common/utf8.h"

namespace bp::ingest {

namespace {

class Compactor {
 public:
  Compactor(std::string_view in, std::string* out) : in_(in), out_(out) {}

  bool Run() {
    out_->clear();
    out_->reserve(in_.size());
    SkipWs();
    if (Peek() != '{') return false;
    if (!Value(0)) return false;
    SkipWs();
    return pos_ == in_.size();
  }

 private:
  char Peek() const { return pos_ < in_.size() ? in_[pos_] : '\0'; }
  void SkipWs() {
    while (pos_ < in_.size() &&
           (in_[pos_] == ' ' || in_[pos_] == '\n' || in_[pos_] == '\r' || in_[pos_] == '\t')) {
      ++pos_;
    }
  }

  bool Value(int depth) {
    if (depth > kMaxDetailDepth) return false;
    SkipWs();
    char c = Peek();
    if (c == '{') return Object(depth + 1);
    if (c == '[') return Array(depth + 1);
    if (c == '"') {
      std::string_view ignored;
      return String(&ignored);
    }
    if (c == 't') return Literal("true");
    if (c == 'f') return Literal("false");
    if (c == 'n') return Literal("null");
    return Number();
  }

  bool Literal(std::string_view lit) {
    if (in_.substr(pos_, lit.size()) != lit) return false;
    out_->append(lit);
    pos_ += lit.size();
    return true;
  }

  bool Number() {
    size_t start = pos_;
    if (Peek() == '-') ++pos_;
    if (Peek() == '0') {
      ++pos_;
    } else if (Peek() >= '1' && Peek() <= '9') {
      while (Peek() >= '0' && Peek() <= '9') ++pos_;
    } else {
      return false;
    }
    if (Peek() == '.') {
      ++pos_;
      if (!(Peek() >= '0' && Peek() <= '9')) return false;
      while (Peek() >= '0' && Peek() <= '9') ++pos_;
    }
    if (Peek() == 'e' || Peek() == 'E') {
      ++pos_;
      if (Peek() == '+' || Peek() == '-') ++pos_;
      if (!(Peek() >= '0' && Peek() <= '9')) return false;
      while (Peek() >= '0' && Peek() <= '9') ++pos_;
    }
    out_->append(in_.substr(start, pos_ - start));
    return true;
  }

  // Copies a string token verbatim; `raw` receives its text between the quotes (escapes kept).
  bool String(std::string_view* raw) {
    size_t start = pos_;
    ++pos_;  // opening quote
    while (pos_ < in_.size()) {
      unsigned char c = static_cast<unsigned char>(in_[pos_]);
      if (c == '"') break;
      if (c < 0x20) return false;
      if (c == '\\') {
        ++pos_;
        if (pos_ >= in_.size()) return false;
        char e = in_[pos_];
        if (e == 'u') {
          for (int i = 1; i <= 4; ++i) {
            if (pos_ + i >= in_.size() || !std::isxdigit(static_cast<unsigned char>(in_[pos_ + i])))
              return false;
          }
          pos_ += 4;
        } else if (e != '"' && e != '\\' && e != '/' && e != 'b' && e != 'f' && e != 'n' &&
                   e != 'r' && e != 't') {
          return false;
        }
      }
      ++pos_;
    }
    if (pos_ >= in_.size()) return false;
    ++pos_;  // closing quote
    *raw = in_.substr(start + 1, pos_ - start - 2);
    out_->append(in_.substr(start, pos_ - start));
    return true;
  }

  bool Object(int depth) {
    ++pos_;
    out_->push_back('{');
    SkipWs();
    if (Peek() == '}') {
      ++pos_;
      out_->push_back('}');
      return true;
    }
    std::vector<std::string_view> keys;
    for (;;) {
      SkipWs();
      if (Peek() != '"') return false;
      std::string_view key;
      if (!String(&key)) return false;
      // Duplicate keys (compared as written; escapes of the same character are rare enough
      // that a textual comparison is the documented rule).
      if (std::find(keys.begin(), keys.end(), key) != keys.end()) return false;
      keys.push_back(key);
      SkipWs();
      if (Peek() != ':') return false;
      ++pos_;
      out_->push_back(':');
      if (!Value(depth)) return false;
      SkipWs();
      if (Peek() == ',') {
        ++pos_;
        out_->push_back(',');
        continue;
      }
      if (Peek() == '}') {
        ++pos_;
        out_->push_back('}');
        return true;
      }
      return false;
    }
  }

  bool Array(int depth) {
    ++pos_;
    out_->push_back('[');
    SkipWs();
    if (Peek() == ']') {
      ++pos_;
      out_->push_back(']');
      return true;
    }
    for (;;) {
      if (!Value(depth)) return false;
      SkipWs();
      if (Peek() == ',') {
        ++pos_;
        out_->push_back(',');
        continue;
      }
      if (Peek() == ']') {
        ++pos_;
        out_->push_back(']');
        return true;
      }
      return false;
    }
  }

  std::string_view in_;
  std::string* out_;
  size_t pos_ = 0;
};

}  // namespace

bool CompactDetail(std::string_view text, std::string* out) {
  // The request parser already rejects ill-formed UTF-8; checked again so the contract holds for
  // any caller.
  return IsValidUtf8(text) && Compactor(text, out).Run();
}

}  // namespace bp::ingest
