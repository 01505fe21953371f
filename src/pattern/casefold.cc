#include "pattern/casefold.h"

#include <algorithm>
#include <iterator>

#include "common/utf8.h"

namespace bp::pattern {
namespace {

struct FoldPair {
  uint32_t from;
  uint32_t to;
};

constexpr FoldPair kFold[] = {
#include "pattern/casefold_table.inc"
};

// Decodes one well-formed UTF-8 sequence at s[i]; returns its length, or 0 if malformed.
size_t DecodeUtf8(std::string_view s, size_t i, uint32_t* cp) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  size_t len;
  uint32_t v;
  if (b0 < 0xC2) return 0;
  if (b0 < 0xE0) {
    len = 2;
    v = b0 & 0x1F;
  } else if (b0 < 0xF0) {
    len = 3;
    v = b0 & 0x0F;
  } else if (b0 < 0xF5) {
    len = 4;
    v = b0 & 0x07;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  for (size_t k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) return 0;
    v = (v << 6) | (b & 0x3F);
  }
  if ((len == 3 && (v < 0x800 || (v >= 0xD800 && v <= 0xDFFF))) ||
      (len == 4 && (v < 0x10000 || v > 0x10FFFF))) {
    return 0;
  }
  *cp = v;
  return len;
}

}  // namespace

uint32_t FoldCodePoint(uint32_t cp) {
  if (cp < 0x80) return (cp >= 'A' && cp <= 'Z') ? cp + 32 : cp;
  const auto* it = std::lower_bound(std::begin(kFold), std::end(kFold), cp,
                                    [](const FoldPair& p, uint32_t c) { return p.from < c; });
  if (it != std::end(kFold) && it->from == cp) return it->to;
  return cp;
}

void AppendCaseFolded(std::string_view in, std::string* out) {
  size_t i = 0;
  while (i < in.size()) {
    const auto b = static_cast<unsigned char>(in[i]);
    if (b < 0x80) {
      out->push_back(static_cast<char>((b >= 'A' && b <= 'Z') ? b + 32 : b));
      ++i;
      continue;
    }
    uint32_t cp = 0;
    const size_t len = DecodeUtf8(in, i, &cp);
    if (len == 0) {
      out->push_back(static_cast<char>(b));
      ++i;
      continue;
    }
    const uint32_t f = FoldCodePoint(cp);
    if (f == cp) {
      out->append(in.data() + i, len);
    } else {
      AppendUtf8(f, out);
    }
    i += len;
  }
}

}  // namespace bp::pattern
