#include "cfn/cfn_query.h"

#include <algorithm>
#include <boost/json.hpp>
#include <charconv>

namespace bp::cfn {

namespace json = boost::json;

namespace {

constexpr std::string_view kVersion = "2010-05-15";
constexpr std::string_view kNamespace = "http://cloudformation.amazonaws.com/doc/2010-05-15/";

bool IsForm(const http::Request& r) {
  return r.Header("content-type").starts_with("application/x-www-form-urlencoded");
}

std::vector<std::pair<std::string, std::string>> Params(const http::Request& r) {
  auto params = http::ParseForm(r.Query());
  if (IsForm(r)) {
    auto body = http::ParseForm(r.body);
    params.insert(params.end(), body.begin(), body.end());
  }
  return params;
}

// The service named in "Credential=AKID/date/region/service/aws4_request".
std::string_view ScopeService(const http::Request& r) {
  std::string_view auth = r.Header("authorization");
  size_t cred = auth.find("Credential=");
  if (cred == std::string_view::npos) return {};
  std::string_view scope = auth.substr(cred + 11);
  scope = scope.substr(0, scope.find_first_of(", "));
  size_t end = scope.rfind('/');
  if (end == std::string_view::npos) return {};
  size_t start = scope.rfind('/', end - 1);
  if (start == std::string_view::npos) return {};
  return scope.substr(start + 1, end - start - 1);
}

bool IsIndex(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

json::value Convert(const json::value& node) {
  if (!node.is_object()) return node;
  const json::object& o = node.as_object();
  if (o.size() == 1 && o.begin()->key() == "member" && o.begin()->value().is_object()) {
    std::vector<std::pair<long, const json::value*>> items;
    for (const auto& kv : o.begin()->value().as_object()) {
      if (!IsIndex(kv.key())) continue;
      long index = 0;
      std::from_chars(kv.key().data(), kv.key().data() + kv.key().size(), index);
      items.emplace_back(index, &kv.value());
    }
    std::sort(items.begin(), items.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    json::array out;
    for (const auto& [i, v] : items) out.push_back(Convert(*v));
    return out;
  }
  json::object out;
  for (const auto& kv : o) out[kv.key()] = Convert(kv.value());
  return out;
}

void Escape(std::string& out, std::string_view s) {
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\r':
        out += "&#xD;";
        break;
      default:
        out += c;
    }
  }
}

void AppendValue(std::string& out, std::string_view name, const json::value& v);

void AppendMembers(std::string& out, const json::object& o) {
  for (const auto& kv : o) AppendValue(out, kv.key(), kv.value());
}

void AppendValue(std::string& out, std::string_view name, const json::value& v) {
  if (v.is_null()) return;
  out += "<";
  out += name;
  out += ">";
  if (v.is_object()) {
    AppendMembers(out, v.as_object());
  } else if (v.is_array()) {
    for (const auto& item : v.as_array()) AppendValue(out, "member", item);
  } else if (v.is_string()) {
    Escape(out, v.as_string());
  } else if (v.is_bool()) {
    out += v.as_bool() ? "true" : "false";
  } else {
    out += json::serialize(v);
  }
  out += "</";
  out += name;
  out += ">";
}

http::Response Xml(int status, std::string body, std::string_view request_id) {
  http::Response r;
  r.status = status;
  r.body = std::move(body);
  r.SetHeader("Content-Type", "text/xml");
  r.SetHeader("x-amzn-RequestId", std::string(request_id));
  return r;
}

}  // namespace

json::object QueryParamsToInput(const std::vector<std::pair<std::string, std::string>>& params) {
  json::object tree;
  for (const auto& [key, value] : params) {
    if (key == "Action" || key == "Version" || key.starts_with("X-Amz-")) continue;
    json::object* node = &tree;
    std::string_view rest = key;
    while (true) {
      size_t dot = rest.find('.');
      std::string_view seg = rest.substr(0, dot);
      if (dot == std::string_view::npos) {
        (*node)[seg] = value;
        break;
      }
      json::value& child = (*node)[seg];
      if (!child.is_object()) child = json::object();
      node = &child.as_object();
      rest.remove_prefix(dot + 1);
    }
  }
  return Convert(tree).as_object();
}

std::string OutputToXml(std::string_view op, const json::object& out, std::string_view request_id) {
  std::string xml = "<?xml version=\"1.0\"?><";
  xml += op;
  xml += "Response xmlns=\"";
  xml += kNamespace;
  xml += "\"><";
  xml += op;
  xml += "Result>";
  AppendMembers(xml, out);
  xml += "</";
  xml += op;
  xml += "Result><ResponseMetadata><RequestId>";
  Escape(xml, request_id);
  xml += "</RequestId></ResponseMetadata></";
  xml += op;
  xml += "Response>";
  return xml;
}

bool CfnQueryApi::Accepts(const http::Request& request) {
  if (request.HasHeader("x-amz-target")) return false;
  std::string_view service = ScopeService(request);
  if (!service.empty()) return service == "cloudformation";
  if (!IsForm(request) && request.Query().empty()) return false;
  for (const auto& [k, v] : Params(request)) {
    if (k == "Version" && v == kVersion) return true;
  }
  return false;
}

http::Response CfnQueryApi::Error(std::string_view code, std::string_view message, int status,
                                  std::string_view request_id) {
  std::string xml = "<?xml version=\"1.0\"?><ErrorResponse xmlns=\"";
  xml += kNamespace;
  xml += "\"><Error><Type>";
  xml += status >= 500 ? "Receiver" : "Sender";
  xml += "</Type><Code>";
  Escape(xml, code);
  xml += "</Code><Message>";
  Escape(xml, message);
  xml += "</Message></Error><RequestId>";
  Escape(xml, request_id);
  xml += "</RequestId></ErrorResponse>";
  return Xml(status, std::move(xml), request_id);
}

void CfnQueryApi::Handle(const http::Request& request, const std::string& request_id,
                         http::Responder respond) {
  auto params = Params(request);
  std::string op;
  for (const auto& [k, v] : params) {
    if (k == "Action") op = v;
  }
  if (op.empty()) {
    respond(
        Error("MissingAction", "The request must contain the parameter Action.", 400, request_id));
    return;
  }
  json::object input = QueryParamsToInput(params);
  CallContext ctx;
  std::string_view proto = request.Header("x-forwarded-proto");
  std::string_view host = request.Header("host");
  ctx.base_url = (proto.empty() ? std::string("http") : std::string(proto)) + "://" +
                 (host.empty() ? std::string("localhost") : std::string(host));
  auto reply = [respond, request_id, op](StatusOr<json::object> result) {
    if (!result.ok()) {
      int status = StackEngine::HttpStatus(result.status());
      std::string message =
          status >= 500 ? "An internal error occurred." : result.status().message();
      respond(Error(StackEngine::ErrorCode(result.status()), message, status, request_id));
      return;
    }
    respond(Xml(200, OutputToXml(op, *result, request_id), request_id));
  };
  if (!engine_.Handle(op, input, ctx, reply)) {
    respond(Error("InvalidAction",
                  "The action " + op +
                      " is not valid for this endpoint (Bridgeport implements "
                      "the stack and change-set operations).",
                  400, request_id));
  }
}

}  // namespace bp::cfn
