// egress/: where the server may open outbound connections (SPEC §17). One immutable policy,
// consulted twice: when an endpoint URL is saved (literal addresses and metadata host names are
// refused up front) and on every socket libcurl opens (curl_egress.h), i.e. on the address that
// DNS actually returned, so a name that later resolves somewhere else (DNS rebinding) is caught.
//
// Rules, in order, for a connection to address A, port P, reached through URL host H:
//  1. unspecified, multicast and broadcast addresses (0.0.0.0/8, ::, 224.0.0.0/4, ff00::/8,
//     255.255.255.255): denied, always;
//  2. the server's own listener (A is one of its addresses and P its port): denied, always;
//  3. A inside an allow-list CIDR: allowed;
//  4. link-local and cloud metadata (169.254.0.0/16, fe80::/10, fd00:ec2::254): denied;
//  5. loopback and private ranges (127.0.0.0/8, 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16,
//     100.64.0.0/10, ::1, fc00::/7, fec0::/10): allowed when `allow_private` (loopback dev mode)
//     or when H is an allow-listed host name, else denied;
//  6. anything else: allowed.
// A URL host that is a cloud metadata name (metadata.google.internal, instance-data, ...) is
// denied unless allow-listed by name. IPv4 addresses embedded in IPv6 (::ffff:a.b.c.d,
// ::a.b.c.d, 64:ff9b::a.b.c.d) are judged as the IPv4 address.
//
// Thread-safety: every const method may be called from any thread; SetSelf is thread-safe too.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

struct sockaddr;

namespace bp::egress {

// An IPv4 or IPv6 address; IPv4 in the last four bytes with `v4` set.
struct IpAddress {
  bool v4 = true;
  std::array<uint8_t, 16> bytes{};

  static IpAddress V4(uint32_t host_order);
  // IPv4-mapped, -compatible and NAT64 addresses become their IPv4 address.
  IpAddress Normalized() const;
  std::string ToString() const;
  bool operator==(const IpAddress&) const = default;
};

// Parses a literal host as a resolver would: IPv4 in any inet_aton form (dotted, decimal
// `2852039166`, octal `0251.0376.0251.0376`, hex `0xa9fea9fe`, short `127.1`), IPv6 with or
// without brackets (a `%zone` suffix is dropped). nullopt for a host name.
std::optional<IpAddress> ParseIpLiteral(std::string_view host);
// From a socket address (AF_INET / AF_INET6); the port is returned through `port`.
std::optional<IpAddress> FromSockaddr(const sockaddr* sa, uint16_t* port);

struct Cidr {
  IpAddress base;
  int prefix = 0;
  static std::optional<Cidr> Parse(std::string_view text);  // "10.0.0.0/8", "fd00::/8", "1.2.3.4"
  bool Contains(const IpAddress& ip) const;                 // `ip` normalized by the caller
};

enum class Reason {
  kAllowed,
  kUnspecified,   // rule 1
  kSelf,          // rule 2
  kLinkLocal,     // rule 4
  kPrivate,       // rule 5
  kMetadataHost,  // metadata host name
  kBadUrl,        // no host could be found in the URL
};

struct Decision {
  Reason reason = Reason::kAllowed;
  std::string target;  // "169.254.169.254:80" or the host name that was refused

  bool allowed() const { return reason == Reason::kAllowed; }
  // "connection to 169.254.169.254:80 is denied by the egress policy (link-local or cloud
  // metadata address)": what was refused and why, never a secret.
  std::string Message() const;
};

// "unspecified", "self", "link_local", "private", "metadata_host", "bad_url" (metric label).
std::string_view ReasonName(Reason reason);

struct PolicyOptions {
  bool allow_private = false;      // loopback and private ranges (rule 5)
  std::vector<std::string> allow;  // CIDRs ("10.1.0.0/16", "fd00::/8") and host names
};

struct UrlHost {
  std::string host;  // lower case, brackets and trailing dot removed, percent-decoded
  uint16_t port = 0;
};
// scheme://[user@]host[:port]/... ; the default port comes from the scheme (80/443).
std::optional<UrlHost> ParseUrlHost(std::string_view url);

class Policy {
 public:
  // kValidation for an allow-list entry that is neither a CIDR nor a host name.
  static StatusOr<std::shared_ptr<Policy>> Create(const PolicyOptions& options);

  // The listener's address and actual port. A wildcard host (0.0.0.0, ::) means every address of
  // every local interface and loopback; a host name is resolved now.
  void SetSelf(const std::string& host, uint16_t port);

  // Rules 1–6 for a socket about to be opened to `ip`:`port` for URL host `url_host`.
  Decision CheckAddress(const IpAddress& ip, uint16_t port, std::string_view url_host) const;
  // Save-time check of an endpoint URL: metadata host names, and the rules for a literal address.
  // Host names that need DNS are allowed here (the socket check decides later).
  Decision CheckUrl(std::string_view url) const;
  // The host-name part of the policy (metadata names), for the socket check too.
  Decision CheckHostName(std::string_view host) const;

 private:
  explicit Policy(bool allow_private) : allow_private_(allow_private) {}
  bool HostAllowListed(std::string_view host) const;
  bool IsSelf(const IpAddress& ip, uint16_t port) const;

  const bool allow_private_;
  std::vector<Cidr> allow_cidrs_;
  std::vector<std::string> allow_hosts_;  // exact names, or ".suffix" for subdomains

  mutable std::mutex self_mu_;
  std::vector<IpAddress> self_addresses_;  // GUARDED_BY(self_mu_)
  bool self_any_ = false;                  // GUARDED_BY(self_mu_): wildcard listener
  uint16_t self_port_ = 0;                 // GUARDED_BY(self_mu_)
};

}  // namespace bp::egress
