#include "egress/egress_policy.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <charconv>
#include <cstring>

namespace bp::egress {
namespace {

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string LowerCopy(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), Lower);
  return out;
}

// Names cloud providers answer instance metadata on. Compared after lower-casing and dropping a
// trailing dot.
constexpr std::string_view kMetadataHosts[] = {
    "metadata",          "metadata.google.internal",    "metadata.goog",
    "instance-data",     "instance-data.ec2.internal",  "metadata.azure.internal",
    "metadata.internal", "metadata.platformequinix.com"};

IpAddress V4Bytes(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  return IpAddress::V4((uint32_t{a} << 24) | (uint32_t{b} << 16) | (uint32_t{c} << 8) | d);
}

Cidr MakeCidr(const IpAddress& base, int prefix) { return Cidr{base, prefix}; }

IpAddress V6(std::initializer_list<uint16_t> groups) {
  IpAddress ip;
  ip.v4 = false;
  size_t i = 0;
  for (uint16_t g : groups) {
    ip.bytes[i++] = static_cast<uint8_t>(g >> 8);
    ip.bytes[i++] = static_cast<uint8_t>(g & 0xff);
  }
  return ip;
}

const std::vector<Cidr>& NeverCidrs() {
  static const std::vector<Cidr> v = {
      MakeCidr(V4Bytes(0, 0, 0, 0), 8), MakeCidr(V4Bytes(224, 0, 0, 0), 4),
      MakeCidr(V4Bytes(255, 255, 255, 255), 32), MakeCidr(V6({0, 0, 0, 0, 0, 0, 0, 0}), 128),
      MakeCidr(V6({0xff00, 0, 0, 0, 0, 0, 0, 0}), 8)};
  return v;
}

const std::vector<Cidr>& LinkLocalCidrs() {
  static const std::vector<Cidr> v = {MakeCidr(V4Bytes(169, 254, 0, 0), 16),
                                      MakeCidr(V6({0xfe80, 0, 0, 0, 0, 0, 0, 0}), 10),
                                      MakeCidr(V6({0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x254}), 128)};
  return v;
}

const std::vector<Cidr>& PrivateCidrs() {
  static const std::vector<Cidr> v = {MakeCidr(V4Bytes(127, 0, 0, 0), 8),
                                      MakeCidr(V4Bytes(10, 0, 0, 0), 8),
                                      MakeCidr(V4Bytes(172, 16, 0, 0), 12),
                                      MakeCidr(V4Bytes(192, 168, 0, 0), 16),
                                      MakeCidr(V4Bytes(100, 64, 0, 0), 10),
                                      MakeCidr(V6({0, 0, 0, 0, 0, 0, 0, 1}), 128),
                                      MakeCidr(V6({0xfc00, 0, 0, 0, 0, 0, 0, 0}), 7),
                                      MakeCidr(V6({0xfec0, 0, 0, 0, 0, 0, 0, 0}), 10)};
  return v;
}

bool InAny(const std::vector<Cidr>& cidrs, const IpAddress& ip) {
  return std::any_of(cidrs.begin(), cidrs.end(), [&](const Cidr& c) { return c.Contains(ip); });
}

std::string NormalizeHost(std::string_view host) {
  std::string h = LowerCopy(host);
  while (!h.empty() && h.back() == '.') h.pop_back();
  return h;
}

bool IsHostNameSyntax(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
  });
}

std::string PercentDecode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      int v = 0;
      auto [p, ec] = std::from_chars(s.data() + i + 1, s.data() + i + 3, v, 16);
      if (ec == std::errc() && p == s.data() + i + 3) {
        out.push_back(static_cast<char>(v));
        i += 2;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

}  // namespace

// ---- addresses ----------------------------------------------------------------------------

IpAddress IpAddress::V4(uint32_t host_order) {
  IpAddress ip;
  ip.v4 = true;
  ip.bytes[12] = static_cast<uint8_t>(host_order >> 24);
  ip.bytes[13] = static_cast<uint8_t>(host_order >> 16);
  ip.bytes[14] = static_cast<uint8_t>(host_order >> 8);
  ip.bytes[15] = static_cast<uint8_t>(host_order);
  return ip;
}

IpAddress IpAddress::Normalized() const {
  if (v4) return *this;
  const auto& b = bytes;
  auto zero = [&](int from, int to) {
    return std::all_of(b.begin() + from, b.begin() + to, [](uint8_t x) { return x == 0; });
  };
  const bool mapped = zero(0, 10) && b[10] == 0xff && b[11] == 0xff;
  // ::a.b.c.d (deprecated IPv4-compatible), except :: and ::1 which are their own addresses.
  const bool compatible = zero(0, 12) && !(zero(12, 15) && b[15] <= 1);
  const bool nat64 = b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b && zero(4, 12);
  if (!mapped && !compatible && !nat64) return *this;
  IpAddress out = *this;
  out.v4 = true;
  std::fill(out.bytes.begin(), out.bytes.begin() + 12, 0);
  return out;
}

std::string IpAddress::ToString() const {
  char buf[INET6_ADDRSTRLEN] = {0};
  if (v4) {
    inet_ntop(AF_INET, bytes.data() + 12, buf, sizeof(buf));
  } else {
    inet_ntop(AF_INET6, bytes.data(), buf, sizeof(buf));
  }
  return buf;
}

std::optional<IpAddress> ParseIpLiteral(std::string_view host) {
  std::string h(host);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  if (h.empty()) return std::nullopt;
  if (h.find(':') != std::string::npos) {
    if (size_t pct = h.find('%'); pct != std::string::npos) h.resize(pct);
    IpAddress ip;
    ip.v4 = false;
    if (inet_pton(AF_INET6, h.c_str(), ip.bytes.data()) != 1) return std::nullopt;
    return ip;
  }
  // inet_aton accepts everything getaddrinfo would treat as a numeric IPv4 host. It also accepts
  // trailing text after whitespace, which a URL host cannot contain; reject it anyway.
  if (h.find_first_of(" \t\n") != std::string::npos) return std::nullopt;
  in_addr a{};
  if (inet_aton(h.c_str(), &a) == 0) return std::nullopt;
  return IpAddress::V4(ntohl(a.s_addr));
}

std::optional<IpAddress> FromSockaddr(const sockaddr* sa, uint16_t* port) {
  if (sa == nullptr) return std::nullopt;
  if (sa->sa_family == AF_INET) {
    sockaddr_in in{};
    std::memcpy(&in, sa, sizeof(in));
    if (port) *port = ntohs(in.sin_port);
    return IpAddress::V4(ntohl(in.sin_addr.s_addr));
  }
  if (sa->sa_family == AF_INET6) {
    sockaddr_in6 in6{};
    std::memcpy(&in6, sa, sizeof(in6));
    if (port) *port = ntohs(in6.sin6_port);
    IpAddress ip;
    ip.v4 = false;
    std::memcpy(ip.bytes.data(), &in6.sin6_addr, 16);
    return ip;
  }
  return std::nullopt;
}

std::optional<Cidr> Cidr::Parse(std::string_view text) {
  const size_t slash = text.find('/');
  const std::string_view addr = text.substr(0, slash);
  // Strict forms only in configuration: dotted quads or IPv6 text.
  std::string a(addr);
  Cidr c;
  if (a.find(':') != std::string::npos) {
    c.base.v4 = false;
    if (inet_pton(AF_INET6, a.c_str(), c.base.bytes.data()) != 1) return std::nullopt;
    c.base = c.base.Normalized();
  } else {
    in_addr in{};
    if (inet_pton(AF_INET, a.c_str(), &in) != 1) return std::nullopt;
    c.base = IpAddress::V4(ntohl(in.s_addr));
  }
  const int max = c.base.v4 ? 32 : 128;
  c.prefix = max;
  if (slash != std::string_view::npos) {
    const std::string_view p = text.substr(slash + 1);
    auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), c.prefix);
    if (ec != std::errc() || end != p.data() + p.size() || c.prefix < 0 || c.prefix > max) {
      return std::nullopt;
    }
  }
  return c;
}

bool Cidr::Contains(const IpAddress& ip) const {
  if (ip.v4 != base.v4) return false;
  const int offset = base.v4 ? 12 : 0;
  int bits = prefix;
  for (int i = offset; i < 16 && bits > 0; ++i, bits -= 8) {
    const uint8_t mask = bits >= 8 ? 0xff : static_cast<uint8_t>(0xff << (8 - bits));
    if ((ip.bytes[i] & mask) != (base.bytes[i] & mask)) return false;
  }
  return true;
}

std::optional<UrlHost> ParseUrlHost(std::string_view url) {
  const size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return std::nullopt;
  const std::string scheme = LowerCopy(url.substr(0, scheme_end));
  std::string_view rest = url.substr(scheme_end + 3);
  std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  if (size_t at = authority.rfind('@'); at != std::string_view::npos) {
    authority = authority.substr(at + 1);
  }
  UrlHost out;
  out.port = scheme == "https" ? 443 : 80;
  std::string_view host = authority;
  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    host = authority.substr(1, close - 1);
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return std::nullopt;
      port_text = after.substr(1);
    }
  } else if (size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port_text = authority.substr(colon + 1);
  }
  if (!port_text.empty()) {
    int p = 0;
    auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), p);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || p < 0 || p > 65535) {
      return std::nullopt;
    }
    out.port = static_cast<uint16_t>(p);
  }
  out.host = NormalizeHost(PercentDecode(host));
  if (out.host.empty()) return std::nullopt;
  return out;
}

// ---- decisions ----------------------------------------------------------------------------

std::string_view ReasonName(Reason reason) {
  switch (reason) {
    case Reason::kAllowed:
      return "allowed";
    case Reason::kUnspecified:
      return "unspecified";
    case Reason::kSelf:
      return "self";
    case Reason::kLinkLocal:
      return "link_local";
    case Reason::kPrivate:
      return "private";
    case Reason::kMetadataHost:
      return "metadata_host";
    case Reason::kBadUrl:
      return "bad_url";
  }
  return "bad_url";
}

std::string Decision::Message() const {
  std::string why;
  switch (reason) {
    case Reason::kAllowed:
      return "allowed";
    case Reason::kUnspecified:
      why = "unspecified, multicast or broadcast address";
      break;
    case Reason::kSelf:
      why = "the server's own listener";
      break;
    case Reason::kLinkLocal:
      why = "link-local or cloud metadata address; allow it with an egress allow-list CIDR";
      break;
    case Reason::kPrivate:
      why = "loopback or private address; allow it with an egress allow-list entry";
      break;
    case Reason::kMetadataHost:
      why = "cloud metadata host name";
      break;
    case Reason::kBadUrl:
      why = "no host in the URL";
      break;
  }
  return "connection to " + target + " is denied by the egress policy (" + why + ")";
}

StatusOr<std::shared_ptr<Policy>> Policy::Create(const PolicyOptions& options) {
  std::shared_ptr<Policy> p(new Policy(options.allow_private));
  for (const std::string& entry : options.allow) {
    const bool looks_numeric = entry.find_first_of(":/") != std::string::npos ||
                               entry.find_first_not_of("0123456789.") == std::string::npos;
    if (looks_numeric) {
      auto cidr = Cidr::Parse(entry);
      if (!cidr) return Status::Validation("egress allow entry '" + entry + "' is not a CIDR");
      p->allow_cidrs_.push_back(*cidr);
      continue;
    }
    std::string host = NormalizeHost(entry);
    if (host.starts_with("*.")) host = host.substr(1);
    if (!IsHostNameSyntax(host)) {
      return Status::Validation("egress allow entry '" + entry +
                                "' is neither a CIDR nor a host name");
    }
    p->allow_hosts_.push_back(std::move(host));
  }
  return p;
}

void Policy::SetSelf(const std::string& host, uint16_t port) {
  std::vector<IpAddress> addresses;
  bool any = false;
  if (auto ip = ParseIpLiteral(host)) {
    const IpAddress n = ip->Normalized();
    any =
        InAny({MakeCidr(V4Bytes(0, 0, 0, 0), 32), MakeCidr(V6({0, 0, 0, 0, 0, 0, 0, 0}), 128)}, n);
    if (!any) addresses.push_back(n);
  } else {
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    if (getaddrinfo(host.c_str(), nullptr, &hints, &res) == 0) {
      for (addrinfo* r = res; r != nullptr; r = r->ai_next) {
        if (auto a = FromSockaddr(r->ai_addr, nullptr)) addresses.push_back(a->Normalized());
      }
      freeaddrinfo(res);
    }
  }
  if (any) {
    ifaddrs* ifs = nullptr;
    if (getifaddrs(&ifs) == 0) {
      for (ifaddrs* i = ifs; i != nullptr; i = i->ifa_next) {
        if (auto a = FromSockaddr(i->ifa_addr, nullptr)) addresses.push_back(a->Normalized());
      }
      freeifaddrs(ifs);
    }
  }
  std::lock_guard<std::mutex> lock(self_mu_);
  self_addresses_ = std::move(addresses);
  self_any_ = any;
  self_port_ = port;
}

bool Policy::IsSelf(const IpAddress& ip, uint16_t port) const {
  std::lock_guard<std::mutex> lock(self_mu_);
  if (self_port_ == 0 || port != self_port_) return false;
  // A wildcard listener answers on loopback too, whatever the interface list says.
  if (self_any_ &&
      InAny({MakeCidr(V4Bytes(127, 0, 0, 0), 8), MakeCidr(V6({0, 0, 0, 0, 0, 0, 0, 1}), 128)},
            ip)) {
    return true;
  }
  return std::find(self_addresses_.begin(), self_addresses_.end(), ip) != self_addresses_.end();
}

bool Policy::HostAllowListed(std::string_view host) const {
  const std::string h = NormalizeHost(host);
  return std::any_of(allow_hosts_.begin(), allow_hosts_.end(), [&](const std::string& entry) {
    if (entry.front() == '.') return h.size() > entry.size() && h.ends_with(entry);
    return h == entry;
  });
}

Decision Policy::CheckHostName(std::string_view host) const {
  const std::string h = NormalizeHost(host);
  const bool metadata = std::any_of(std::begin(kMetadataHosts), std::end(kMetadataHosts),
                                    [&](std::string_view m) { return h == m; });
  if (metadata && !HostAllowListed(h)) return Decision{Reason::kMetadataHost, h};
  return Decision{};
}

Decision Policy::CheckAddress(const IpAddress& raw, uint16_t port,
                              std::string_view url_host) const {
  const IpAddress ip = raw.Normalized();
  const std::string target =
      (ip.v4 ? ip.ToString() : "[" + ip.ToString() + "]") + ":" + std::to_string(port);
  if (InAny(NeverCidrs(), ip)) return Decision{Reason::kUnspecified, target};
  if (IsSelf(ip, port)) return Decision{Reason::kSelf, target};
  if (InAny(allow_cidrs_, ip)) return Decision{};
  if (InAny(LinkLocalCidrs(), ip)) return Decision{Reason::kLinkLocal, target};
  if (InAny(PrivateCidrs(), ip)) {
    const bool literal = ParseIpLiteral(url_host).has_value();
    if (allow_private_ || (!literal && HostAllowListed(url_host))) return Decision{};
    return Decision{Reason::kPrivate, target};
  }
  return Decision{};
}

Decision Policy::CheckUrl(std::string_view url) const {
  const std::optional<UrlHost> parsed = ParseUrlHost(url);
  if (!parsed) return Decision{Reason::kBadUrl, std::string(url.substr(0, 64))};
  if (auto ip = ParseIpLiteral(parsed->host)) return CheckAddress(*ip, parsed->port, parsed->host);
  return CheckHostName(parsed->host);
}

}  // namespace bp::egress
