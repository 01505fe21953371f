#include "cfn/resource_types.h"

#include <future>

#include "cfn/intrinsics.h"

namespace bp::cfn {

namespace json = boost::json;

StatusOr<json::object> CallEvents(const ProviderEnv& env, std::string_view op,
                                  const json::object& input) {
  auto promise = std::make_shared<std::promise<StatusOr<json::object>>>();
  std::future<StatusOr<json::object>> result = promise->get_future();
  api::RequestContext ctx;
  ctx.request_id = "cloudformation";
  ctx.region = env.region;
  ctx.account = env.account;
  ctx.loopback = true;
  env.events->Call(op, input, ctx,
                   [promise](StatusOr<json::object> r) { promise->set_value(std::move(r)); });
  return result.get();
}

json::object Pick(const json::object& from, std::initializer_list<std::string_view> members) {
  json::object out;
  for (auto m : members) {
    if (const json::value* v = from.if_contains(m)) out[m] = *v;
  }
  return out;
}

std::string PropString(const json::object& props, std::string_view key) {
  const json::value* v = props.if_contains(key);
  return v ? ScalarText(*v) : std::string();
}

ResourceType RecordedType(std::string type, std::string arn_service, std::string arn_kind,
                          bool iam) {
  ResourceType t;
  t.type = std::move(type);
  t.iam = iam;
  t.create = [arn_service, arn_kind](const ProviderEnv& env, const std::string& name,
                                     const json::object&) -> StatusOr<Physical> {
    Physical p;
    p.ref = name;
    bool global = arn_service == "iam";
    p.attributes["Arn"] = "arn:aws:" + arn_service + ":" + (global ? "" : env.region) + ":" +
                          env.account + ":" + arn_kind + "/" + name;
    return p;
  };
  t.update = [](const ProviderEnv&, const Physical& current, const json::object&,
                const json::object&) -> StatusOr<Physical> { return current; };
  t.remove = [](const ProviderEnv&, const Physical&) { return Status::Ok(); };
  return t;
}

std::vector<ResourceType> BuiltinResourceTypes(const std::set<std::string>& noop_types) {
  std::vector<ResourceType> out;
  AddEventsTypes(out);
  AddOtherTypes(out);
  AddPipeTypes(out);
  for (const auto& type : noop_types) {
    bool known = false;
    for (const auto& t : out) known |= t.type == type;
    if (known) continue;
    // "AWS::Lambda::Function" -> service "lambda", kind "function".
    auto lower = [](std::string s) {
      for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      return s;
    };
    size_t first = type.find("::");
    size_t last = type.rfind("::");
    std::string service = first != last ? type.substr(first + 2, last - first - 2) : "bridgeport";
    std::string kind = last != std::string::npos ? type.substr(last + 2) : type;
    ResourceType t = RecordedType(type, lower(service), lower(kind), false);
    t.any_attribute = true;
    out.push_back(std::move(t));
  }
  return out;
}

}  // namespace bp::cfn
