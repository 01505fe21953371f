#include "pipes/pipe_spec.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace bp::pipes {
namespace {

namespace json = boost::json;

const model::Partition kP{"us-east-1", "000000000000"};
constexpr char kDest[] = "arn:aws:events:us-east-1:000000000000:api-destination/d/1234";

ResourceResolver Resolver() {
  ResourceResolver r;
  r.queue_exists = [](std::string_view q) { return q == "src" || q == "out"; };
  r.destination_arn = [](std::string_view n) { return n == "d" ? std::string(kDest) : ""; };
  r.bus_exists = [](std::string_view b) { return b == "default"; };
  return r;
}

json::object Base() {
  return json::parse(R"({"Name":"p","RoleArn":"arn:aws:iam::000000000000:role/r",
    "Source":"arn:aws:sqs:us-east-1:000000000000:src",
    "Target":"arn:aws:events:us-east-1:000000000000:api-destination/d/1234"})")
      .as_object();
}

TEST(PipeSpec, CompilesAMinimalPipe) {
  auto plan = CompilePipe(Base(), kP, Resolver());
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_EQ(plan->source_queue, "src");
  EXPECT_EQ(plan->target_kind, TargetKind::kApiDestination);
  EXPECT_EQ(plan->target_resource, "d");
  EXPECT_EQ(plan->batch_size, 10);
  EXPECT_EQ(plan->arn, "arn:aws:pipes:us-east-1:000000000000:pipe/p");
}

TEST(PipeSpec, RejectsOtherSourcesAndBigBatchesWithoutWindow) {
  auto p = Base();
  p["Source"] = "arn:aws:kinesis:us-east-1:000000000000:stream/s";
  EXPECT_FALSE(CompilePipe(p, kP, Resolver()).ok());
  p = Base();
  p["SourceParameters"] = json::parse(R"({"SqsQueueParameters":{"BatchSize":100}})");
  auto r = CompilePipe(p, kP, Resolver());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("sourceParameters.sqsQueueParameters.batchSize"),
            std::string::npos);
  p["SourceParameters"] =
      json::parse(R"({"SqsQueueParameters":{"BatchSize":100,"MaximumBatchingWindowInSeconds":2}})");
  EXPECT_TRUE(CompilePipe(p, kP, Resolver()).ok());
}

TEST(PipeSpec, FiltersAreCompiled) {
  auto p = Base();
  p["SourceParameters"] =
      json::parse(R"({"FilterCriteria":{"Filters":[{"Pattern":"{\"body\":{\"k\":[\"v\"]}}"}]}})");
  auto plan = CompilePipe(p, kP, Resolver());
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  ASSERT_NE(plan->filter, nullptr);
  std::vector<uint32_t> ids;
  plan->filter->Match(R"({"body":{"k":"v"}})", &ids);
  EXPECT_EQ(ids.size(), 1u);
  p["SourceParameters"] =
      json::parse(R"({"FilterCriteria":{"Filters":[{"Pattern":"{\"body\":1}"}]}})");
  EXPECT_FALSE(CompilePipe(p, kP, Resolver()).ok());
}

TEST(PipeSpec, MergeUpdateReplacesSubObjects) {
  auto stored = Base();
  stored["TargetParameters"] =
      json::parse(R"({"InputTemplate":"x","HttpParameters":{"HeaderParameters":{"a":"1"}}})");
  stored["Enrichment"] = kDest;
  auto merged = MergeUpdate(
      stored,
      json::parse(R"({"Enrichment":"","TargetParameters":{"InputTemplate":"y"}})").as_object());
  EXPECT_FALSE(merged.contains("Enrichment"));
  EXPECT_EQ(merged["TargetParameters"].at("InputTemplate").as_string(), "y");
  EXPECT_TRUE(merged["TargetParameters"].as_object().contains("HttpParameters"));
}

}  // namespace
}  // namespace bp::pipes
