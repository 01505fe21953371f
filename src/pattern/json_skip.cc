#include "pattern/json_skip.h"

#include <cstdint>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace bp::pattern {

const char* SkipJsonString(const char* p, const char* end) {
  while (p < end) {
    const void* q = std::memchr(p, '"', static_cast<size_t>(end - p));
    if (q == nullptr) return nullptr;
    const char* quote = static_cast<const char*>(q);
    // The quote is escaped iff an odd number of backslashes precede it.
    const char* b = quote;
    while (b > p && b[-1] == '\\') --b;
    if (((quote - b) & 1) == 0) return quote + 1;
    p = quote + 1;
  }
  return nullptr;
}

namespace {

struct BlockMasks {
  uint64_t quote, backslash, open, close, dot;
};

inline BlockMasks Classify(const char* block) {
  BlockMasks m{0, 0, 0, 0, 0};
#if defined(__SSE2__)
  const __m128i kQuote = _mm_set1_epi8('"');
  const __m128i kBs = _mm_set1_epi8('\\');
  const __m128i k20 = _mm_set1_epi8(0x20);
  const __m128i kOpen = _mm_set1_epi8('{');   // '[' | 0x20 == '{'
  const __m128i kClose = _mm_set1_epi8('}');  // ']' | 0x20 == '}'
  const __m128i kDot = _mm_set1_epi8('.');
  for (int i = 0; i < 4; ++i) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(block + 16 * i));
    const __m128i lower = _mm_or_si128(v, k20);
    const int shift = 16 * i;
    auto bits = [shift](__m128i eq) {
      return static_cast<uint64_t>(static_cast<uint32_t>(_mm_movemask_epi8(eq))) << shift;
    };
    m.quote |= bits(_mm_cmpeq_epi8(v, kQuote));
    m.backslash |= bits(_mm_cmpeq_epi8(v, kBs));
    m.open |= bits(_mm_cmpeq_epi8(lower, kOpen));
    m.close |= bits(_mm_cmpeq_epi8(lower, kClose));
    m.dot |= bits(_mm_cmpeq_epi8(v, kDot));
  }
#else
  for (int i = 0; i < 64; ++i) {
    const char c = block[i];
    const uint64_t bit = uint64_t{1} << i;
    if (c == '"') m.quote |= bit;
    if (c == '\\') m.backslash |= bit;
    if (c == '{' || c == '[') m.open |= bit;
    if (c == '}' || c == ']') m.close |= bit;
    if (c == '.') m.dot |= bit;
  }
#endif
  return m;
}

inline int PopCount(uint64_t x) {
  // Portable: baseline x86-64 has no POPCNT instruction, and the libgcc call is slow.
  x = x - ((x >> 1) & 0x5555555555555555ULL);
  x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
  x = (x + (x >> 4)) & 0x0F0F0F0F0F0F0F0FULL;
  return static_cast<int>((x * 0x0101010101010101ULL) >> 56);
}

inline uint64_t PrefixXor(uint64_t x) {
  x ^= x << 1;
  x ^= x << 2;
  x ^= x << 4;
  x ^= x << 8;
  x ^= x << 16;
  x ^= x << 32;
  return x;
}

}  // namespace

const char* SkipJsonContainer(const char* p, const char* end, bool* dot_in_string) {
  const bool want_dots = dot_in_string != nullptr;
  int64_t depth = 1;
  bool in_string = false;
  bool escaped = false;  // the previous byte was an escaping backslash inside a string
  char tail[64];
  while (p < end) {
    const char* block = p;
    const size_t avail = static_cast<size_t>(end - p);
    const size_t n = avail < 64 ? avail : 64;
    if (n < 64) {
      std::memset(tail, ' ', sizeof(tail));
      std::memcpy(tail, p, n);
      block = tail;
    }
    const BlockMasks m = Classify(block);
    if (m.backslash == 0 && !escaped) {
      // No escapes: every quote toggles string state.
      uint64_t in_str = PrefixXor(m.quote);
      if (in_string) in_str = ~in_str;
      if (want_dots && (m.dot & in_str) != 0) *dot_in_string = true;
      const uint64_t opens = m.open & ~in_str;
      const uint64_t closes = m.close & ~in_str;
      const int nclose = PopCount(closes);
      if (nclose < depth) {
        depth += PopCount(opens) - nclose;
        in_string = (in_str >> 63) & 1;
        p += n;
        continue;
      }
      uint64_t events = opens | closes;
      while (events != 0) {
        const int i = __builtin_ctzll(events);
        events &= events - 1;
        if ((opens >> i) & 1) {
          ++depth;
        } else if (--depth == 0) {
          return p + i + 1;
        }
      }
      in_string = (in_str >> 63) & 1;
      p += n;
      continue;
    }
    // Escapes present: walk this block byte by byte.
    for (size_t i = 0; i < n; ++i) {
      const char c = block[i];
      if (in_string) {
        if (escaped) {
          escaped = false;
        } else if (c == '\\') {
          escaped = true;
        } else if (c == '"') {
          in_string = false;
        } else if (c == '.' && want_dots) {
          *dot_in_string = true;
        }
      } else if (c == '"') {
        in_string = true;
      } else if (c == '{' || c == '[') {
        ++depth;
      } else if ((c == '}' || c == ']') && --depth == 0) {
        return p + i + 1;
      }
    }
    p += n;
  }
  return nullptr;
}

bool AnyDotInStrings(const char* p, const char* end) {
  bool in_string = false;
  bool escaped = false;
  char tail[64];
  while (p < end) {
    const char* block = p;
    const size_t avail = static_cast<size_t>(end - p);
    const size_t n = avail < 64 ? avail : 64;
    if (n < 64) {
      std::memset(tail, ' ', sizeof(tail));
      std::memcpy(tail, p, n);
      block = tail;
    }
    const BlockMasks m = Classify(block);
    if (m.backslash == 0 && !escaped) {
      uint64_t in_str = PrefixXor(m.quote);
      if (in_string) in_str = ~in_str;
      if ((m.dot & in_str) != 0) return true;
      in_string = (in_str >> 63) & 1;
      p += n;
      continue;
    }
    for (size_t i = 0; i < n; ++i) {
      const char c = block[i];
      if (!in_string) {
        in_string = c == '"';
      } else if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      } else if (c == '.') {
        return true;
      }
    }
    p += n;
  }
  return false;
}

}  // namespace bp::pattern
