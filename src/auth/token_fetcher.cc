#include "auth/token_fetcher.h"

namespace bp::auth {

TokenResult ClassifyFetchResponse(const FetchResponse& response, int64_t now_micros) {
  switch (response.transport) {
    case FetchResponse::Transport::kOk:
      return ParseTokenResponse(response.status, response.body, now_micros);
    case FetchResponse::Transport::kTimeout:
      return {TokenResult::Kind::kTransient, {}, "timeout: " + TruncateBody(response.error)};
    case FetchResponse::Transport::kEgressDenied:
      // The endpoint would be refused again: the connection is deauthorized with the reason.
      return {TokenResult::Kind::kPermanent, {}, "egress denied: " + response.error};
    case FetchResponse::Transport::kNetworkError:
      break;
  }
  return {TokenResult::Kind::kTransient, {}, "network error: " + TruncateBody(response.error)};
}

}  // namespace bp::auth
