#include "auth/oauth.h"

#include <gtest/gtest.h>

#include "auth/encoding.h"
#include "auth/token_fetcher.h"

namespace bp::auth {
namespace {

using Headers = std::vector<std::pair<std::string, std::string>>;

OAuthConfig BaseConfig() {
  OAuthConfig c;
  c.authorization_endpoint = "https://auth.example.com/oauth2/token";
  c.http_method = "POST";
  c.client_id = "my-client";
  c.client_secret = "s3cret";
  return c;
}

TEST(BuildTokenRequestTest, PostWithBasicClientAuthByDefault) {
  TokenRequest r = BuildTokenRequest(BaseConfig());
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.url, "https://auth.example.com/oauth2/token");
  EXPECT_EQ(r.body, "grant_type=client_credentials");
  EXPECT_EQ(r.headers, (Headers{{"Authorization", "Basic " + Base64Encode("my-client:s3cret")},
                                {"Content-Type", "application/x-www-form-urlencoded"},
                                {"Accept", "application/json"}}));
}

TEST(BuildTokenRequestTest, BasicCredentialsAreUrlEncodedBeforeBase64) {
  OAuthConfig c = BaseConfig();
  c.client_id = "id with:colon";
  c.client_secret = "p@ss/+=&";
  TokenRequest r = BuildTokenRequest(c);
  ASSERT_FALSE(r.headers.empty());
  EXPECT_EQ(r.headers[0].second, "Basic " + Base64Encode("id%20with%3Acolon:p%40ss%2F%2B%3D%26"));
}

TEST(BuildTokenRequestTest, BodyClientAuthPutsCredentialsInTheForm) {
  OAuthConfig c = BaseConfig();
  c.client_auth = OAuthConfig::ClientAuth::kBody;
  c.client_secret = "a&b=c d";
  TokenRequest r = BuildTokenRequest(c);
  EXPECT_EQ(r.body,
            "grant_type=client_credentials&client_id=my-client&client_secret=a%26b%3Dc%20d");
  for (const auto& [name, value] : r.headers) EXPECT_NE(name, "Authorization");
}

TEST(BuildTokenRequestTest, GetSendsTheFormInTheQueryString) {
  OAuthConfig c = BaseConfig();
  c.http_method = "get";
  c.authorization_endpoint = "http://127.0.0.1:8080/token?tenant=t1#frag";
  c.query_params = {{"scope", "read write", false}};
  c.body_params = {{"audience", "https://api", false}};
  TokenRequest r = BuildTokenRequest(c);
  EXPECT_EQ(r.method, "GET");
  EXPECT_EQ(r.url,
            "http://127.0.0.1:8080/token?tenant=t1&scope=read%20write&"
            "grant_type=client_credentials&audience=https%3A%2F%2Fapi");
  EXPECT_TRUE(r.body.empty());
  EXPECT_EQ(r.headers, (Headers{{"Authorization", "Basic " + Base64Encode("my-client:s3cret")},
                                {"Accept", "application/json"}}));
}

TEST(BuildTokenRequestTest, PutSendsABodyAndQueryParamsGoToTheUrl) {
  OAuthConfig c = BaseConfig();
  c.http_method = "PUT";
  c.query_params = {{"a", "1", false}, {"b", "x/y", true}};
  TokenRequest r = BuildTokenRequest(c);
  EXPECT_EQ(r.method, "PUT");
  EXPECT_EQ(r.url, "https://auth.example.com/oauth2/token?a=1&b=x%2Fy");
  EXPECT_EQ(r.body, "grant_type=client_credentials");
}

TEST(BuildTokenRequestTest, BodyParamsMergeAndMayOverrideGrantType) {
  OAuthConfig c = BaseConfig();
  c.body_params = {{"scope", "events:write", false}, {"resource", "r 1", true}};
  EXPECT_EQ(BuildTokenRequest(c).body,
            "grant_type=client_credentials&scope=events%3Awrite&resource=r%201");

  c.body_params = {{"scope", "s", false}, {"grant_type", "urn:custom", false}};
  EXPECT_EQ(BuildTokenRequest(c).body, "scope=s&grant_type=urn%3Acustom");
}

TEST(BuildTokenRequestTest, ClientParametersWinOverSameNamedBodyParams) {
  OAuthConfig c = BaseConfig();
  c.client_auth = OAuthConfig::ClientAuth::kBody;
  c.body_params = {{"client_id", "other", false}, {"client_secret", "x", true}};
  EXPECT_EQ(BuildTokenRequest(c).body,
            "grant_type=client_credentials&client_id=my-client&client_secret=s3cret");
}

TEST(BuildTokenRequestTest, HeaderParamsAddOrReplaceButNotBasicAuthorization) {
  OAuthConfig c = BaseConfig();
  c.header_params = {{"X-Tenant", "t1", false},
                     {"accept", "application/vnd+json", false},
                     {"authorization", "Bearer nope", true}};
  TokenRequest r = BuildTokenRequest(c);
  EXPECT_EQ(r.headers, (Headers{{"Authorization", "Basic " + Base64Encode("my-client:s3cret")},
                                {"Content-Type", "application/x-www-form-urlencoded"},
                                {"Accept", "application/vnd+json"},
                                {"X-Tenant", "t1"}}));

  c.client_auth = OAuthConfig::ClientAuth::kBody;
  r = BuildTokenRequest(c);
  EXPECT_EQ(r.headers.back(),
            (std::pair<std::string, std::string>{"authorization", "Bearer nope"}));
}

TEST(ParseTokenResponseTest, FullResponse) {
  TokenResult r = ParseTokenResponse(
      200, R"({"access_token":"abc","token_type":"MAC","expires_in":120,"scope":"x"})", 5'000'000);
  ASSERT_EQ(r.kind, TokenResult::Kind::kOk);
  EXPECT_EQ(r.token.access_token, "abc");
  EXPECT_EQ(r.token.token_type, "MAC");
  EXPECT_EQ(r.token.obtained_at_micros, 5'000'000);
  EXPECT_EQ(r.token.expires_at_micros, 125'000'000);
  EXPECT_TRUE(r.reason.empty());
  EXPECT_EQ(AuthorizationHeaderValue(r.token), "MAC abc");
}

TEST(ParseTokenResponseTest, DefaultsBearerAnd3600Seconds) {
  TokenResult r = ParseTokenResponse(201, R"({"access_token":"t"})", 0);
  ASSERT_EQ(r.kind, TokenResult::Kind::kOk);
  EXPECT_EQ(r.token.token_type, "Bearer");
  EXPECT_EQ(r.token.lifetime_micros(), 3600LL * 1'000'000);
  EXPECT_EQ(AuthorizationHeaderValue(r.token), "Bearer t");

  r = ParseTokenResponse(200, R"({"access_token":"t","token_type":""})", 0);
  EXPECT_EQ(r.token.token_type, "Bearer");
}

TEST(ParseTokenResponseTest, ExpiresInForms) {
  auto lifetime_s = [](const std::string& expires) {
    TokenResult r =
        ParseTokenResponse(200, R"({"access_token":"t","expires_in":)" + expires + "}", 0);
    EXPECT_EQ(r.kind, TokenResult::Kind::kOk);
    return r.token.lifetime_micros() / 1'000'000;
  };
  EXPECT_EQ(lifetime_s("300"), 300);
  EXPECT_EQ(lifetime_s("\"300\""), 300);
  EXPECT_EQ(lifetime_s("59.9"), 59);
  EXPECT_EQ(lifetime_s("0"), 3600);
  EXPECT_EQ(lifetime_s("-5"), 3600);
  EXPECT_EQ(lifetime_s("\"soon\""), 3600);
  EXPECT_EQ(lifetime_s("null"), 3600);
  EXPECT_EQ(lifetime_s("1e300"), 10LL * 365 * 24 * 3600);
  EXPECT_EQ(lifetime_s("18446744073709551615"), 10LL * 365 * 24 * 3600);
}

TEST(ParseTokenResponseTest, SuccessWithoutAccessTokenIsPermanent) {
  for (std::string body : {R"({"token_type":"Bearer"})", R"({"access_token":""})",
                           R"({"access_token":42})", R"(["access_token"])", "not json", ""}) {
    TokenResult r = ParseTokenResponse(200, body, 0);
    EXPECT_EQ(r.kind, TokenResult::Kind::kPermanent) << body;
    EXPECT_EQ(r.reason, "HTTP 200: " + body);
  }
}

TEST(ParseTokenResponseTest, StatusClassification) {
  for (int s : {400, 401, 403, 404, 405, 302, 301, 100, 418}) {
    EXPECT_EQ(ParseTokenResponse(s, "{}", 0).kind, TokenResult::Kind::kPermanent) << s;
  }
  for (int s : {408, 425, 429, 500, 502, 503, 504, 599}) {
    EXPECT_EQ(ParseTokenResponse(s, "{}", 0).kind, TokenResult::Kind::kTransient) << s;
  }
  TokenResult r = ParseTokenResponse(401, R"({"error":"invalid_client"})", 0);
  EXPECT_EQ(r.reason, R"(HTTP 401: {"error":"invalid_client"})");
}

TEST(ParseTokenResponseTest, ReasonKeepsAtMost256BytesOfBody) {
  TokenResult r = ParseTokenResponse(500, std::string(1000, 'x'), 0);
  EXPECT_EQ(r.reason, "HTTP 500: " + std::string(256, 'x'));
  // A two-byte UTF-8 character straddling the limit is dropped whole.
  r = ParseTokenResponse(400, std::string(255, 'a') + "\xc3\xa9" + "tail", 0);
  EXPECT_EQ(r.reason, "HTTP 400: " + std::string(255, 'a'));
}

TEST(ClassifyFetchResponseTest, TransportFailuresAreTransient) {
  FetchResponse timeout;
  timeout.transport = FetchResponse::Transport::kTimeout;
  timeout.error = "Operation timed out after 5000 milliseconds";
  TokenResult r = ClassifyFetchResponse(timeout, 0);
  EXPECT_EQ(r.kind, TokenResult::Kind::kTransient);
  EXPECT_EQ(r.reason, "timeout: Operation timed out after 5000 milliseconds");

  FetchResponse refused;
  refused.transport = FetchResponse::Transport::kNetworkError;
  refused.error = "Connection refused";
  r = ClassifyFetchResponse(refused, 0);
  EXPECT_EQ(r.kind, TokenResult::Kind::kTransient);
  EXPECT_EQ(r.reason, "network error: Connection refused");

  FetchResponse ok;
  ok.transport = FetchResponse::Transport::kOk;
  ok.status = 200;
  ok.body = R"({"access_token":"z"})";
  EXPECT_EQ(ClassifyFetchResponse(ok, 0).kind, TokenResult::Kind::kOk);
}

}  // namespace
}  // namespace bp::auth
