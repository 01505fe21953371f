#include "auth/secret_box.h"

#include <gtest/gtest.h>

#include <set>

namespace bp::auth {
namespace {

const std::string kKey(32, '\x42');

SecretBox MakeBox(const std::string& key = kKey) {
  auto box = SecretBox::Create(key);
  EXPECT_TRUE(box.ok()) << box.status().ToString();
  return *box;
}

TEST(SecretBoxTest, RejectsKeysThatAreNot32Bytes) {
  EXPECT_EQ(SecretBox::Create(std::string(31, 'k')).status().code(), StatusCode::kValidation);
  EXPECT_EQ(SecretBox::Create(std::string(33, 'k')).status().code(), StatusCode::kValidation);
  EXPECT_FALSE(SecretBox::Create("").ok());
}

TEST(SecretBoxTest, SealThenOpenRoundTrips) {
  SecretBox box = MakeBox();
  for (std::string plain : {std::string(), std::string("s3cret"), std::string(5000, 'x'),
                            std::string("bin\0ary\xff", 8)}) {
    std::string sealed = box.Seal(plain, "arn:conn/a");
    EXPECT_EQ(sealed.size(), plain.size() + SecretBox::kOverhead);
    EXPECT_EQ(static_cast<uint8_t>(sealed[0]), SecretBox::kVersion);
    if (!plain.empty()) {
      EXPECT_EQ(sealed.find(plain), std::string::npos);
    }
    auto opened = box.Open(sealed, "arn:conn/a");
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    EXPECT_EQ(*opened, plain);
  }
}

TEST(SecretBoxTest, EachSealUsesAFreshNonce) {
  SecretBox box = MakeBox();
  std::set<std::string> seen;
  for (int i = 0; i < 50; ++i) seen.insert(box.Seal("same", "aad"));
  EXPECT_EQ(seen.size(), 50u);
}

TEST(SecretBoxTest, AnyFlippedBitIsDetected) {
  SecretBox box = MakeBox();
  const std::string sealed = box.Seal("password123", "aad");
  for (size_t i = 0; i < sealed.size(); ++i) {
    std::string bad = sealed;
    bad[i] = static_cast<char>(bad[i] ^ 0x01);
    auto opened = box.Open(bad, "aad");
    EXPECT_FALSE(opened.ok()) << "byte " << i;
    EXPECT_EQ(opened.status().code(), StatusCode::kCorruption);
  }
}

TEST(SecretBoxTest, WrongAadOrKeyFails) {
  SecretBox box = MakeBox();
  const std::string sealed = box.Seal("password123", "arn:conn/a#ClientSecret");
  EXPECT_FALSE(box.Open(sealed, "arn:conn/b#ClientSecret").ok());
  EXPECT_FALSE(box.Open(sealed, "").ok());
  SecretBox other = MakeBox(std::string(32, '\x43'));
  EXPECT_FALSE(other.Open(sealed, "arn:conn/a#ClientSecret").ok());
  EXPECT_TRUE(box.Open(sealed, "arn:conn/a#ClientSecret").ok());
}

TEST(SecretBoxTest, TruncatedOrEmptyInputFails) {
  SecretBox box = MakeBox();
  const std::string sealed = box.Seal("abc", "aad");
  EXPECT_FALSE(box.Open("", "aad").ok());
  EXPECT_FALSE(box.Open(sealed.substr(0, SecretBox::kOverhead - 1), "aad").ok());
  EXPECT_FALSE(box.Open(sealed.substr(0, sealed.size() - 1), "aad").ok());
  EXPECT_FALSE(box.Open(sealed + "x", "aad").ok());
}

}  // namespace
}  // namespace bp::auth
