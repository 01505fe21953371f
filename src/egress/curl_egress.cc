#include "egress/curl_egress.h"

#include <sys/socket.h>

namespace bp::egress {

void CurlEgressGuard::Arm(CURL* easy, const Policy* policy, std::string_view url) {
  policy_ = policy;
  denial_.reset();
  std::optional<UrlHost> host = ParseUrlHost(url);
  url_host_ = host ? host->host : std::string();
  curl_easy_setopt(easy, CURLOPT_OPENSOCKETFUNCTION, &CurlEgressGuard::OpenSocket);
  curl_easy_setopt(easy, CURLOPT_OPENSOCKETDATA, this);
}

curl_socket_t CurlEgressGuard::OpenSocket(void* clientp, curlsocktype purpose,
                                          curl_sockaddr* address) {
  auto* self = static_cast<CurlEgressGuard*>(clientp);
  if (self->policy_ != nullptr && purpose == CURLSOCKTYPE_IPCXN) {
    Decision d = self->policy_->CheckHostName(self->url_host_);
    if (d.allowed()) {
      uint16_t port = 0;
      std::optional<IpAddress> ip = FromSockaddr(&address->addr, &port);
      d = ip ? self->policy_->CheckAddress(*ip, port, self->url_host_)
             : Decision{Reason::kUnspecified, "non-IP address"};
    }
    if (!d.allowed()) {
      if (!self->denial_) self->denial_ = std::move(d);
      return CURL_SOCKET_BAD;
    }
  }
  return socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
}

}  // namespace bp::egress
