// The EventBridge Pipes REST-JSON protocol (service `pipes`, API version 2015-10-07):
// /v1/pipes, /v1/pipes/{Name}, /v1/pipes/{Name}/start|stop and /tags/{resourceArn}.
//
// Threads: Handle runs on an io thread and answers synchronously (control-plane writes fsync).
#pragma once

#include <string>

#include "http/server.h"
#include "pipes/pipe_service.h"

namespace bp::api::pipes {

class PipesFrontend {
 public:
  explicit PipesFrontend(bp::pipes::PipeService& service) : service_(service) {}

  // True for Pipes requests: a /v1/pipes path, or /tags/ with a pipes ARN or a SigV4 scope for
  // the `pipes` service (the events API's tag operations use X-Amz-Target, never /tags/).
  static bool Accepts(const http::Request& request);

  void Handle(http::Request&& request, const std::string& request_id, http::Responder respond);

 private:
  StatusOr<boost::json::object> Dispatch(const http::Request& request, std::string_view path,
                                         const boost::json::object& body, std::string* name);

  bp::pipes::PipeService& service_;
};

// The REST-JSON error response (X-Amzn-ErrorType header, message, fieldList or resource ids).
http::Response PipesError(const Status& status, const std::string& resource_id,
                          const std::string& request_id);

}  // namespace bp::api::pipes
