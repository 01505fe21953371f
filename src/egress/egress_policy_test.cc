#include "egress/egress_policy.h"

#include <gtest/gtest.h>

namespace bp::egress {
namespace {

std::shared_ptr<Policy> Make(bool allow_private, std::vector<std::string> allow = {}) {
  auto p = Policy::Create({.allow_private = allow_private, .allow = std::move(allow)});
  EXPECT_TRUE(p.ok()) << p.status().ToString();
  return *p;
}

Reason UrlReason(const Policy& p, std::string_view url) { return p.CheckUrl(url).reason; }

Reason AddrReason(const Policy& p, std::string_view ip, uint16_t port = 80,
                  std::string_view host = "") {
  auto parsed = ParseIpLiteral(ip);
  EXPECT_TRUE(parsed.has_value()) << ip;
  return p.CheckAddress(*parsed, port, host.empty() ? ip : host).reason;
}

TEST(IpLiteral, ParsesEveryNumericForm) {
  const std::string metadata = "169.254.169.254";
  for (const char* form : {"169.254.169.254", "2852039166", "0xa9fea9fe", "0251.0376.0251.0376",
                           "169.254.43518", "0xA9.0xFE.0xA9.0xFE"}) {
    auto ip = ParseIpLiteral(form);
    ASSERT_TRUE(ip.has_value()) << form;
    EXPECT_EQ(ip->ToString(), metadata) << form;
  }
  auto mapped = ParseIpLiteral("[::ffff:169.254.169.254]");
  ASSERT_TRUE(mapped.has_value());
  EXPECT_FALSE(mapped->v4);
  EXPECT_EQ(mapped->Normalized().ToString(), metadata);
  EXPECT_EQ(ParseIpLiteral("::ffff:a9fe:a9fe")->Normalized().ToString(), metadata);
  EXPECT_EQ(ParseIpLiteral("64:ff9b::a9fe:a9fe")->Normalized().ToString(), metadata);
  EXPECT_EQ(ParseIpLiteral("fe80::1%eth0")->ToString(), "fe80::1");
  EXPECT_EQ(ParseIpLiteral("127.1")->ToString(), "127.0.0.1");
  EXPECT_FALSE(ParseIpLiteral("example.com").has_value());
  EXPECT_FALSE(ParseIpLiteral("10.0.0.1.nip.io").has_value());
  EXPECT_FALSE(ParseIpLiteral("").has_value());
  // :: and ::1 stay IPv6 (not "IPv4-compatible" 0.0.0.0 / 0.0.0.1).
  EXPECT_FALSE(ParseIpLiteral("::1")->Normalized().v4);
}

TEST(Cidr, ParsesAndContains) {
  auto c = Cidr::Parse("10.1.0.0/16");
  ASSERT_TRUE(c.has_value());
  EXPECT_TRUE(c->Contains(*ParseIpLiteral("10.1.200.3")));
  EXPECT_FALSE(c->Contains(*ParseIpLiteral("10.2.0.1")));
  auto v6 = Cidr::Parse("fd12:3456::/32");
  ASSERT_TRUE(v6.has_value());
  EXPECT_TRUE(v6->Contains(*ParseIpLiteral("fd12:3456::9")));
  EXPECT_FALSE(v6->Contains(*ParseIpLiteral("fd12:3457::9")));
  EXPECT_TRUE(Cidr::Parse("1.2.3.4").has_value());
  EXPECT_FALSE(Cidr::Parse("1.2.3.4/33").has_value());
  EXPECT_FALSE(Cidr::Parse("2852039166/8").has_value());  // configuration takes strict forms
  EXPECT_FALSE(Cidr::Parse("10.0.0.0/x").has_value());
}

TEST(UrlHost, ExtractsHostAndPort) {
  auto u = ParseUrlHost("https://user:pw@Example.COM.:8443/a?b#c");
  ASSERT_TRUE(u.has_value());
  EXPECT_EQ(u->host, "example.com");
  EXPECT_EQ(u->port, 8443);
  u = ParseUrlHost("http://[::ffff:169.254.169.254]/latest");
  ASSERT_TRUE(u.has_value());
  EXPECT_EQ(u->host, "::ffff:169.254.169.254");
  EXPECT_EQ(u->port, 80);
  u = ParseUrlHost("http://%31%36%39.254.169.254/");
  ASSERT_TRUE(u.has_value());
  EXPECT_EQ(u->host, "169.254.169.254");
  EXPECT_FALSE(ParseUrlHost("no-scheme").has_value());
  EXPECT_FALSE(ParseUrlHost("http:///path").has_value());
  EXPECT_FALSE(ParseUrlHost("http://h:99999/").has_value());
}

TEST(Policy, LinkLocalAndMetadataDeniedInEveryForm) {
  auto p = Make(/*allow_private=*/true);
  for (const char* url :
       {"http://169.254.169.254/latest/meta-data/", "http://2852039166/", "http://0xa9fea9fe/",
        "http://0251.0376.0251.0376/", "http://[::ffff:169.254.169.254]/", "http://[fe80::1]/",
        "http://[fe80::1%25eth0]/", "http://[fd00:ec2::254]/", "https://169.254.1.1:8443/"}) {
    EXPECT_EQ(UrlReason(*p, url), Reason::kLinkLocal) << url;
  }
  for (const char* url : {"http://metadata.google.internal/computeMetadata/v1/", "http://METADATA/",
                          "http://instance-data./latest"}) {
    EXPECT_EQ(UrlReason(*p, url), Reason::kMetadataHost) << url;
  }
}

TEST(Policy, UnspecifiedAlwaysDenied) {
  auto p = Make(true, {"0.0.0.0/0"});
  EXPECT_EQ(UrlReason(*p, "http://0.0.0.0:80/"), Reason::kUnspecified);
  EXPECT_EQ(UrlReason(*p, "http://0/"), Reason::kUnspecified);
  EXPECT_EQ(UrlReason(*p, "http://[::]/"), Reason::kUnspecified);
  EXPECT_EQ(UrlReason(*p, "http://224.0.0.1/"), Reason::kUnspecified);
  EXPECT_EQ(UrlReason(*p, "http://255.255.255.255/"), Reason::kUnspecified);
}

TEST(Policy, PrivateRangesNeedDevModeOrAllowList) {
  auto strict = Make(false);
  for (const char* ip : {"127.0.0.1", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1",
                         "100.64.0.1", "::1", "fd12::1", "fc00::1", "::ffff:10.0.0.1"}) {
    EXPECT_EQ(AddrReason(*strict, ip), Reason::kPrivate) << ip;
  }
  EXPECT_EQ(AddrReason(*strict, "172.32.0.1"), Reason::kAllowed);
  EXPECT_EQ(AddrReason(*strict, "93.184.216.34"), Reason::kAllowed);
  EXPECT_EQ(AddrReason(*strict, "2606:2800:220:1::1"), Reason::kAllowed);

  auto dev = Make(true);
  EXPECT_EQ(AddrReason(*dev, "127.0.0.1"), Reason::kAllowed);
  EXPECT_EQ(AddrReason(*dev, "10.1.2.3"), Reason::kAllowed);
  EXPECT_EQ(AddrReason(*dev, "169.254.169.254"), Reason::kLinkLocal);
}

TEST(Policy, AllowListCidrsAndHostNames) {
  auto p = Make(false, {"10.1.0.0/16", "hooks.internal.example", "*.corp.example", "fd00:1::/32"});
  EXPECT_EQ(AddrReason(*p, "10.1.9.9"), Reason::kAllowed);
  EXPECT_EQ(AddrReason(*p, "10.2.9.9"), Reason::kPrivate);
  EXPECT_EQ(AddrReason(*p, "fd00:1::5"), Reason::kAllowed);
  // A host name on the list may resolve to private addresses, never to link-local ones.
  EXPECT_EQ(AddrReason(*p, "10.9.9.9", 80, "hooks.internal.example"), Reason::kAllowed);
  EXPECT_EQ(AddrReason(*p, "10.9.9.9", 80, "a.b.corp.example"), Reason::kAllowed);
  EXPECT_EQ(AddrReason(*p, "10.9.9.9", 80, "corp.example"), Reason::kPrivate);
  EXPECT_EQ(AddrReason(*p, "169.254.169.254", 80, "hooks.internal.example"), Reason::kLinkLocal);
  // A CIDR on the list can open link-local space (an explicit operator decision).
  auto ll = Make(false, {"169.254.10.0/24"});
  EXPECT_EQ(AddrReason(*ll, "169.254.10.7"), Reason::kAllowed);
  EXPECT_EQ(AddrReason(*ll, "169.254.169.254"), Reason::kLinkLocal);
  // Metadata names can only be opened by name.
  auto named = Make(true, {"metadata.google.internal"});
  EXPECT_EQ(UrlReason(*named, "http://metadata.google.internal/"), Reason::kAllowed);
}

TEST(Policy, RejectsBadAllowEntries) {
  EXPECT_FALSE(Policy::Create({.allow = {"10.0.0.0/40"}}).ok());
  EXPECT_FALSE(Policy::Create({.allow = {"bad host!"}}).ok());
  EXPECT_FALSE(Policy::Create({.allow = {"1.2.3"}}).ok());
}

TEST(Policy, OwnListenerDenied) {
  auto p = Make(true, {"127.0.0.0/8"});
  p->SetSelf("127.0.0.1", 4010);
  EXPECT_EQ(UrlReason(*p, "http://127.0.0.1:4010/"), Reason::kSelf);
  EXPECT_EQ(UrlReason(*p, "http://[::ffff:127.0.0.1]:4010/"), Reason::kSelf);
  EXPECT_EQ(UrlReason(*p, "http://127.0.0.1:4011/"), Reason::kAllowed);
  EXPECT_EQ(AddrReason(*p, "127.0.0.1", 4010, "localhost"), Reason::kSelf);

  auto any = Make(true);
  any->SetSelf("0.0.0.0", 5000);
  EXPECT_EQ(AddrReason(*any, "127.0.0.1", 5000), Reason::kSelf);
  EXPECT_EQ(AddrReason(*any, "127.0.0.2", 5000), Reason::kSelf);
  EXPECT_EQ(AddrReason(*any, "::1", 5000), Reason::kSelf);
  EXPECT_EQ(AddrReason(*any, "127.0.0.1", 5001), Reason::kAllowed);
}

TEST(Decision, MessageNamesTargetAndRule) {
  auto p = Make(true);
  Decision d = p->CheckUrl("http://2852039166/latest");
  EXPECT_EQ(d.target, "169.254.169.254:80");
  EXPECT_NE(d.Message().find("169.254.169.254:80"), std::string::npos);
  EXPECT_NE(d.Message().find("link-local"), std::string::npos);
  EXPECT_EQ(ReasonName(d.reason), "link_local");
}

}  // namespace
}  // namespace bp::egress
