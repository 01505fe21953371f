#include "auth/master_key.h"

#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "auth/encoding.h"
#include "common/ids.h"

namespace bp::auth {
namespace {

class MasterKeyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/bp_master_key_test_XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    env_ = "BP_TEST_MASTER_KEY_" + std::to_string(::getpid());
    ::unsetenv(env_.c_str());
  }
  void TearDown() override {
    ::unsetenv(env_.c_str());
    std::filesystem::remove_all(dir_);
  }

  std::string WriteFile(const std::string& name, const std::string& content, mode_t mode) {
    std::string path = dir_ + "/" + name;
    {
      std::ofstream out(path, std::ios::binary);
      out << content;
    }
    EXPECT_EQ(::chmod(path.c_str(), mode), 0);
    return path;
  }

  MasterKeyOptions Options() {
    MasterKeyOptions o;
    o.env_var = env_;
    return o;
  }

  std::string dir_;
  std::string env_;
};

const std::string kRaw = std::string("0123456789abcdef0123456789ABCDEF");

TEST_F(MasterKeyTest, GeneratesKeyWithMode0600AndReusesIt) {
  MasterKeyOptions o = Options();
  o.data_dir = dir_ + "/data";  // does not exist yet
  auto first = LoadMasterKey(o);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->size(), 32u);

  struct stat st {};
  ASSERT_EQ(::stat((o.data_dir + "/master.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_TRUE(S_ISREG(st.st_mode));

  auto second = LoadMasterKey(o);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(*first, *second);

  // Only the key file remains: no temporary files left behind.
  int entries = 0;
  for (const auto& e : std::filesystem::directory_iterator(o.data_dir)) {
    ++entries;
    EXPECT_EQ(e.path().filename(), "master.key");
  }
  EXPECT_EQ(entries, 1);
}

TEST_F(MasterKeyTest, TwoDataDirsGetDifferentKeys) {
  MasterKeyOptions a = Options(), b = Options();
  a.data_dir = dir_ + "/a";
  b.data_dir = dir_ + "/b";
  auto ka = LoadMasterKey(a), kb = LoadMasterKey(b);
  ASSERT_TRUE(ka.ok() && kb.ok());
  EXPECT_NE(*ka, *kb);
}

TEST_F(MasterKeyTest, RefusesKeyFileReadableByOthers) {
  MasterKeyOptions o = Options();
  o.key_file = WriteFile("k", HexEncode(kRaw), 0644);
  auto key = LoadMasterKey(o);
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.status().code(), StatusCode::kValidation);
  EXPECT_NE(key.status().message().find("0644"), std::string::npos) << key.status().message();
  EXPECT_NE(key.status().message().find("chmod 600"), std::string::npos);

  ASSERT_EQ(::chmod(o.key_file.c_str(), 0640), 0);
  EXPECT_FALSE(LoadMasterKey(o).ok());
  ASSERT_EQ(::chmod(o.key_file.c_str(), 0400), 0);
  EXPECT_TRUE(LoadMasterKey(o).ok());
}

TEST_F(MasterKeyTest, RefusesGeneratedKeyFileWhosePermissionsWereWidened) {
  MasterKeyOptions o = Options();
  o.data_dir = dir_;
  ASSERT_TRUE(LoadMasterKey(o).ok());
  ASSERT_EQ(::chmod((dir_ + "/master.key").c_str(), 0604), 0);
  EXPECT_EQ(LoadMasterKey(o).status().code(), StatusCode::kValidation);
}

TEST_F(MasterKeyTest, RefusesWrongLength) {
  MasterKeyOptions o = Options();
  o.key_file = WriteFile("short", "0123456789", 0600);
  auto key = LoadMasterKey(o);
  ASSERT_FALSE(key.ok());
  EXPECT_NE(key.status().message().find("10 bytes"), std::string::npos) << key.status().message();
  o.key_file = WriteFile("hex62", HexEncode(kRaw).substr(2), 0600);
  EXPECT_FALSE(LoadMasterKey(o).ok());
  o.key_file = WriteFile("empty", "", 0600);
  EXPECT_FALSE(LoadMasterKey(o).ok());

  // A truncated generated key is refused, not silently regenerated.
  MasterKeyOptions g = Options();
  g.data_dir = dir_ + "/gen";
  ASSERT_EQ(::mkdir(g.data_dir.c_str(), 0700), 0);
  WriteFile("gen/master.key", "abcd", 0600);
  EXPECT_EQ(LoadMasterKey(g).status().code(), StatusCode::kValidation);
}

TEST_F(MasterKeyTest, AcceptsRawHexAndBase64KeyFiles) {
  MasterKeyOptions o = Options();
  o.key_file = WriteFile("raw", kRaw, 0600);
  EXPECT_EQ(LoadMasterKey(o).value(), kRaw);
  o.key_file = WriteFile("hex", HexEncode(kRaw) + "\n", 0600);
  EXPECT_EQ(LoadMasterKey(o).value(), kRaw);
  o.key_file = WriteFile("b64", Base64Encode(kRaw) + "\n", 0600);
  EXPECT_EQ(LoadMasterKey(o).value(), kRaw);
}

TEST_F(MasterKeyTest, EnvironmentVariableHexOrBase64) {
  MasterKeyOptions o = Options();
  o.data_dir = dir_;  // must not be used while the variable is set
  ASSERT_EQ(::setenv(env_.c_str(), HexEncode(kRaw).c_str(), 1), 0);
  EXPECT_EQ(LoadMasterKey(o).value(), kRaw);
  ASSERT_EQ(::setenv(env_.c_str(), Base64Encode(kRaw).c_str(), 1), 0);
  EXPECT_EQ(LoadMasterKey(o).value(), kRaw);
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/master.key"));

  ASSERT_EQ(::setenv(env_.c_str(), "not-a-key", 1), 0);
  auto bad = LoadMasterKey(o);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find(env_), std::string::npos);
  EXPECT_EQ(bad.status().message().find("not-a-key"), std::string::npos);  // value not echoed
}

TEST_F(MasterKeyTest, KeyFileWinsOverEnvironment) {
  MasterKeyOptions o = Options();
  ASSERT_EQ(::setenv(env_.c_str(), HexEncode(std::string(32, 'e')).c_str(), 1), 0);
  o.key_file = WriteFile("raw", kRaw, 0600);
  EXPECT_EQ(LoadMasterKey(o).value(), kRaw);
}

TEST_F(MasterKeyTest, NoSourceIsAnError) {
  EXPECT_EQ(LoadMasterKey(Options()).status().code(), StatusCode::kValidation);
  MasterKeyOptions o = Options();
  o.key_file = dir_ + "/missing";
  EXPECT_EQ(LoadMasterKey(o).status().code(), StatusCode::kIoError);
}

}  // namespace
}  // namespace bp::auth
