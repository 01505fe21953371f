#include "api/sigv4.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <ctime>
#include <optional>
#include <vector>

#include "common/ids.h"

namespace bp::api {

namespace {

std::string Trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t')) --e;
  // Collapse sequential spaces as SigV4 requires.
  std::string out;
  bool space = false;
  for (size_t i = b; i < e; ++i) {
    if (s[i] == ' ') {
      if (!space) out.push_back(' ');
      space = true;
    } else {
      out.push_back(s[i]);
      space = false;
    }
  }
  return out;
}

std::string UriEncode(std::string_view s, bool encode_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' ||
        (c == '/' && !encode_slash)) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    }
  }
  return out;
}

std::string CanonicalQuery(std::string_view query, bool skip_signature) {
  std::vector<std::pair<std::string, std::string>> params;
  for (auto& [k, v] : http::ParseForm(query)) {
    if (skip_signature && k == "X-Amz-Signature") continue;
    params.emplace_back(UriEncode(k, true), UriEncode(v, true));
  }
  std::sort(params.begin(), params.end());
  std::string out;
  for (auto& [k, v] : params) {
    if (!out.empty()) out.push_back('&');
    out += k;
    out.push_back('=');
    out += v;
  }
  return out;
}

// Parsed "AWS4-HMAC-SHA256 Credential=AK/20240101/us-east-1/events/aws4_request, SignedHeaders=a;b,
// Signature=hex".
struct AuthFields {
  std::string access_key, date, region, service, terminator;
  std::string signed_headers;
  std::string signature;
};

bool ParseCredential(std::string_view cred, AuthFields& f) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (;;) {
    size_t slash = cred.find('/', start);
    parts.emplace_back(
        cred.substr(start, slash == std::string_view::npos ? cred.npos : slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  if (parts.size() != 5) return false;
  f.access_key = parts[0];
  f.date = parts[1];
  f.region = parts[2];
  f.service = parts[3];
  f.terminator = parts[4];
  return f.terminator == "aws4_request";
}

std::string SigningKey(std::string_view secret, const AuthFields& f) {
  std::string k = HmacSha256("AWS4" + std::string(secret), f.date);
  k = HmacSha256(k, f.region);
  k = HmacSha256(k, f.service);
  return HmacSha256(k, "aws4_request");
}

std::string ComputeSignature(const http::Request& req, const AuthFields& f, std::string_view secret,
                             std::string_view amz_date, bool query_form) {
  std::string canonical;
  canonical += req.method;
  canonical += '\n';
  std::string path(req.Path());
  if (path.empty()) path = "/";
  // Clients sign the path as sent (already encoded); encode it once more per the spec for
  // non-S3 services.
  canonical += UriEncode(http::UrlDecode(path), false);
  canonical += '\n';
  canonical += CanonicalQuery(req.Query(), query_form);
  canonical += '\n';
  std::string_view sh = f.signed_headers;
  size_t start = 0;
  while (start <= sh.size()) {
    size_t semi = sh.find(';', start);
    std::string_view name =
        sh.substr(start, semi == std::string_view::npos ? sh.npos : semi - start);
    std::string values;
    bool first = true;
    for (const auto& [n, v] : req.headers) {
      if (n == name) {
        if (!first) values.push_back(',');
        values += Trim(v);
        first = false;
      }
    }
    canonical += name;
    canonical += ':';
    canonical += values;
    canonical += '\n';
    if (semi == std::string_view::npos) break;
    start = semi + 1;
  }
  canonical += '\n';
  canonical += f.signed_headers;
  canonical += '\n';
  std::string_view payload_hash = req.Header("x-amz-content-sha256");
  if (query_form || payload_hash.empty() || payload_hash == "UNSIGNED-PAYLOAD") {
    canonical += (query_form && req.method == "GET") ? Sha256Hex(req.body) : Sha256Hex(req.body);
  } else {
    canonical += payload_hash;
  }
  std::string to_sign = "AWS4-HMAC-SHA256\n" + std::string(amz_date) + "\n" + f.date + "/" +
                        f.region + "/" + f.service + "/aws4_request\n" + Sha256Hex(canonical);
  return HexEncode(HmacSha256(SigningKey(secret, f), to_sign));
}

// "20240102T030405Z" -> epoch seconds.
std::optional<int64_t> ParseAmzDate(std::string_view d) {
  if (d.size() != 16 || d[8] != 'T' || d[15] != 'Z') return std::nullopt;
  std::string iso = std::string(d.substr(0, 4)) + "-" + std::string(d.substr(4, 2)) + "-" +
                    std::string(d.substr(6, 2)) + "T" + std::string(d.substr(9, 2)) + ":" +
                    std::string(d.substr(11, 2)) + ":" + std::string(d.substr(13, 2)) + "Z";
  return ParseIso8601(iso);
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

}  // namespace

std::string Sha256Hex(std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out, &len, EVP_sha256(), nullptr);
  return HexEncode(std::string_view(reinterpret_cast<char*>(out), len));
}

std::string HmacSha256(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string_view SigV4FailureName(SigV4Failure f) {
  switch (f) {
    case SigV4Failure::kNone:
      return "";
    case SigV4Failure::kMissingAuthentication:
      return "MissingAuthenticationTokenException";
    case SigV4Failure::kIncompleteSignature:
      return "IncompleteSignatureException";
    case SigV4Failure::kUnrecognizedClient:
      return "UnrecognizedClientException";
    case SigV4Failure::kInvalidSignature:
      return "InvalidSignatureException";
  }
  return "";
}

namespace {

// What the Authorization header (or the presigned query) says, before any key is looked up.
struct ParsedAuth {
  AuthFields fields;
  std::string amz_date;  // ISO 8601 basic, the date the string to sign uses
  bool query_form = false;
};

SigV4Result Refuse(SigV4Failure failure, std::string message, std::string access_key = "") {
  return {failure, std::move(message), std::move(access_key)};
}

// "Thu, 03 Dec 2026 09:30:00 GMT" (RFC 7231 IMF-fixdate) -> "20261203T093000Z".
std::optional<std::string> HttpDateToAmzDate(std::string_view d) {
  std::tm tm{};
  const std::string text(d);
  const char* end = strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (end == nullptr || *end != '\0') return std::nullopt;
  char buf[32];
  if (std::strftime(buf, sizeof(buf), "%Y%m%dT%H%M%SZ", &tm) == 0) return std::nullopt;
  return std::string(buf);
}

// Parses the Authorization header form. On failure `result` holds the refusal.
bool ParseHeaderAuth(const http::Request& req, std::string_view auth, ParsedAuth& out,
                     SigV4Result& result) {
  constexpr std::string_view kAlgo = "AWS4-HMAC-SHA256 ";
  if (auth.substr(0, kAlgo.size()) != kAlgo) {
    result = Refuse(SigV4Failure::kIncompleteSignature,
                    "Authorization header requires the AWS4-HMAC-SHA256 algorithm.");
    return false;
  }
  AuthFields& f = out.fields;
  std::string_view rest = auth.substr(kAlgo.size());
  std::string credential;
  while (!rest.empty()) {
    size_t comma = rest.find(',');
    std::string part = Trim(rest.substr(0, comma));
    if (part.rfind("Credential=", 0) == 0)
      credential = part.substr(11);
    else if (part.rfind("SignedHeaders=", 0) == 0)
      f.signed_headers = part.substr(14);
    else if (part.rfind("Signature=", 0) == 0)
      f.signature = part.substr(10);
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  if (credential.empty() || f.signed_headers.empty() || f.signature.empty() ||
      !ParseCredential(credential, f)) {
    result = Refuse(SigV4Failure::kIncompleteSignature,
                    "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' "
                    "parameters.");
    return false;
  }
  out.amz_date = std::string(req.Header("x-amz-date"));
  if (out.amz_date.empty() && req.HasHeader("date")) {
    // Without X-Amz-Date the Date header dates the signature (converted to the basic format).
    auto converted = HttpDateToAmzDate(req.Header("date"));
    if (!converted) {
      result = Refuse(SigV4Failure::kIncompleteSignature,
                      "Date must be in RFC 7231 format (e.g. 'Thu, 03 Dec 2026 09:30:00 GMT').",
                      f.access_key);
      return false;
    }
    out.amz_date = *converted;
  }
  if (out.amz_date.empty()) {
    result = Refuse(
        SigV4Failure::kIncompleteSignature,
        "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.");
    return false;
  }
  return true;
}

// Parses the presigned form (X-Amz-Credential, ... in the query string).
bool ParseQueryAuth(const http::Request& req, ParsedAuth& out, SigV4Result& result) {
  AuthFields& f = out.fields;
  std::string credential;
  for (auto& [k, v] : http::ParseForm(req.Query())) {
    if (k == "X-Amz-Credential")
      credential = v;
    else if (k == "X-Amz-SignedHeaders")
      f.signed_headers = v;
    else if (k == "X-Amz-Signature")
      f.signature = v;
    else if (k == "X-Amz-Date")
      out.amz_date = v;
  }
  if (credential.empty()) {
    result = Refuse(SigV4Failure::kMissingAuthentication, "Missing Authentication Token");
    return false;
  }
  out.query_form = true;
  if (!ParseCredential(credential, f) || f.signature.empty() || out.amz_date.empty()) {
    result = Refuse(SigV4Failure::kIncompleteSignature, "Incomplete presigned query parameters.");
    return false;
  }
  return true;
}

// The rules AWS applies to SignedHeaders: host and the request date must be signed, and so must
// every x-amz-* header sent (otherwise e.g. X-Amz-Target could be changed after signing).
std::optional<SigV4Result> CheckSignedHeaders(const http::Request& req, const ParsedAuth& p) {
  std::vector<std::string_view> names;
  std::string_view sh = p.fields.signed_headers;
  for (size_t start = 0; start <= sh.size();) {
    size_t semi = sh.find(';', start);
    names.push_back(sh.substr(start, semi == std::string_view::npos ? sh.npos : semi - start));
    if (semi == std::string_view::npos) break;
    start = semi + 1;
  }
  auto is_signed = [&](std::string_view name) {
    return std::find(names.begin(), names.end(), name) != names.end();
  };
  const std::string& key = p.fields.access_key;
  if (!is_signed("host")) {
    return Refuse(SigV4Failure::kIncompleteSignature,
                  "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.", key);
  }
  // The presigned form carries its date in the (always signed) query string.
  if (!p.query_form) {
    const bool date_signed =
        req.HasHeader("x-amz-date") ? is_signed("x-amz-date") : is_signed("date");
    if (!date_signed) {
      return Refuse(SigV4Failure::kIncompleteSignature,
                    "'X-Amz-Date' or 'Date' must be a 'SignedHeader' in the AWS Authorization.",
                    key);
    }
  }
  std::vector<std::string_view> missing;
  for (const auto& [name, value] : req.headers) {
    if (name.rfind("x-amz-", 0) != 0 || is_signed(name)) continue;
    if (std::find(missing.begin(), missing.end(), name) == missing.end()) missing.push_back(name);
  }
  if (!missing.empty()) {
    std::string unsigned_names;
    for (std::string_view name : missing) {
      if (!unsigned_names.empty()) unsigned_names += ", ";
      unsigned_names += name;
    }
    return Refuse(
        SigV4Failure::kIncompleteSignature,
        "There were headers present in the request which were not signed: " + unsigned_names + ".",
        key);
  }
  return std::nullopt;
}

}  // namespace

SigV4Result VerifySigV4(const http::Request& req, const SigV4Options& options, int64_t now,
                        std::string_view expected_service) {
  SigV4Result result;
  ParsedAuth parsed;
  std::string_view auth = req.Header("authorization");
  const bool parsed_ok = auth.empty() ? ParseQueryAuth(req, parsed, result)
                                      : ParseHeaderAuth(req, auth, parsed, result);
  // Loopback dev mode: anything unsigned, malformed or signed with an unknown key is let in.
  if (!parsed_ok) return options.allow_any ? SigV4Result{} : result;
  const AuthFields& f = parsed.fields;
  result.access_key = f.access_key;
  auto it = options.keys.find(f.access_key);
  if (it == options.keys.end() && options.allow_any) return result;
  if (auto weak = CheckSignedHeaders(req, parsed)) return *weak;
  if (it == options.keys.end()) {
    return Refuse(SigV4Failure::kUnrecognizedClient,
                  "The security token included in the request is invalid.", f.access_key);
  }
  if (!expected_service.empty() && f.service != expected_service) {
    return Refuse(
        SigV4Failure::kInvalidSignature,
        "Credential should be scoped to correct service: '" + std::string(expected_service) + "'. ",
        f.access_key);
  }
  auto when = ParseAmzDate(parsed.amz_date);
  if (!when) {
    return Refuse(SigV4Failure::kIncompleteSignature, "X-Amz-Date must be in ISO8601 basic format.",
                  f.access_key);
  }
  if (*when < now - options.max_skew_seconds || *when > now + options.max_skew_seconds) {
    return Refuse(SigV4Failure::kInvalidSignature,
                  "Signature expired: " + parsed.amz_date +
                      " is now earlier than the allowed skew of " +
                      std::to_string(options.max_skew_seconds / 60) + " minutes.",
                  f.access_key);
  }
  std::string expected = ComputeSignature(req, f, it->second, parsed.amz_date, parsed.query_form);
  if (!ConstantTimeEquals(expected, f.signature)) {
    return Refuse(SigV4Failure::kInvalidSignature,
                  "The request signature we calculated does not match the signature you "
                  "provided. Check your AWS Secret Access Key and signing method. Consult the "
                  "service documentation for details.",
                  f.access_key);
  }
  return result;
}

void SignSigV4(http::Request& req, std::string_view access_key, std::string_view secret_key,
               std::string_view region, std::string_view service, int64_t now_seconds) {
  std::time_t t = static_cast<std::time_t>(now_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y%m%dT%H%M%SZ", &tm);
  std::string amz_date = buf;
  req.headers.erase(
      std::remove_if(req.headers.begin(), req.headers.end(),
                     [](auto& h) { return h.first == "x-amz-date" || h.first == "authorization"; }),
      req.headers.end());
  req.headers.emplace_back("x-amz-date", amz_date);
  std::vector<std::string> names;
  for (auto& [n, v] : req.headers) names.push_back(n);
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  AuthFields f;
  f.access_key = std::string(access_key);
  f.date = amz_date.substr(0, 8);
  f.region = std::string(region);
  f.service = std::string(service);
  f.terminator = "aws4_request";
  for (size_t i = 0; i < names.size(); ++i) {
    if (i) f.signed_headers.push_back(';');
    f.signed_headers += names[i];
  }
  std::string sig = ComputeSignature(req, f, secret_key, amz_date, false);
  req.headers.emplace_back("authorization", "AWS4-HMAC-SHA256 Credential=" + f.access_key + "/" +
                                                f.date + "/" + f.region + "/" + f.service +
                                                "/aws4_request, SignedHeaders=" + f.signed_headers +
                                                ", Signature=" + sig);
}

}  // namespace bp::api
