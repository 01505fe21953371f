#include "server/config.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <vector>

namespace bp::server {
namespace {

StatusOr<Config> Parse(std::vector<std::string> args) {
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  return ParseServeFlags(static_cast<int>(argv.size()), argv.data());
}

TEST(ConfigTest, Defaults) {
  auto c = Parse({});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->listen_host, "127.0.0.1");
  EXPECT_EQ(c->listen_port, 4010);
  EXPECT_EQ(c->region, "us-east-1");
  EXPECT_EQ(c->account, "000000000000");
  EXPECT_TRUE(c->IsLoopback());
  EXPECT_TRUE(c->allow_unsigned_on_loopback);
}

TEST(ConfigTest, FlagsOverrideConfigFile) {
  std::string path = ::testing::TempDir() + "bp_config_test.json";
  {
    std::ofstream f(path);
    f << R"({"listen":"0.0.0.0:5000","region":"eu-west-1","access_keys":[{"id":"AK","secret":"s"}],
             "limits":{"max_rules_per_bus":7}})";
  }
  auto c = Parse({"--config", path, "--region", "ap-south-1", "--access-key=AK2:s2"});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->listen_host, "0.0.0.0");
  EXPECT_EQ(c->listen_port, 5000);
  EXPECT_FALSE(c->IsLoopback());
  EXPECT_EQ(c->region, "ap-south-1");
  EXPECT_EQ(c->access_keys.size(), 2u);
  EXPECT_EQ(c->limits.max_rules_per_bus, 7);
  std::remove(path.c_str());
}

TEST(ConfigTest, RejectsBadInput) {
  EXPECT_FALSE(Parse({"--listen", "nohostport"}).ok());
  EXPECT_FALSE(Parse({"--listen", "127.0.0.1:70000"}).ok());
  EXPECT_FALSE(Parse({"--account", "123"}).ok());
  EXPECT_FALSE(Parse({"--access-key", "nocolon"}).ok());
  EXPECT_FALSE(Parse({"--frobnicate"}).ok());
  EXPECT_FALSE(Parse({"--data-dir"}).ok());
  EXPECT_FALSE(Parse({"--config", "/nonexistent/bridgeport.json"}).ok());
}

TEST(ConfigTest, MaxClientConnections) {
  auto c = Parse({});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->max_client_connections, 10000u);
  c = Parse({"--max-client-connections", "64"});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->max_client_connections, 64u);
  // Distinct from --max-connections (the EventBridge connection limit).
  EXPECT_EQ(c->limits.max_connections, Parse({})->limits.max_connections);
  std::string path = ::testing::TempDir() + "bp_config_mcc.json";
  {
    std::ofstream f(path);
    f << R"({"max_client_connections": 12})";
  }
  c = Parse({"--config", path});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->max_client_connections, 12u);
  std::remove(path.c_str());
  EXPECT_FALSE(Parse({"--max-client-connections", "0"}).ok());
  EXPECT_FALSE(Parse({"--max-client-connections", "many"}).ok());
}

}  // namespace
}  // namespace bp::server
