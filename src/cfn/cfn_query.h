// The CloudFormation wire protocol: AWS Query (form-encoded `Action=...&Version=2010-05-15`,
// SigV4 service `cloudformation`) in, XML out, in front of StackEngine.
#pragma once

#include <string>

#include "cfn/stack_engine.h"
#include "http/server.h"

namespace bp::cfn {

class CfnQueryApi {
 public:
  explicit CfnQueryApi(StackEngine& engine) : engine_(engine) {}

  // True for a form-encoded (or GET query) request whose Version is 2010-05-15 or whose SigV4
  // credential scope names the `cloudformation` service. SQS Query (Version 2012-11-05, scope
  // `sqs`) never matches.
  static bool Accepts(const http::Request& request);

  // Calls `respond` exactly once, possibly later from the engine's threads.
  void Handle(const http::Request& request, const std::string& request_id, http::Responder respond);

  static http::Response Error(std::string_view code, std::string_view message, int status,
                              std::string_view request_id);

 private:
  StackEngine& engine_;
};

// Exposed for tests: Query parameters into the botocore input shape (`X.member.N` lists become
// arrays), and an output object into the Query XML reply.
boost::json::object QueryParamsToInput(
    const std::vector<std::pair<std::string, std::string>>& params);
std::string OutputToXml(std::string_view op, const boost::json::object& out,
                        std::string_view request_id);

}  // namespace bp::cfn
