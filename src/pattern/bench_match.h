// `bridgeport bench-match`: the matcher benchmark of the project workspace
// (shared/bench/README.md).
//
//   bench-match --events FILE.jsonl --rulesets FILE.json [--set NAME] [--expected counts.json]
//
// Prints one line per rule set: `NAME events_per_sec=<n> matches=<total> add_ms=<ms> ...`.
// Events are preloaded; each set gets a fresh matcher, one warm-up pass and the best of 2 timed
// passes with a per-rule tally. With --expected, every per-rule count is checked and the exit
// status is non-zero on any mismatch (or on a set that fails to compile).
#pragma once

namespace bp::pattern {

int RunBenchMatch(int argc, char** argv);

}  // namespace bp::pattern
