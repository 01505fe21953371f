// Helpers shared by the pattern tests.
#pragma once

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace bp::pattern::testing {

// Directory holding conformance/ and rulesets.json: $BP_SHARED_DIR/bench if set, else the
// configure-time default.
inline std::string SharedBenchDir() {
  if (const char* env = std::getenv("BP_SHARED_DIR"); env != nullptr && *env != '\0') {
    return std::string(env) + "/bench";
  }
  return BP_SHARED_BENCH_DIR_DEFAULT;
}

inline bool ReadWholeFile(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  *out = ss.str();
  return true;
}

}  // namespace bp::pattern::testing
