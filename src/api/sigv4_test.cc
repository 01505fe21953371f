#include "api/sigv4.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace bp::api
