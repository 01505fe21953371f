#include "secrets/secret_store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <filesystem>

namespace bp::secrets {
namespace {

namespace json = boost::json;

json::object J(std::string_view text) { return json::parse(text).as_object(); }

Sealer XorSealer() {
  auto flip = [](std::string_view p) {
    std::string out(p);
    for (auto& c : out) c = static_cast<char>(c ^ 0x5a);
    return out;
  };
  return {
      [flip](std::string_view p, std::string_view) { return flip(p); },
      [flip](std::string_view p, std::string_view) -> StatusOr<std::string> { return flip(p); }};
}

class SecretStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("bp_secrets_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    Reopen();
  }
  void TearDown() override {
    secrets_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  void Reopen() {
    secrets_.reset();
    store_.reset();
    store_ = std::move(store::OpenRocksStore({.path = dir_.string()})).value();
    secrets_ = std::move(SecretStore::Open(*store_, clock_, {}, XorSealer())).value();
  }
  std::filesystem::path dir_;
  ManualClock clock_{1'700'000'000'000'000};
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<SecretStore> secrets_;
};

TEST_F(SecretStoreTest, CreateGetPutAndVersionsSurviveReopen) {
  auto c = secrets_->CreateSecret(J(R"({"Name":"api/key","SecretString":"v1"})"));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  std::string arn(c->at("ARN").as_string());
  EXPECT_TRUE(arn.starts_with("arn:aws:secretsmanager:us-east-1:000000000000:secret:api/key-"));
  ASSERT_TRUE(secrets_->PutSecretValue(J(R"({"SecretId":"api/key","SecretString":"v2"})")).ok());
  Reopen();
  auto cur = secrets_->GetSecretValue(J(R"({"SecretId":"api/key"})"));
  ASSERT_TRUE(cur.ok());
  EXPECT_EQ(cur->at("SecretString"), "v2");
  auto prev =
      secrets_->GetSecretValue(json::object{{"SecretId", arn}, {"VersionStage", "AWSPREVIOUS"}});
  ASSERT_TRUE(prev.ok()) << prev.status().ToString();
  EXPECT_EQ(prev->at("SecretString"), "v1");
  // A partial ARN (without the random suffix) finds the secret too.
  auto partial = secrets_->ResolveValue(arn.substr(0, arn.size() - 7), "", "", "");
  ASSERT_TRUE(partial.ok());
  EXPECT_EQ(*partial, "v2");
}

TEST_F(SecretStoreTest, ValuesAreNotStoredInClearText) {
  ASSERT_TRUE(
      secrets_->CreateSecret(J(R"({"Name":"s","SecretString":"plain-secret-value"})")).ok());
  bool leaked = false;
  ASSERT_TRUE(store_
                  ->Scan(store::Family::kMeta, "", "",
                         [&](std::string_view, std::string_view v) {
                           leaked |= v.find("plain-secret-value") != std::string_view::npos;
                           return true;
                         })
                  .ok());
  EXPECT_FALSE(leaked);
}

TEST_F(SecretStoreTest, ErrorsUseSecretsManagerNames) {
  auto missing = secrets_->GetSecretValue(J(R"({"SecretId":"nope"})"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(ExceptionName(missing.status().code()), "ResourceNotFoundException");
  ASSERT_TRUE(secrets_->CreateSecret(J(R"({"Name":"dup","SecretString":"x"})")).ok());
  auto dup = secrets_->CreateSecret(J(R"({"Name":"dup","SecretString":"x"})"));
  EXPECT_EQ(ExceptionName(dup.status().code()), "ResourceExistsException");
  auto bad = secrets_->CreateSecret(J(R"({"Name":"bad name!","SecretString":"x"})"));
  EXPECT_EQ(ExceptionName(bad.status().code()), "InvalidParameterException");
}

TEST_F(SecretStoreTest, DeleteWithRecoveryWindowThenPurge) {
  ASSERT_TRUE(secrets_->CreateSecret(J(R"({"Name":"d","SecretString":"x"})")).ok());
  ASSERT_TRUE(secrets_->DeleteSecret(J(R"({"SecretId":"d","RecoveryWindowInDays":7})")).ok());
  auto get = secrets_->GetSecretValue(J(R"({"SecretId":"d"})"));
  EXPECT_EQ(ExceptionName(get.status().code()), "InvalidRequestException");
  auto listed = secrets_->ListSecrets(J(R"({})"));
  EXPECT_TRUE(listed->at("SecretList").as_array().empty());
  clock_.AdvanceMicros(8LL * 86400 * 1'000'000);
  EXPECT_EQ(ExceptionName(secrets_->DescribeSecret(J(R"({"SecretId":"d"})")).status().code()),
            "ResourceNotFoundException");
  ASSERT_TRUE(secrets_->CreateSecret(J(R"({"Name":"d","SecretString":"y"})")).ok());
}

TEST_F(SecretStoreTest, JsonKeyResolutionAndPasswords) {
  ASSERT_TRUE(
      secrets_->CreateSecret(J(R"({"Name":"j","SecretString":"{\"k\":\"v\",\"n\":5}"})")).ok());
  EXPECT_EQ(*secrets_->ResolveValue("j", "k", "", ""), "v");
  EXPECT_EQ(*secrets_->ResolveValue("j", "n", "", ""), "5");
  EXPECT_FALSE(secrets_->ResolveValue("j", "missing", "", "").ok());
  PasswordOptions o;
  o.length = 20;
  o.exclude_punctuation = true;
  auto pw = GeneratePassword(o);
  ASSERT_TRUE(pw.ok());
  EXPECT_EQ(pw->size(), 20u);
  EXPECT_EQ(pw->find_first_of("!#$%&*"), std::string::npos);
}

}  // namespace
}  // namespace bp::secrets
