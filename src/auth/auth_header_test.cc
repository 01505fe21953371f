#include "auth/auth_header.h"

#include <gtest/gtest.h>

#include "auth/encoding.h"

namespace bp::auth {
namespace {

std::optional<std::pair<std::string, std::string>> Basic(std::string user, std::string pass) {
  StaticAuthParams p;
  p.username = std::move(user);
  p.password = std::move(pass);
  return StaticAuthHeader(StaticAuthType::kBasic, p);
}

std::optional<std::pair<std::string, std::string>> ApiKey(std::string name, std::string value) {
  StaticAuthParams p;
  p.api_key_name = std::move(name);
  p.api_key_value = std::move(value);
  return StaticAuthHeader(StaticAuthType::kApiKey, p);
}

TEST(EncodingTest, Base64Rfc4648Vectors) {
  const std::pair<std::string, std::string> vectors[] = {{"", ""},
                                                         {"f", "Zg=="},
                                                         {"fo", "Zm8="},
                                                         {"foo", "Zm9v"},
                                                         {"foob", "Zm9vYg=="},
                                                         {"fooba", "Zm9vYmE="},
                                                         {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(Base64Encode(plain), encoded);
    EXPECT_EQ(Base64Decode(encoded).value(), plain);
  }
  EXPECT_EQ(Base64Decode("Zm9vYg").value(), "foob");  // padding optional
  EXPECT_FALSE(Base64Decode("Zm9v!").has_value());
  EXPECT_FALSE(Base64Decode("Z").has_value());
}

TEST(EncodingTest, UrlEncodeKeepsOnlyUnreserved) {
  EXPECT_EQ(UrlEncode("AZaz09-._~"), "AZaz09-._~");
  EXPECT_EQ(UrlEncode("a b+c&d=e/f?g%h"), "a%20b%2Bc%26d%3De%2Ff%3Fg%25h");
  EXPECT_EQ(UrlEncode("\xc3\xa9"), "%C3%A9");
}

TEST(EncodingTest, HexDecode) {
  EXPECT_EQ(HexDecode("00ffA1").value(), std::string("\x00\xff\xa1", 3));
  EXPECT_FALSE(HexDecode("abc").has_value());
  EXPECT_FALSE(HexDecode("zz").has_value());
}

TEST(StaticAuthHeaderTest, BasicUsesRfc7617Encoding) {
  auto h = Basic("Aladdin", "open sesame");
  ASSERT_TRUE(h.has_value());
  EXPECT_EQ(h->first, "Authorization");
  EXPECT_EQ(h->second, "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
}

TEST(StaticAuthHeaderTest, BasicIsNotUrlEncoded) {
  auto h = Basic("a b", "p:w@");
  ASSERT_TRUE(h.has_value());
  EXPECT_EQ(h->second, "Basic " + Base64Encode("a b:p:w@"));
}

TEST(StaticAuthHeaderTest, ApiKeyUsesNamedHeader) {
  auto h = ApiKey("x-api-key", "k3y value");
  ASSERT_TRUE(h.has_value());
  EXPECT_EQ(h->first, "x-api-key");
  EXPECT_EQ(h->second, "k3y value");
}

TEST(StaticAuthHeaderTest, RejectsHeaderInjectionAndMissingFields) {
  EXPECT_FALSE(Basic("", "p"));
  EXPECT_FALSE(Basic("u", "p\r\nX: y"));
  EXPECT_FALSE(ApiKey("x-key", "v\nInjected: 1"));
  EXPECT_FALSE(ApiKey("bad name", "v"));
  EXPECT_FALSE(ApiKey("x-key:", "v"));
  EXPECT_FALSE(ApiKey("x-key", ""));
}

}  // namespace
}  // namespace bp::auth
