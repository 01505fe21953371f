// The pattern tester (TestEventPattern semantics plus "which of this bus's rules match"), the
// destination detail, and connection deauthorize / re-authorize for the console.
#include "console/console_impl.h"
#include "pattern/pattern.h"
#include "registry/registry.h"

namespace bp::console {

namespace {

// A member given as a JSON string or as a JSON value (serialized).
std::optional<std::string> TextOf(const json::object& o, const char* key) {
  auto it = o.find(key);
  if (it == o.end() || it->value().is_null()) return std::nullopt;
  if (it->value().is_string()) return std::string(it->value().as_string());
  return json::serialize(it->value());
}

// TestEventPattern's event rules: a JSON object with the envelope fields AWS requires.
Status CheckEvent(const std::string& event) {
  json::error_code ec;
  json::value ev = json::parse(event, ec);
  if (ec || !ev.is_object()) return Status::Validation("Parameter Event is not valid.");
  for (const char* field : {"id", "account", "source", "time", "region", "detail-type"}) {
    if (!ev.as_object().contains(field)) {
      return Status::Validation("Parameter Event is not valid: the event must contain the field " +
                                std::string(field) + ".");
    }
  }
  auto r = ev.as_object().find("resources");
  if (r == ev.as_object().end() || !r->value().is_array()) {
    return Status::Validation(
        "Parameter Event is not valid: the event must contain a resources array.");
  }
  return Status::Ok();
}

}  // namespace

void ConsoleServiceImpl::TestPattern(const std::string& body, http::Responder respond) {
  json::error_code ec;
  json::value in = json::parse(body, ec);
  if (ec || !in.is_object()) return respond(JsonError(400, "the body must be a JSON object"));
  const json::object& o = in.as_object();
  auto event = TextOf(o, "event");
  if (!event) return respond(JsonError(400, "event is required"));
  json::object out;
  Status valid = CheckEvent(*event);
  if (!valid.ok()) {
    out["event_error"] = valid.message();
  }
  if (auto pattern = TextOf(o, "pattern")) {
    if (valid.ok()) {
      auto matched = pattern::MatchesOne(*pattern, *event);
      if (matched.ok()) {
        out["result"] = *matched;
      } else {
        out["pattern_error"] = matched.status().message();
      }
    }
  }
  if (auto bus = TextOf(o, "bus"); bus && valid.ok()) {
    auto routes = d_.registry->Routes(*bus);
    if (!routes) return respond(JsonError(404, "Event bus " + *bus + " does not exist."));
    std::vector<uint32_t> ids;
    if (routes->matcher) routes->matcher->Match(*event, &ids);
    std::sort(ids.begin(), ids.end());
    json::array rules;
    for (uint32_t id : ids) {
      if (id >= routes->rules.size()) continue;
      const auto& rule = routes->rules[id];
      json::object r;
      r["name"] = rule.name;
      r["arn"] = rule.arn;
      r["enabled"] = rule.enabled;
      r["targets"] = rule.targets.size();
      rules.push_back(std::move(r));
    }
    out["bus"] = *bus;
    out["rules_on_bus"] = routes->rules.size();
    out["matching_rules"] = std::move(rules);
  }
  respond(JsonResponse(200, out));
}

void ConsoleServiceImpl::ConnectionAction(const std::string& name, const std::string& action,
                                          const std::string& body, http::Responder respond) {
  json::object in;
  if (action == "authorize") {
    // UpdateConnection with new credentials re-authorizes (SPEC §7).
    json::error_code ec;
    json::value v = json::parse(body, ec);
    if (ec || !v.is_object() || !v.as_object().contains("AuthParameters")) {
      return respond(JsonError(400,
                               "the body must be an object with AuthParameters (and "
                               "optionally AuthorizationType), as UpdateConnection takes"));
    }
    in = v.as_object();
  } else if (action != "deauthorize") {
    return respond(JsonError(
        404, "unknown connection action " + action + "; supported: deauthorize, authorize"));
  }
  in["Name"] = name;
  auto result = action == "authorize" ? d_.registry->UpdateConnection(in)
                                      : d_.registry->DeauthorizeConnection(in);
  if (!result.ok()) {
    int status = result.status().code() == StatusCode::kNotFound ? 404 : 400;
    return respond(JsonError(status, std::string(result.status().message())));
  }
  respond(JsonResponse(200, *result));
}

void ConsoleServiceImpl::Destination(const std::string& name, http::Responder respond) {
  for (auto& d : Destinations()) {
    json::object& o = d.as_object();
    if (!o["Name"].is_string() || o["Name"].as_string() != name) continue;
    if (o.contains("ConnectionName")) {
      json::object in;
      in["Name"] = o["ConnectionName"];
      // DescribeConnection never returns secret values (SPEC §7).
      auto conn = d_.registry->DescribeConnection(in);
      if (conn.ok()) o["connection"] = std::move(*conn);
    }
    return respond(JsonResponse(200, o));
  }
  respond(JsonError(404, "API destination " + name + " does not exist"));
}

void ConsoleServiceImpl::SetRateLimit(const std::string& name, const std::string& body,
                                      http::Responder respond) {
  // {"limit": N} -> UpdateApiDestination(InvocationRateLimitPerSecond), validated there.
  json::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec || !v.is_object() || !v.as_object().contains("limit") ||
      !v.as_object().at("limit").is_int64()) {
    return respond(JsonError(400, "the body must be {\"limit\": <requests per second>}"));
  }
  json::object in;
  in["Name"] = name;
  in["InvocationRateLimitPerSecond"] = v.as_object().at("limit");
  auto result = d_.registry->UpdateApiDestination(in);
  if (!result.ok()) {
    int status = result.status().code() == StatusCode::kNotFound ? 404 : 400;
    return respond(JsonError(status, std::string(result.status().message())));
  }
  respond(JsonResponse(200, *result));
}

}  // namespace bp::console
