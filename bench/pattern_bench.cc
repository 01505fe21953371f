// Micro-benchmarks of the pattern compiler and matcher. The end-to-end matcher benchmark on the
// citylots data is `bp_bench_match` (see docs/benchmarks-matcher.md).
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "pattern/pattern.h"

namespace {

using bp::pattern::CompilePattern;
using bp::pattern::MatcherBuilder;

const char* kEvent =
    R"({"version":"0","id":"6a7e8feb-b491-4cf7-a9f1-bf3703467718","detail-type":"EC2 Instance State-change Notification","source":"aws.ec2","account":"111122223333","time":"2017-12-22T18:43:48Z","region":"us-west-1","resources":["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"],"detail":{"instance-id":"i-1234567890abcdef0","state":"terminated","tags":[{"k":"env","v":"prod"},{"k":"team","v":"core"}],"blob":{"a":[1,2,3,[4,5,{"x":"y"}]],"s":"some \"quoted\" text"}}})";

void BM_CompileSimple(benchmark::State& state) {
  for (auto _ : state) {
    auto p =
        CompilePattern(R"({"source":["aws.ec2"],"detail":{"state":["terminated","stopped"]}})");
    benchmark::DoNotOptimize(p);
  }
}
BENCHMARK(BM_CompileSimple);

void BM_CompileComplex(benchmark::State& state) {
  const std::string pattern =
      R"({"source":[{"prefix":"aws."}],"$or":[{"detail":{"state":[{"anything-but":["running"]}]}},{"detail":{"tags":{"k":[{"equals-ignore-case":"ENV"}],"v":[{"wildcard":"p*d"}]}}}],"time":[{"exists":true}],"detail-type":[{"suffix":"Notification"}]})";
  for (auto _ : state) {
    auto p = CompilePattern(pattern);
    benchmark::DoNotOptimize(p);
  }
}
BENCHMARK(BM_CompileComplex);

void BM_BuildManyExact(benchmark::State& state) {
  std::vector<std::shared_ptr<const bp::pattern::Pattern>> patterns;
  for (int i = 0; i < state.range(0); ++i) {
    patterns.push_back(*CompilePattern(R"({"detail":{"id":[")" + std::to_string(i) + R"("]}})"));
  }
  for (auto _ : state) {
    MatcherBuilder b;
    for (size_t i = 0; i < patterns.size(); ++i) {
      if (!b.Add(static_cast<uint32_t>(i), patterns[i]).ok()) state.SkipWithError("add failed");
    }
    auto m = b.Build();
    benchmark::DoNotOptimize(m);
  }
}
BENCHMARK(BM_BuildManyExact)->Arg(1000)->Arg(10000)->Unit(benchmark::kMillisecond);

void BM_Match(benchmark::State& state, std::vector<std::string> patterns) {
  MatcherBuilder b;
  for (size_t i = 0; i < patterns.size(); ++i) {
    if (!b.Add(static_cast<uint32_t>(i), *CompilePattern(patterns[i])).ok()) {
      state.SkipWithError("add failed");
      return;
    }
  }
  auto m = b.Build();
  std::vector<uint32_t> out;
  const std::string event = kEvent;
  for (auto _ : state) {
    out.clear();
    m->Match(event, &out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * event.size()));
}
BENCHMARK_CAPTURE(BM_Match, exact_source, std::vector<std::string>{R"({"source":["aws.ec2"]})"});
BENCHMARK_CAPTURE(BM_Match, nested_state,
                  std::vector<std::string>{R"({"detail":{"state":["terminated"]}})"});
BENCHMARK_CAPTURE(BM_Match, array_consistent_tags,
                  std::vector<std::string>{R"({"detail":{"tags":{"k":["env"],"v":["prod"]}}})"});
BENCHMARK_CAPTURE(
    BM_Match, mixed_operators,
    std::vector<std::string>{
        R"({"source":[{"prefix":"aws."}],"region":[{"anything-but":"us-east-1"}]})",
        R"({"detail":{"instance-id":[{"wildcard":"i-*def0"}]}})",
        R"({"detail-type":[{"equals-ignore-case":"ec2 instance state-change notification"}]})",
        R"({"detail":{"missing":[{"exists":false}]}})"});

}  // namespace

BENCHMARK_MAIN();
