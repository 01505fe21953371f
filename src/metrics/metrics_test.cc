#include "metrics/metrics.h"

#include <gtest/gtest.h>

namespace bp::metrics {
namespace {

TEST(MetricsTest, RendersCountersGaugesHistograms) {
  Registry r;
  r.GetCounter("bridgeport_events_ingested_total", "Events accepted", {{"bus", "default"}}).Inc(3);
  r.GetGauge("bridgeport_destination_backlog", "Backlog",
             {{"destination", "d\"1"}, {"state", "ready"}})
      .Set(7);
  auto& h = r.GetHistogram("bridgeport_attempt_duration_seconds", "Attempt duration", {}, {0.1, 1});
  h.Observe(0.05);
  h.Observe(0.5);
  h.Observe(5);
  std::string text = r.Render();
  EXPECT_NE(text.find("# TYPE bridgeport_events_ingested_total counter"), std::string::npos);
  EXPECT_NE(text.find("bridgeport_events_ingested_total{bus=\"default\"} 3"), std::string::npos);
  EXPECT_NE(text.find("bridgeport_destination_backlog{destination=\"d\\\"1\",state=\"ready\"} 7"),
            std::string::npos);
  EXPECT_NE(text.find("bridgeport_attempt_duration_seconds_bucket{le=\"0.1\"} 1"),
            std::string::npos);
  EXPECT_NE(text.find("bridgeport_attempt_duration_seconds_bucket{le=\"1\"} 2"), std::string::npos);
  EXPECT_NE(text.find("bridgeport_attempt_duration_seconds_bucket{le=\"+Inf\"} 3"),
            std::string::npos);
  EXPECT_NE(text.find("bridgeport_attempt_duration_seconds_count 3"), std::string::npos);
}

TEST(MetricsTest, HistogramsListsEverySeriesOfAName) {
  Registry r;
  r.GetHistogram("lat", "Latency", {{"destination", "a"}}, {0.1, 1}).Observe(0.05);
  r.GetHistogram("lat", "Latency", {{"destination", "b"}}, {0.1, 1}).Observe(0.5);
  auto series = r.Histograms("lat");
  ASSERT_EQ(series.size(), 2u);
  EXPECT_EQ(LabelValue(series[0].first, "destination"), "a");
  EXPECT_EQ(LabelValue(series[1].first, "destination"), "b");
  std::vector<uint64_t> cum;
  double sum = 0;
  uint64_t count = 0;
  series[1].second->Snapshot(&cum, &sum, &count);
  EXPECT_EQ(count, 1u);
  EXPECT_EQ(cum[0], 0u);
  EXPECT_TRUE(r.Histograms("nope").empty());
  EXPECT_TRUE(r.Histograms("lat_total").empty());
}

TEST(MetricsTest, ValuesAndLabelValue) {
  Registry r;
  r.GetCounter("starts_total", "Starts", {{"destination", "a,\"b\""}}).Inc(4);
  r.GetGauge("limit", "Limit", {{"destination", "x"}, {"state", "ready"}}).Set(2.5);
  auto starts = r.Values("starts_total");
  ASSERT_EQ(starts.size(), 1u);
  EXPECT_EQ(starts[0].second, 4);
  EXPECT_EQ(LabelValue(starts[0].first, "destination"), "a,\"b\"");
  auto limit = r.Values("limit");
  ASSERT_EQ(limit.size(), 1u);
  EXPECT_EQ(limit[0].second, 2.5);
  EXPECT_EQ(LabelValue(limit[0].first, "state"), "ready");
  EXPECT_EQ(LabelValue(limit[0].first, "missing"), "");
  EXPECT_TRUE(r.Values("unknown").empty());
}

}  // namespace
}  // namespace bp::metrics
