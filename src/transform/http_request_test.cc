// The final API-destination request: wildcards, query merge, header precedence, body.
#include <gtest/gtest.h>

#include "transform/test_event.h"
#include "transform/transform.h"

namespace bp::transform {
namespace {

using testing::kEvent;
using Headers = std::vector<std::pair<std::string, std::string>>;

StatusOr<HttpRequestSpec> Build(std::string_view method, std::string_view endpoint,
                                const HttpParametersSpec& target = {},
                                const ConnectionHttpParameters& conn = {},
                                const std::optional<AuthHeader>& auth = std::nullopt,
                                std::string payload = "{\"p\":1}") {
  return BuildHttpRequest(method, endpoint, target, conn, auth, kEvent, std::move(payload));
}

const std::string* HeaderValue(const HttpRequestSpec& r, std::string_view name) {
  for (const auto& [n, v] : r.headers) {
    if (n.size() == name.size() && std::equal(n.begin(), n.end(), name.begin(), [](char a, char b) {
          return std::tolower(a) == std::tolower(b);
        })) {
      return &v;
    }
  }
  return nullptr;
}

void ExpectInvalidParameter(const StatusOr<HttpRequestSpec>& r, std::string_view fragment) {
  ASSERT_FALSE(r.ok());
  std::optional<DeliveryError> error = ParseDeliveryError(r.status());
  ASSERT_TRUE(error.has_value()) << r.status().message();
  EXPECT_EQ(error->code, DeliveryErrorCode::kInvalidParameter);
  EXPECT_NE(error->message.find(fragment), std::string::npos) << error->message;
}

TEST(BuildHttpRequestTest, DefaultsForAPlainPost) {
  StatusOr<HttpRequestSpec> r = Build("POST", "https://api.example.com/hook");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->method, "POST");
  EXPECT_EQ(r->url, "https://api.example.com/hook");
  EXPECT_EQ(r->headers, (Headers{{"User-Agent", "Amazon/EventBridge/ApiDestinations"},
                                 {"Content-Type", "application/json; charset=utf-8"},
                                 {"Range", "bytes=0-1048575"},
                                 {"Accept-Encoding", "gzip,deflate"}}));
  EXPECT_TRUE(r->has_body);
  EXPECT_EQ(r->body, "{\"p\":1}");
}

TEST(BuildHttpRequestTest, WildcardsFilledInOrderAndEncoded) {
  HttpParametersSpec target;
  target.path_parameter_values = {"a b/c", "$.detail.order.id", "$.detail.order.qty",
                                  "$.detail.missing"};
  StatusOr<HttpRequestSpec> r =
      Build("PUT", "https://h.example/v1/*/orders/*/qty/*/x/*?mode=*#frag", target);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->url, "https://h.example/v1/a%20b%2Fc/orders/o-1/qty/3/x/?mode=*");
  EXPECT_EQ(CountEndpointWildcards("https://h/*/*?q=*"), 2u);
}

TEST(BuildHttpRequestTest, WildcardCountMismatchIsInvalidParameter) {
  HttpParametersSpec target;
  target.path_parameter_values = {"only-one"};
  ExpectInvalidParameter(Build("POST", "https://h/*/*", target),
                         "InvocationEndpoint has 2 path wildcard(s) but PathParameterValues has 1");
  ExpectInvalidParameter(Build("POST", "https://h/none", target), "has 0 path wildcard(s)");
}

TEST(BuildHttpRequestTest, QueryMergeConnectionWinsAndEncodes) {
  HttpParametersSpec target;
  target.query_string_parameters = {
      {"a", "1"},          {"shared", "target"},           {"sp ace", "x&y=z"},
      {"src", "$.source"}, {"obj", "$.detail.order.tags"}, {"gone", "$.nope"}};
  ConnectionHttpParameters conn;
  conn.query_string_parameters = {{"shared", "conn", false}, {"key", "s3cr3t", true}};
  StatusOr<HttpRequestSpec> r = Build("POST", "https://h/p?pre=0", target, conn);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->url,
            "https://h/p?pre=0&a=1&sp%20ace=x%26y%3Dz&src=shop&obj=%5B%22x%22%2C%22y%22%5D"
            "&shared=conn&key=s3cr3t");
}

TEST(BuildHttpRequestTest, HeaderPrecedenceAndDenyList) {
  HttpParametersSpec target;
  target.header_parameters = {
      {"content-type", "text/plain"}, {"X-Shared", "target"}, {"Authorization", "target-auth"},
      {"User-Agent", "evil"},         {"host", "evil"},       {"If-Match", "x"},
      {"Proxy-Authorization", "x"},   {"X-Only-Target", "t"}};
  ConnectionHttpParameters conn;
  conn.header_parameters = {
      {"x-shared", "conn", false}, {"Transfer-Encoding", "chunked", false}, {"X-Conn", "c", true}};
  const AuthHeader auth{"Authorization", "Bearer tok"};
  StatusOr<HttpRequestSpec> r = Build("POST", "https://h/", target, conn, auth);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->headers, (Headers{{"User-Agent", "Amazon/EventBridge/ApiDestinations"},
                                 {"content-type", "text/plain"},
                                 {"Range", "bytes=0-1048575"},
                                 {"Accept-Encoding", "gzip,deflate"},
                                 {"x-shared", "conn"},
                                 {"Authorization", "Bearer tok"},
                                 {"X-Only-Target", "t"},
                                 {"X-Conn", "c"}}));
}

TEST(BuildHttpRequestTest, SecretsAreRedactedInLogCopies) {
  HttpParametersSpec target;
  target.query_string_parameters = {{"t", "visible"}, {"key", "target-loses"}};
  target.header_parameters = {{"X-Target", "visible"}, {"X-Secret", "target-loses"}};
  ConnectionHttpParameters conn;
  conn.query_string_parameters = {{"key", "s3cr3t", true}, {"plain", "p v", false}};
  conn.header_parameters = {{"x-secret", "hidden", true}, {"X-Plain", "shown", false}};
  StatusOr<HttpRequestSpec> r =
      Build("POST", "https://h/p?pre=1", target, conn, AuthHeader{"x-api-key", "k3y"});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->url, "https://h/p?pre=1&t=visible&key=s3cr3t&plain=p%20v");
  EXPECT_EQ(r->redacted_url, "https://h/p?pre=1&t=visible&key=***&plain=p%20v");
  ASSERT_EQ(r->redacted_headers.size(), r->headers.size());
  EXPECT_EQ(*HeaderValue(*r, "X-Secret"), "hidden");
  for (size_t i = 0; i < r->headers.size(); ++i) {
    const std::string& name = r->headers[i].first;
    EXPECT_EQ(r->redacted_headers[i].first, name);
    const bool secret = name == "x-secret" || name == "x-api-key";
    EXPECT_EQ(r->redacted_headers[i].second, secret ? "***" : r->headers[i].second) << name;
  }
  StatusOr<HttpRequestSpec> plain = Build("GET", "https://h/x");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->redacted_url, "https://h/x");
}

TEST(BuildHttpRequestTest, DenyListCoversSpecNames) {
  for (const char* name : {"User-Agent", "range", "HOST", "Content-Length", "Connection",
                           "Transfer-Encoding", "te", "Upgrade", "Via", "Date", "Referer", "Origin",
                           "Expect", "Keep-Alive", "Proxy-Connection", "if-none-match"}) {
    EXPECT_TRUE(IsDeniedHeader(name)) << name;
  }
  for (const char* name :
       {"Content-Type", "Authorization", "Accept-Encoding", "X-Proxy-Id", "Ifx", "Dates"}) {
    EXPECT_FALSE(IsDeniedHeader(name)) << name;
  }
}

TEST(BuildHttpRequestTest, DynamicHeaderValues) {
  HttpParametersSpec target;
  target.header_parameters = {{"X-Id", "$.id"},
                              {"X-Total", "$.detail.order.total"},
                              {"X-Item", "$.detail.items[0]"},
                              {"X-Missing", "$.detail.nope"}};
  StatusOr<HttpRequestSpec> r = Build("POST", "https://h/", target);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*HeaderValue(*r, "X-Id"), "6a7e8feb-b491-4cf7-a9f1-bf3703467718");
  EXPECT_EQ(*HeaderValue(*r, "X-Total"), "12.50");
  EXPECT_EQ(*HeaderValue(*r, "X-Item"), "{\"sku\":\"a\"}");
  EXPECT_EQ(HeaderValue(*r, "X-Missing"), nullptr);
}

TEST(BuildHttpRequestTest, HeaderValueWithNewlineIsInvalidParameter) {
  HttpParametersSpec target;
  target.header_parameters = {{"X-Note", "$.detail.order.note"}};  // contains "\n"
  ExpectInvalidParameter(Build("POST", "https://h/", target),
                         "Target header 'X-Note' has a value with characters not allowed");
  ConnectionHttpParameters conn;
  conn.header_parameters = {{"X-C", "a\rb", false}};
  ExpectInvalidParameter(Build("POST", "https://h/", {}, conn), "Connection header 'X-C'");
  ExpectInvalidParameter(Build("POST", "https://h/", {}, {}, AuthHeader{"Bad Name", "v"}),
                         "not a valid HTTP header name");
}

TEST(BuildHttpRequestTest, BodyParametersJoinJsonObjects) {
  ConnectionHttpParameters conn;
  conn.body_parameters = {{"p", "from-conn", false}, {"k\"ey", "v\n", true}};
  StatusOr<HttpRequestSpec> r =
      Build("POST", "https://h/", {}, conn, std::nullopt, R"( {"a": 1.50, "p": 2} )");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->body, R"({"a":1.50,"p":"from-conn","k\"ey":"v\n"})");

  r = Build("POST", "https://h/", {}, conn, std::nullopt, "{}");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->body, R"({"p":"from-conn","k\"ey":"v\n"})");

  for (const char* payload : {"[1,2]", "\"text\"", "plain text {", "null", "{\"a\":1} x"}) {
    r = Build("POST", "https://h/", {}, conn, std::nullopt, payload);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->body, payload);
  }
}

TEST(BuildHttpRequestTest, NoBodyForGetAndHead) {
  ConnectionHttpParameters conn;
  conn.body_parameters = {{"p", "x", false}};
  for (const char* method : {"GET", "HEAD"}) {
    StatusOr<HttpRequestSpec> r = Build(method, "https://h/", {}, conn);
    ASSERT_TRUE(r.ok());
    EXPECT_FALSE(r->has_body) << method;
    EXPECT_TRUE(r->body.empty()) << method;
  }
  for (const char* method : {"DELETE", "OPTIONS", "PATCH"}) {
    StatusOr<HttpRequestSpec> r = Build(method, "https://h/");
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(r->has_body) << method;
  }
}

TEST(BuildHttpRequestTest, ExpandedParametersAreCapped) {
  const std::string big = std::string(4000, 'v');
  const std::string event = R"({"id":"i","detail":{"big":")" + big + "\"}}";
  HttpParametersSpec headers;
  for (int i = 0; i < 100; ++i) {
    headers.header_parameters.emplace_back("X-H" + std::to_string(i), "$.detail.big");
  }
  auto r =
      BuildHttpRequest("POST", "https://h/p", headers, {}, std::nullopt, event, "{}", 64 * 1024);
  ExpectInvalidParameter(r, "header parameters exceed 65536 bytes");

  HttpParametersSpec query;
  for (int i = 0; i < 100; ++i) {
    query.query_string_parameters.emplace_back("q" + std::to_string(i), "$.detail.big");
  }
  r = BuildHttpRequest("POST", "https://h/p", query, {}, std::nullopt, event, "{}", 64 * 1024);
  ExpectInvalidParameter(r, "query parameters exceed");

  HttpParametersSpec path;
  path.path_parameter_values = {"$.detail.big", "$.detail.big"};
  r = BuildHttpRequest("POST", "https://h/*/*", path, {}, std::nullopt, event, "{}", 6000);
  ExpectInvalidParameter(r, "path parameters exceed");

  // Within the cap the same parameters are sent.
  r = BuildHttpRequest("POST", "https://h/p", headers, {}, std::nullopt, event, "{}", 1 << 20);
  ASSERT_TRUE(r.ok()) << r.status().message();
}

}  // namespace
}  // namespace bp::transform
