#include "cluster/cluster_node.h"

#include <gtest/gtest.h>

#include <map>

namespace bp::cluster {
namespace {

TEST(RendezvousOwner, EveryNodeAgreesAndLanesSpread) {
  std::vector<std::string> nodes = {"a", "b", "c"};
  std::map<std::string, int> counts;
  for (int i = 0; i < 300; ++i) {
    std::string lane = "api/dest-" + std::to_string(i);
    std::string owner = RendezvousOwner(nodes, lane);
    ASSERT_FALSE(owner.empty());
    // Order of the node list does not matter.
    EXPECT_EQ(RendezvousOwner({"c", "a", "b"}, lane), owner);
    counts[owner]++;
  }
  for (const auto& n : nodes) EXPECT_GT(counts[n], 50) << n;
  EXPECT_EQ(RendezvousOwner({}, "api/x"), "");
}

TEST(RendezvousOwner, ALeavingNodeMovesOnlyItsOwnLanes) {
  std::vector<std::string> three = {"a", "b", "c"}, two = {"a", "b"};
  for (int i = 0; i < 200; ++i) {
    std::string lane = "sqs/q" + std::to_string(i);
    std::string before = RendezvousOwner(three, lane);
    std::string after = RendezvousOwner(two, lane);
    if (before != "c") {
      EXPECT_EQ(before, after) << lane;
    }
  }
}

}  // namespace
}  // namespace bp::cluster
