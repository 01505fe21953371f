// StackEngine: CloudFormation-compatible stacks and change sets over Bridgeport's own control
// plane. A stack operation is a plan of ordinary calls (EventBridge handlers, the queue service,
// the secret store) run in dependency order on one worker thread; a failure rolls back.
//
// Durability: every stack (template, parameters, resources with their physical ids, events,
// change sets) is one record in the store's kMeta family, sealed with the master key, rewritten
// before and after each resource call. A physical name is chosen and persisted before its create
// call, so after a crash the engine knows what may exist. On Open, an operation that was
// interrupted is finished in a fixed way: a create or an update is rolled back (ROLLBACK_COMPLETE,
// UPDATE_ROLLBACK_COMPLETE), an update's cleanup and a delete are resumed.
//
// Threads: Handle may be called from any thread; reads answer at once, mutations queue work for
// the worker and reply when it has finished (or after `reply_wait_ms`, whichever is first).
#pragma once

#include <boost/json/object.hpp>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "api/events_api.h"
#include "common/clock.h"
#include "common/status.h"
#include "queue/queue_service.h"
#include "secrets/secret_store.h"
#include "store/store.h"

namespace bp::pipes {
class PipeService;
}

namespace bp::cfn {

struct StackEngineOptions {
  std::string region = "us-east-1";
  std::string account = "000000000000";
  // Types accepted as recorded no-ops (nothing is created; Ref = a generated name, any
  // Fn::GetAtt = a placeholder, `Arn` an ARN-shaped one).
  std::set<std::string> noop_types;
  // The built-in parameter store behind AWS::SSM::Parameter::Value<...> parameters and
  // {{resolve:ssm:...}}; CDK's bootstrap version parameter is always present.
  std::map<std::string, std::string> ssm_parameters;
  int reply_wait_ms = 20000;
};

struct StackEngineDeps {
  store::Store* store = nullptr;
  const Clock* clock = nullptr;
  const api::EventsApi* events = nullptr;
  queue::QueueService* queues = nullptr;
  secrets::SecretStore* secrets = nullptr;
  pipes::PipeService* pipes = nullptr;
  secrets::Sealer sealer;
};

struct CallContext {
  std::string base_url;  // "{scheme}://{host}" of the request (queue URLs)
};

using StackReply = std::function<void(StatusOr<boost::json::object>)>;

class StackEngine {
 public:
  static StatusOr<std::unique_ptr<StackEngine>> Open(StackEngineDeps deps,
                                                     StackEngineOptions options);
  ~StackEngine();

  // Runs CloudFormation operation `op` on the decoded Query input (botocore input shape) and calls
  // `reply` exactly once with the output shape. Returns false for an unknown operation.
  bool Handle(std::string_view op, const boost::json::object& in, const CallContext& ctx,
              StackReply reply);

  // The Query error code and HTTP status for an error from Handle.
  static std::string_view ErrorCode(const Status& status);
  static int HttpStatus(const Status& status);

  class Impl;

 private:
  explicit StackEngine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace bp::cfn
