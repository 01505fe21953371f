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

TEST(ConfigTest, ClusterFlags) {
  auto c = Parse({"--postgres", "postgresql://bp@127.0.0.1:5432/bridgeport", "--node-id", "n1",
                  "--lease-ms", "2000", "--clock-skew-allowance-ms", "250"});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->postgres_url, "postgresql://bp@127.0.0.1:5432/bridgeport");
  EXPECT_EQ(c->node_id, "n1");
  EXPECT_EQ(c->lease_ms, 2000);
  EXPECT_EQ(c->clock_skew_allowance_ms, 250);
  EXPECT_TRUE(Parse({}).value().postgres_url.empty());
  EXPECT_FALSE(Parse({"--lease-ms", "10"}).ok());
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

TEST(ConfigTest, EventSizeBodyLimitAndKeyAccounts) {
  auto c = Parse({});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->max_event_bytes, 1u << 20);
  EXPECT_EQ(c->EffectiveMaxBodyBytes(), 3u * (1u << 20) + (64u << 10));
  c = Parse({"--max-event-bytes", "4194304", "--key-account", "AK:111122223333:o-1"});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->EffectiveMaxBodyBytes(), 3u * 4194304 + (64u << 10));
  EXPECT_EQ(c->key_accounts.at("AK").account, "111122223333");
  EXPECT_EQ(c->key_accounts.at("AK").organization, "o-1");
  c = Parse({"--max-body-bytes", "2048"});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->EffectiveMaxBodyBytes(), 2048u);
  EXPECT_FALSE(Parse({"--key-account", "AK:123"}).ok());
  EXPECT_FALSE(Parse({"--max-event-bytes", "10"}).ok());
  std::string path = ::testing::TempDir() + "bp_config_keys.json";
  {
    std::ofstream f(path);
    f << R"({"access_keys":[{"id":"B","secret":"s","account":"444455556666"}],
             "max_event_bytes":2048,"limits":{"max_pattern_length":4096}})";
  }
  c = Parse({"--config", path});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->key_accounts.at("B").account, "444455556666");
  EXPECT_EQ(c->max_event_bytes, 2048u);
  EXPECT_EQ(c->limits.max_pattern_length, 4096);
  std::remove(path.c_str());
}

TEST(ConfigTest, HardeningFlagsAndKeys) {
  auto d = Parse({});
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->egress_allow_private, -1);
  EXPECT_EQ(d->max_payload_bytes, 0u);
  EXPECT_EQ(d->max_pending_deliveries, 2'000'000);
  EXPECT_EQ(d->max_store_bytes, 0);

  std::string path = ::testing::TempDir() + "bp_config_hardening.json";
  {
    std::ofstream f(path);
    f << R"({"egress_allow":["10.0.0.0/8"],"egress_allow_private":false,
             "max_payload_bytes":65536,"max_pending_deliveries":10,"max_store_bytes":1000000})";
  }
  auto c =
      Parse({"--config", path, "--egress-allow", "hooks.example", "--max-pending-deliveries", "0"});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->egress_allow, (std::vector<std::string>{"10.0.0.0/8", "hooks.example"}));
  EXPECT_EQ(c->egress_allow_private, 0);
  EXPECT_EQ(c->max_payload_bytes, 65536u);
  EXPECT_EQ(c->max_pending_deliveries, 0);
  EXPECT_EQ(c->max_store_bytes, 1000000);
  std::remove(path.c_str());

  EXPECT_FALSE(Parse({"--egress-allow-private", "maybe"}).ok());
  EXPECT_FALSE(Parse({"--max-payload-bytes", "10"}).ok());
  EXPECT_FALSE(Parse({"--max-store-bytes", "-1"}).ok());
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
