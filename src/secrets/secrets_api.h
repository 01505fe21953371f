// The Secrets Manager wire protocol: AWS JSON 1.1 with `X-Amz-Target: secretsmanager.<Op>`.
// Request and response bodies are never logged (they carry secret values).
#pragma once

#include <string>

#include "http/server.h"
#include "secrets/secret_store.h"

namespace bp::secrets {

class SecretsApi {
 public:
  explicit SecretsApi(SecretStore& store) : store_(store) {}
  static bool Accepts(const http::Request& request);
  // Replies before returning (every operation is synchronous).
  void Handle(const http::Request& request, const std::string& request_id,
              const http::Responder& respond);
  // An AWS JSON 1.1 error in Secrets Manager's shape (also for SigV4 failures).
  static http::Response Error(std::string_view type, std::string_view message, int status,
                              std::string_view request_id);

 private:
  SecretStore& store_;
};

}  // namespace bp::secrets
