// The egress policy on libcurl's sockets: CURLOPT_OPENSOCKETFUNCTION sees every address libcurl
// is about to connect to (after DNS, for every candidate of happy eyeballs), so the policy is
// judged on the address actually used. A denied address gets no socket; libcurl then tries the
// next candidate or fails the transfer with CURLE_COULDNT_CONNECT, and `denial()` says why.
//
// One guard per easy handle and transfer: Arm() before curl_multi_add_handle / curl_easy_perform
// (after any curl_easy_reset), read denial() when the transfer ends. Used on the thread that
// drives the handle only.
#pragma once

#include <curl/curl.h>

#include <memory>
#include <optional>
#include <string>

#include "egress/egress_policy.h"

namespace bp::egress {

class CurlEgressGuard {
 public:
  // Installs the socket hook on `easy` for a transfer to `url`. A null policy allows everything.
  void Arm(CURL* easy, const Policy* policy, std::string_view url);
  // Set when at least one connection of the transfer was refused.
  const std::optional<Decision>& denial() const { return denial_; }

 private:
  static curl_socket_t OpenSocket(void* clientp, curlsocktype purpose, curl_sockaddr* address);

  const Policy* policy_ = nullptr;
  std::string url_host_;
  std::optional<Decision> denial_;
};

}  // namespace bp::egress
