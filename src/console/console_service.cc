// Routing of the console's admin endpoints, and the service's lifecycle.
#include "console/console_impl.h"
#include "registry/registry.h"

namespace bp::console {

namespace {

constexpr std::string_view kV1 = "/_bridgeport/v1/";

// Path segments after /_bridgeport/v1/, URL-decoded.
std::vector<std::string> Segments(std::string_view path) {
  std::vector<std::string> out;
  if (!path.starts_with(kV1)) return out;
  path.remove_prefix(kV1.size());
  while (!path.empty()) {
    size_t slash = path.find('/');
    out.push_back(http::UrlDecode(path.substr(0, slash)));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

}  // namespace

bool ConsoleService::Handles(const http::Request& req) {
  auto s = Segments(req.Path());
  if (s.empty()) return false;
  const std::string& m = req.method;
  if (s[0] == "overview" || s[0] == "dead-letter-queues") return m == "GET" && s.size() <= 3;
  if (s[0] == "redrives") return s.size() <= 3;
  if (s[0] == "test-pattern") return m == "POST" && s.size() == 1;
  if (s[0] == "connections") return m == "POST" && s.size() == 3;
  if (s[0] == "api-destinations") {
    return (m == "GET" && s.size() == 2) || (m == "POST" && s.size() == 3 && s[2] == "rate-limit");
  }
  return false;
}

StatusOr<std::unique_ptr<ConsoleService>> ConsoleService::Start(ConsoleDeps deps) {
  auto service = std::make_unique<ConsoleServiceImpl>(deps);
  BP_RETURN_IF_ERROR(service->Init());
  return std::unique_ptr<ConsoleService>(std::move(service));
}

Status ConsoleServiceImpl::Init() {
  BP_RETURN_IF_ERROR(redriver_.Start());
  sampler_ = std::thread([this] { SampleLoop(); });
  return Status::Ok();
}

void ConsoleServiceImpl::Stop() {
  {
    std::lock_guard<std::mutex> lock(history_mu_);
    stopping_ = true;
    history_cv_.notify_all();
  }
  if (sampler_.joinable()) sampler_.join();
  redriver_.Stop();
}

namespace {

void Reply(http::Responder& respond, StatusOr<json::object> result) {
  if (result.ok()) {
    respond(JsonResponse(200, *result));
    return;
  }
  int status = result.status().code() == StatusCode::kNotFound ? 404 : 400;
  if (result.status().code() == StatusCode::kIoError ||
      result.status().code() == StatusCode::kInternal) {
    status = 500;
  }
  respond(JsonError(status, std::string(result.status().message())));
}

StatusOr<json::object> ParseObject(const std::string& body) {
  json::error_code ec;
  json::value v = json::parse(body.empty() ? std::string_view("{}") : std::string_view(body), ec);
  if (ec || !v.is_object()) return Status::Validation("the body must be a JSON object");
  return std::move(v.as_object());
}

}  // namespace

void ConsoleServiceImpl::HandleAdmin(const http::Request& req, http::Responder respond) {
  auto s = Segments(req.Path());
  const std::string& m = req.method;
  if (s[0] == "overview") {
    respond(JsonResponse(200, Overview()));
  } else if (s[0] == "api-destinations" && s.size() == 3) {
    SetRateLimit(s[1], req.body, std::move(respond));
  } else if (s[0] == "api-destinations") {
    Destination(s[1], std::move(respond));
  } else if (s[0] == "dead-letter-queues" && s.size() == 1) {
    json::object out;
    out["queues"] = DeadLetterQueues();
    respond(JsonResponse(200, out));
  } else if (s[0] == "dead-letter-queues" && s.size() == 3 && s[2] == "messages") {
    ListMessages(s[1], req.Query(), std::move(respond));
  } else if (s[0] == "redrives" && s.size() == 1 && m == "GET") {
    respond(JsonResponse(200, redriver_.List()));
  } else if (s[0] == "redrives" && s.size() == 1 && m == "POST") {
    auto in = ParseObject(req.body);
    if (!in.ok()) return Reply(respond, in.status());
    auto created = redriver_.Create(*in);
    if (created.ok()) return respond(JsonResponse(202, *created));
    Reply(respond, created.status());
  } else if (s[0] == "redrives" && s.size() == 2 && m == "GET") {
    Reply(respond, redriver_.Get(s[1]));
  } else if (s[0] == "redrives" && ((s.size() == 2 && m == "DELETE") ||
                                    (s.size() == 3 && s[2] == "cancel" && m == "POST"))) {
    Reply(respond, redriver_.Cancel(s[1]));
  } else if (s[0] == "test-pattern") {
    TestPattern(req.body, std::move(respond));
  } else if (s[0] == "connections") {
    ConnectionAction(s[1], s[2], req.body, std::move(respond));
  } else {
    respond(JsonError(404, "not found"));
  }
}

json::array ListAll(const std::function<StatusOr<json::object>(const json::object&)>& list,
                    json::object in, const char* key) {
  json::array out;
  in["Limit"] = 100;
  for (int page = 0; page < 1000; ++page) {
    auto r = list(in);
    if (!r.ok()) break;
    if (auto it = r->find(key); it != r->end() && it->value().is_array()) {
      for (auto& v : it->value().as_array()) out.push_back(std::move(v));
    }
    auto next = r->find("NextToken");
    if (next == r->end() || !next->value().is_string() || next->value().as_string().empty()) break;
    in["NextToken"] = next->value();
  }
  return out;
}

}  // namespace bp::console
