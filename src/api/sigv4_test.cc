#include "api/sigv4.h"

#include <gtest/gtest.h>

#include "common/ids.h"

namespace bp::api {
namespace {

http::Request MakeRequest() {
  http::Request req;
  req.method = "POST";
  req.target = "/";
  req.headers = {{"host", "127.0.0.1:4010"},
                 {"content-type", "application/x-amz-json-1.1"},
                 {"x-amz-target", "AWSEvents.ListEventBuses"}};
  req.body = "{}";
  return req;
}

constexpr int64_t kNow = 1700000000;

TEST(SigV4Test, KnownVectorFromAwsDocs) {
  // The GET example of AWS's SigV4 documentation (IAM ListUsers) — a published test vector.
  http::Request req;
  req.method = "GET";
  req.target = "/?Action=ListUsers&Version=2010-05-08";
  req.headers = {{"host", "iam.amazonaws.com"},
                 {"content-type", "application/x-www-form-urlencoded; charset=utf-8"},
                 {"x-amz-date", "20150830T123600Z"},
                 {"authorization",
                  "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, "
                  "SignedHeaders=content-type;host;x-amz-date, "
                  "Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"}};
  SigV4Options opts;
  opts.keys["AKIDEXAMPLE"] = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
  int64_t when = 1440938160;  // 2015-08-30T12:36:00Z
  EXPECT_TRUE(VerifySigV4(req, opts, when).ok()) << VerifySigV4(req, opts, when).message;
}

TEST(SigV4Test, SignThenVerify) {
  http::Request req = MakeRequest();
  SignSigV4(req, "AKID", "secret", "us-east-1", "events", kNow);
  SigV4Options opts;
  opts.keys["AKID"] = "secret";
  EXPECT_TRUE(VerifySigV4(req, opts, kNow).ok());
  // Tampered body.
  req.body = "{\"x\":1}";
  auto r = VerifySigV4(req, opts, kNow);
  EXPECT_EQ(r.failure, SigV4Failure::kInvalidSignature);
}

TEST(SigV4Test, WrongSecretUnknownKeyMissingAndSkew) {
  http::Request req = MakeRequest();
  SignSigV4(req, "AKID", "wrong", "us-east-1", "events", kNow);
  SigV4Options opts;
  opts.keys["AKID"] = "secret";
  EXPECT_EQ(VerifySigV4(req, opts, kNow).failure, SigV4Failure::kInvalidSignature);

  http::Request other = MakeRequest();
  SignSigV4(other, "NOPE", "secret", "us-east-1", "events", kNow);
  EXPECT_EQ(VerifySigV4(other, opts, kNow).failure, SigV4Failure::kUnrecognizedClient);

  http::Request unsigned_req = MakeRequest();
  EXPECT_EQ(VerifySigV4(unsigned_req, opts, kNow).failure, SigV4Failure::kMissingAuthentication);

  http::Request old = MakeRequest();
  SignSigV4(old, "AKID", "secret", "us-east-1", "events", kNow - 16 * 60);
  EXPECT_EQ(VerifySigV4(old, opts, kNow).failure, SigV4Failure::kInvalidSignature);

  SigV4Options dev;
  dev.allow_any = true;
  EXPECT_TRUE(VerifySigV4(unsigned_req, dev, kNow).ok());
  EXPECT_TRUE(VerifySigV4(other, dev, kNow).ok());
}

// Removes `name` from the SignedHeaders list of a signed request's Authorization header.
void UnsignHeader(http::Request& req, const std::string& name) {
  for (auto& [n, v] : req.headers) {
    if (n != "authorization") continue;
    for (const std::string& pattern : {name + ";", ";" + name}) {
      size_t at = v.find(pattern);
      if (at != std::string::npos) {
        v.erase(at, pattern.size());
        return;
      }
    }
  }
}

SigV4Options OneKey() {
  SigV4Options opts;
  opts.keys["AKID"] = "secret";
  return opts;
}

TEST(SigV4Test, HostMustBeSigned) {
  http::Request req = MakeRequest();
  req.headers.erase(req.headers.begin());  // sign without host, then send it
  SignSigV4(req, "AKID", "secret", "us-east-1", "events", kNow);
  req.headers.emplace_back("host", "127.0.0.1:4010");
  auto r = VerifySigV4(req, OneKey(), kNow);
  EXPECT_EQ(r.failure, SigV4Failure::kIncompleteSignature);
  EXPECT_EQ(r.message, "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.");
}

TEST(SigV4Test, DateMustBeSigned) {
  http::Request req = MakeRequest();
  SignSigV4(req, "AKID", "secret", "us-east-1", "events", kNow);
  UnsignHeader(req, "x-amz-date");
  auto r = VerifySigV4(req, OneKey(), kNow);
  EXPECT_EQ(r.failure, SigV4Failure::kIncompleteSignature);
  EXPECT_EQ(r.message, "'X-Amz-Date' or 'Date' must be a 'SignedHeader' in the AWS Authorization.");
}

TEST(SigV4Test, EveryAmzHeaderMustBeSigned) {
  http::Request req = MakeRequest();
  req.headers.erase(req.headers.begin() + 2);  // x-amz-target added after signing
  SignSigV4(req, "AKID", "secret", "us-east-1", "events", kNow);
  req.headers.emplace_back("x-amz-target", "AWSEvents.DeleteEventBus");
  req.headers.emplace_back("x-amz-meta", "1");
  auto r = VerifySigV4(req, OneKey(), kNow);
  EXPECT_EQ(r.failure, SigV4Failure::kIncompleteSignature);
  EXPECT_EQ(r.message,
            "There were headers present in the request which were not signed: x-amz-target, "
            "x-amz-meta.");
  // Other unsigned headers (not x-amz-*) are fine, as for AWS.
  http::Request ok = MakeRequest();
  SignSigV4(ok, "AKID", "secret", "us-east-1", "events", kNow);
  ok.headers.emplace_back("user-agent", "test");
  EXPECT_TRUE(VerifySigV4(ok, OneKey(), kNow).ok());
}

TEST(SigV4Test, ScopeMustNameTheCalledService) {
  http::Request req = MakeRequest();
  SignSigV4(req, "AKID", "secret", "us-east-1", "sqs", kNow);
  auto r = VerifySigV4(req, OneKey(), kNow, "events");
  EXPECT_EQ(r.failure, SigV4Failure::kInvalidSignature);
  EXPECT_EQ(r.message, "Credential should be scoped to correct service: 'events'. ");
  EXPECT_TRUE(VerifySigV4(req, OneKey(), kNow, "sqs").ok());
  EXPECT_TRUE(VerifySigV4(req, OneKey(), kNow).ok());  // no service expected
}

TEST(SigV4Test, DateHeaderWithoutAmzDate) {
  // An independent signer: host and date signed, no X-Amz-Date; 1700000000 is
  // Tue, 14 Nov 2023 22:13:20 GMT.
  http::Request req = MakeRequest();
  req.headers = {{"host", "h"},
                 {"date", "Tue, 14 Nov 2023 22:13:20 GMT"},
                 {"x-amz-target", "AWSEvents.ListEventBuses"}};
  const std::string canonical =
      "POST\n/\n\ndate:Tue, 14 Nov 2023 22:13:20 GMT\nhost:h\n"
      "x-amz-target:AWSEvents.ListEventBuses\n\n"
      "date;host;x-amz-target\n" +
      Sha256Hex(req.body);
  const std::string scope = "20231114/us-east-1/events/aws4_request";
  const std::string to_sign =
      "AWS4-HMAC-SHA256\n20231114T221320Z\n" + scope + "\n" + Sha256Hex(canonical);
  std::string k = HmacSha256("AWS4secret", "20231114");
  for (const char* part : {"us-east-1", "events", "aws4_request"}) k = HmacSha256(k, part);
  const std::string sig = HexEncode(HmacSha256(k, to_sign));
  req.headers.emplace_back("authorization", "AWS4-HMAC-SHA256 Credential=AKID/" + scope +
                                                ", SignedHeaders=date;host;x-amz-target, "
                                                "Signature=" +
                                                sig);
  auto r = VerifySigV4(req, OneKey(), kNow, "events");
  EXPECT_TRUE(r.ok()) << r.message;

  req.headers[1].second = "yesterday";
  EXPECT_EQ(VerifySigV4(req, OneKey(), kNow).failure, SigV4Failure::kIncompleteSignature);
}

TEST(SigV4Test, DevModeChecksOnlyKnownKeys) {
  http::Request req = MakeRequest();
  req.headers.erase(req.headers.begin() + 2);
  SignSigV4(req, "NOPE", "x", "us-east-1", "events", kNow);
  req.headers.emplace_back("x-amz-target", "AWSEvents.ListEventBuses");
  SigV4Options dev = OneKey();
  dev.allow_any = true;
  EXPECT_TRUE(VerifySigV4(req, dev, kNow, "events").ok());  // unknown key: let in

  http::Request known = MakeRequest();
  known.headers.erase(known.headers.begin() + 2);
  SignSigV4(known, "AKID", "secret", "us-east-1", "events", kNow);
  known.headers.emplace_back("x-amz-target", "AWSEvents.ListEventBuses");
  EXPECT_EQ(VerifySigV4(known, dev, kNow, "events").failure, SigV4Failure::kIncompleteSignature);
}

}  // namespace
}  // namespace bp::api
