// Event patterns (SPEC.md §5): validation/compilation of one pattern, and a multi-rule matcher.
//
// A Pattern is an immutable, validated pattern. A Matcher is an immutable automaton built from many
// (rule id, Pattern) pairs; it is safe to call Match concurrently from any number of threads. A
// MatcherBuilder is NOT thread-safe; it keeps the added patterns so it can be extended, have rules
// removed, and Build() again (each Build() is a full, independent snapshot).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/status.h"

namespace bp::pattern {

class Pattern;  // opaque, immutable; defined in pattern/pattern_model.h

// Validates and compiles one pattern. Errors have code kInvalidEventPattern and message
// "Event pattern is not valid. Reason: <reason>".
[[nodiscard]] StatusOr<std::shared_ptr<const Pattern>> CompilePattern(
    std::string_view pattern_json);

class MatcherImpl;

class Matcher {
 public:
  explicit Matcher(std::unique_ptr<const MatcherImpl> impl);
  ~Matcher();
  Matcher(const Matcher&) = delete;
  Matcher& operator=(const Matcher&) = delete;

  // Appends the ids of all matching rules (each at most once, any order) to *out. `event_json`
  // should be a well-formed JSON object; on malformed input the result is unspecified (some or no
  // ids) but Match never reads outside `event_json` and never crashes.
  void Match(std::string_view event_json, std::vector<uint32_t>* out) const;
  size_t rule_count() const;

 private:
  std::unique_ptr<const MatcherImpl> impl_;
};

class MatcherBuilder {
 public:
  MatcherBuilder();
  ~MatcherBuilder();
  MatcherBuilder(MatcherBuilder&&) noexcept;
  MatcherBuilder& operator=(MatcherBuilder&&) noexcept;

  // Adds a rule. Fails with kValidation if `rule_id` is already present or `pattern` is null.
  [[nodiscard]] Status Add(uint32_t rule_id, const std::shared_ptr<const Pattern>& pattern);
  // Removes a rule; returns false if it was not present.
  bool Remove(uint32_t rule_id);
  size_t size() const { return rules_.size(); }
  // Builds an immutable snapshot of the current rules. The builder stays usable.
  std::shared_ptr<const Matcher> Build() const;

 private:
  std::unordered_map<uint32_t, std::shared_ptr<const Pattern>> rules_;
};

// TestEventPattern semantics: validates the pattern (kInvalidEventPattern) and the event (must be a
// JSON object, else kValidation), then matches.
[[nodiscard]] StatusOr<bool> MatchesOne(std::string_view pattern_json, std::string_view event_json);

}  // namespace bp::pattern
