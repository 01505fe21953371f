// AWS Signature Version 4 verification for incoming requests.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "common/status.h"
#include "http/server.h"

namespace bp::api {

struct SigV4Options {
  // access key id -> secret access key
  std::map<std::string, std::string> keys;
  // Accept unsigned requests and requests signed with unknown keys (loopback dev mode).
  bool allow_any = false;
  int64_t max_skew_seconds = 15 * 60;
};

enum class SigV4Failure {
  kNone,
  kMissingAuthentication,  // MissingAuthenticationTokenException
  kIncompleteSignature,    // IncompleteSignatureException
  kUnrecognizedClient,     // UnrecognizedClientException
  kInvalidSignature,       // InvalidSignatureException (also expired signatures)
};

struct SigV4Result {
  SigV4Failure failure = SigV4Failure::kNone;
  std::string message;
  std::string access_key;  // when a signature was present
  bool ok() const { return failure == SigV4Failure::kNone; }
};

// Verifies the Authorization header (or the X-Amz-* query form) of `req` as AWS does: `host` and
// the request date (X-Amz-Date, or Date without it) must be signed, every x-amz-* header sent
// must be signed, and, when `expected_service` is not empty, the credential scope must name that
// service (the API's signing name: "events", "sqs", ...). With options.allow_any (loopback dev
// mode) only signatures by a known key are checked at all.
SigV4Result VerifySigV4(const http::Request& req, const SigV4Options& options, int64_t now_seconds,
                        std::string_view expected_service = {});

// AWS exception name for a failure (e.g. "InvalidSignatureException").
std::string_view SigV4FailureName(SigV4Failure f);

// Exposed for tests and for the bench load generator: signs a request in place.
void SignSigV4(http::Request& req, std::string_view access_key, std::string_view secret_key,
               std::string_view region, std::string_view service, int64_t now_seconds);

// Crypto helpers (OpenSSL).
std::string Sha256Hex(std::string_view data);
std::string HmacSha256(std::string_view key, std::string_view data);

}  // namespace bp::api
