// Fuzzes the pattern compiler; every accepted pattern is also built into a matcher and run on the
// same bytes as an event (which must never crash or read out of bounds).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "pattern/pattern.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto compiled = bp::pattern::CompilePattern(text);
  if (!compiled.ok()) return 0;
  bp::pattern::MatcherBuilder builder;
  if (!builder.Add(1, *compiled).ok()) __builtin_trap();
  std::vector<uint32_t> out;
  builder.Build()->Match(text, &out);
  if (out.size() > 1) __builtin_trap();
  return 0;
}
