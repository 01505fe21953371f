#include "registry/registry.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>

#include "pattern/pattern.h"

namespace bp::registry {
namespace {

namespace json = boost::json;

json::object J(std::string_view text) { return json::parse(text).as_object(); }

// A reversible but non-trivial sealer so tests can check nothing is stored in plaintext.
SecretSealer TestSealer() {
  SecretSealer s;
  s.seal = [](std::string_view p, std::string_view) {
    std::string out(p);
    for (auto& c : out) c = static_cast<char>(c ^ 0x5a);
    return out;
  };
  s.open = [](std::string_view p, std::string_view) -> StatusOr<std::string> {
    std::string out(p);
    for (auto& c : out) c = static_cast<char>(c ^ 0x5a);
    return out;
  };
  return s;
}

class RegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("bp_registry_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    Reopen();
  }
  void TearDown() override {
    registry_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  void Reopen() {
    registry_.reset();
    store_.reset();
    store_ = std::move(store::OpenRocksStore({.path = dir_.string()})).value();
    RegistryOptions opts;
    opts.queue_exists = [](std::string_view) { return true; };
    opts.egress_refusal = [](std::string_view url) -> std::optional<std::string> {
      if (url.find("169.254.") == std::string_view::npos) return std::nullopt;
      return "connection to 169.254.169.254:80 is denied by the egress policy (test)";
    };
    registry_ = std::move(Registry::Open(*store_, clock_, opts, TestSealer())).value();
  }
  std::string MakeDestination() {
    auto c = registry_->CreateConnection(J(R"({"Name":"c1","AuthorizationType":"API_KEY",
        "AuthParameters":{"ApiKeyAuthParameters":{"ApiKeyName":"x-api-key","ApiKeyValue":"sekrit-value-123"}}})"));
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    json::object d;
    d["Name"] = "d1";
    d["ConnectionArn"] = (*c)["ConnectionArn"];
    d["InvocationEndpoint"] = "http://127.0.0.1:9/hook";
    d["HttpMethod"] = "POST";
    d["InvocationRateLimitPerSecond"] = 5;
    auto r = registry_->CreateApiDestination(d);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return std::string((*r)["ApiDestinationArn"].as_string());
  }

  ManualClock clock_;
  std::filesystem::path dir_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<Registry> registry_;
};

TEST_F(RegistryTest, DefaultBusExistsAndCannotBeRecreatedOrDeleted) {
  auto d = registry_->DescribeEventBus(J("{}"));
  ASSERT_TRUE(d.ok());
  EXPECT_EQ((*d)["Name"].as_string(), "default");
  EXPECT_EQ(registry_->CreateEventBus(J(R"({"Name":"default"})")).status().code(),
            StatusCode::kAlreadyExists);
  EXPECT_EQ(registry_->DeleteEventBus(J(R"({"Name":"default"})")).status().code(),
            StatusCode::kValidation);
}

TEST_F(RegistryTest, RulesTargetsLimitsAndPersistence) {
  ASSERT_TRUE(registry_->CreateEventBus(J(R"({"Name":"orders"})")).ok());
  auto rule = registry_->PutRule(
      J(R"({"Name":"r1","EventBusName":"orders","EventPattern":"{\"source\":[\"shop\"]}"})"));
  ASSERT_TRUE(rule.ok()) << rule.status().ToString();
  EXPECT_EQ((*rule)["RuleArn"].as_string(), "arn:aws:events:us-east-1:000000000000:rule/orders/r1");
  EXPECT_EQ(registry_->PutRule(J(R"({"Name":"bad","EventPattern":"{\"a\":1}"})")).status().code(),
            StatusCode::kInvalidEventPattern);
  EXPECT_EQ(registry_
                ->PutRule(J(
                    R"({"Name":"r","EventBusName":"nope","EventPattern":"{\"source\":[\"x\"]}"})"))
                .status()
                .code(),
            StatusCode::kNotFound);

  std::string dest = MakeDestination();
  for (int i = 0; i < 5; ++i) {
    json::object in = J(R"({"Rule":"r1","EventBusName":"orders"})");
    json::array targets;
    json::object t;
    t["Id"] = "t" + std::to_string(i);
    t["Arn"] = dest;
    targets.push_back(t);
    in["Targets"] = targets;
    ASSERT_TRUE(registry_->PutTargets(in).ok());
  }
  json::object sixth = J(R"({"Rule":"r1","EventBusName":"orders"})");
  sixth["Targets"] = json::array{json::object{{"Id", "t5"}, {"Arn", dest}}};
  EXPECT_EQ(registry_->PutTargets(sixth).status().code(), StatusCode::kLimitExceeded);
  EXPECT_EQ(registry_->DeleteRule(J(R"({"Name":"r1","EventBusName":"orders"})")).status().code(),
            StatusCode::kValidation);

  auto routes = registry_->Routes("orders");
  ASSERT_TRUE(routes && routes->matcher);
  std::vector<uint32_t> ids;
  routes->matcher->Match(R"({"source":"shop","detail":{}})", &ids);
  ASSERT_EQ(ids.size(), 1u);
  EXPECT_EQ(routes->rules[ids[0]].targets.size(), 5u);

  Reopen();
  auto listed =
      registry_->ListTargetsByRule(J(R"({"Rule":"r1","EventBusName":"orders","Limit":2})"));
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ((*listed)["Targets"].as_array().size(), 2u);
  ASSERT_TRUE((*listed).contains("NextToken"));
  json::object page2 = J(R"({"Rule":"r1","EventBusName":"orders","Limit":10})");
  page2["NextToken"] = (*listed)["NextToken"];
  auto listed2 = registry_->ListTargetsByRule(page2);
  ASSERT_TRUE(listed2.ok());
  EXPECT_EQ((*listed2)["Targets"].as_array().size(), 3u);
  auto view = registry_->FindConnection("c1");
  ASSERT_TRUE(view);
  EXPECT_EQ(view->api_key_value, "sekrit-value-123");
  auto described = registry_->DescribeConnection(J(R"({"Name":"c1"})"));
  EXPECT_EQ(json::serialize(*described).find("sekrit"), std::string::npos);
  // Nothing in the store holds the secret in plaintext.
  bool leaked = false;
  ASSERT_TRUE(store_
                  ->Scan(store::Family::kMeta, "", "",
                         [&](auto k, auto v) {
                           leaked |= std::string(k).find("sekrit") != std::string::npos ||
                                     std::string(v).find("sekrit") != std::string::npos;
                           return true;
                         })
                  .ok());
  EXPECT_FALSE(leaked);
}

TEST_F(RegistryTest, ValidationMessages) {
  auto s = registry_->PutRule(J(R"({"Name":"has space","EventPattern":"{\"source\":[\"x\"]}"})"))
               .status();
  EXPECT_EQ(s.code(), StatusCode::kValidation);
  EXPECT_NE(s.message().find("Member must satisfy regular expression pattern"), std::string::npos);
  auto missing = registry_->DescribeRule(J(R"({"Name":"nope"})")).status();
  EXPECT_EQ(missing.code(), StatusCode::kNotFound);
  EXPECT_EQ(missing.message(), "Rule nope does not exist on EventBus default.");
}

TEST_F(RegistryTest, EgressRefusalIsAValidationError) {
  MakeDestination();
  auto bad = registry_->UpdateApiDestination(
      J(R"({"Name":"d1","InvocationEndpoint":"http://169.254.169.254/latest"})"));
  ASSERT_EQ(bad.status().code(), StatusCode::kValidation);
  EXPECT_NE(bad.status().message().find("at 'invocationEndpoint' failed to satisfy constraint: "
                                        "connection to 169.254.169.254:80 is denied"),
            std::string::npos)
      << bad.status().message();
  auto oauth = registry_->CreateConnection(J(R"({"Name":"o","AuthorizationType":
      "OAUTH_CLIENT_CREDENTIALS","AuthParameters":{"OAuthParameters":{"ClientParameters":
      {"ClientID":"i","ClientSecret":"s"},"AuthorizationEndpoint":"http://169.254.169.254/t",
      "HttpMethod":"POST"}}})"));
  ASSERT_EQ(oauth.status().code(), StatusCode::kValidation);
  EXPECT_NE(oauth.status().message().find("authorizationEndpoint"), std::string::npos);
}

// Two registries on one store stand for two cluster nodes: Reload() makes the other's changes
// visible and withdraws what it deleted.
TEST_F(RegistryTest, ReloadSeesAnotherRegistrysChanges) {
  RegistryOptions opts;
  opts.queue_exists = [](std::string_view) { return true; };
  auto other = std::move(Registry::Open(*store_, clock_, opts, TestSealer())).value();
  std::vector<std::string> heard;
  other->SetConnectionListener([&heard](const std::string& n) { heard.push_back(n); });

  ASSERT_TRUE(registry_->CreateEventBus(J(R"({"Name":"orders"})")).ok());
  ASSERT_TRUE(registry_
                  ->PutRule(J(R"({"Name":"r1","EventBusName":"orders",
                                  "EventPattern":"{\"source\":[\"shop\"]}"})"))
                  .ok());
  MakeDestination();
  EXPECT_FALSE(other->BusExists("orders"));
  ASSERT_TRUE(other->Reload().ok());
  EXPECT_TRUE(other->BusExists("orders"));
  ASSERT_NE(other->Routes("orders"), nullptr);
  EXPECT_EQ(other->Routes("orders")->rules.size(), 1u);
  ASSERT_NE(other->FindDestination("d1"), nullptr);
  ASSERT_NE(other->FindConnection("c1"), nullptr);
  EXPECT_EQ(heard, std::vector<std::string>{"c1"});

  // Unchanged connection: no listener call, same generation.
  uint64_t generation = other->FindConnection("c1")->generation;
  heard.clear();
  ASSERT_TRUE(other->Reload().ok());
  EXPECT_TRUE(heard.empty());
  EXPECT_EQ(other->FindConnection("c1")->generation, generation);

  ASSERT_TRUE(registry_->DeleteApiDestination(J(R"({"Name":"d1"})")).ok());
  ASSERT_TRUE(registry_->DeleteRule(J(R"({"Name":"r1","EventBusName":"orders"})")).ok());
  ASSERT_TRUE(registry_->DeleteEventBus(J(R"({"Name":"orders"})")).ok());
  ASSERT_TRUE(other->Reload().ok());
  EXPECT_FALSE(other->BusExists("orders"));
  EXPECT_EQ(other->Routes("orders"), nullptr);
  EXPECT_EQ(other->FindDestination("d1"), nullptr);
  ASSERT_NE(other->FindConnection("c1"), nullptr);
}

}  // namespace
}  // namespace bp::registry
