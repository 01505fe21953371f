// API destinations.
#include <boost/json.hpp>

#include "common/ids.h"
#include "common/log.h"
#include "model/arn_patterns.h"
#include "model/validation.h"
#include "registry/registry.h"
#include "registry/registry_internal.h"
#include "registry/settings.h"

namespace bp::registry {

namespace json = boost::json;
using model::Input;
using model::Validator;

namespace {

Status DestinationNotFound(const std::string& name) {
  return Status::NotFound("Failed to describe the api-destination(s). An api-destination '" + name +
                          "' does not exist.");
}

}  // namespace

// ---- API destinations ----

std::string Registry::DestinationState(const Destination& d) const {
  std::string conn_arn = JsonString(d.data, "ConnectionArn");
  for (auto& [n, c] : connections_) {
    if (JsonString(c->data, "ConnectionArn") == conn_arn) {
      return JsonString(c->data, "ConnectionState") == "AUTHORIZED" ? "ACTIVE" : "INACTIVE";
    }
  }
  return "INACTIVE";
}

json::object Registry::DestinationPublic(const Destination& d, bool full) const {
  json::object out;
  for (const char* k :
       {"ApiDestinationArn", "Name", "Description", "ConnectionArn", "InvocationEndpoint",
        "HttpMethod", "InvocationRateLimitPerSecond", "CreationTime", "LastModifiedTime"}) {
    if (auto it = d.data.find(k); it != d.data.end()) out[k] = it->value();
  }
  out["ApiDestinationState"] = DestinationState(d);
  if (!full) out.erase("Description");
  return out;
}

namespace {

// The members of Create/UpdateApiDestination, validated (on create the required ones must be
// there).
struct DestinationInput {
  std::optional<std::string> name, description, conn_arn, endpoint, method;
  std::optional<int64_t> rate;
};

StatusOr<DestinationInput> ParseDestinationInput(const json::object& in, bool create,
                                                 const RegistryOptions& options) {
  const bool allow_http = options.allow_http_endpoints;
  Input input(in);
  DestinationInput d;
  BP_ASSIGN_OR_RETURN(d.name, input.String("Name"));
  BP_ASSIGN_OR_RETURN(d.description, input.String("Description"));
  BP_ASSIGN_OR_RETURN(d.conn_arn, input.String("ConnectionArn"));
  BP_ASSIGN_OR_RETURN(d.endpoint, input.String("InvocationEndpoint"));
  BP_ASSIGN_OR_RETURN(d.method, input.String("HttpMethod"));
  BP_ASSIGN_OR_RETURN(d.rate, input.Integer("InvocationRateLimitPerSecond"));
  Validator v;
  v.NotNull("name", d.name.has_value());
  if (d.name) v.Name("name", *d.name, 64);
  if (d.description) v.Length("description", *d.description, 0, 512);
  if (create) {
    v.NotNull("connectionArn", d.conn_arn.has_value());
    v.NotNull("invocationEndpoint", d.endpoint.has_value());
    v.NotNull("httpMethod", d.method.has_value());
  }
  if (d.conn_arn) {
    v.Length("connectionArn", *d.conn_arn, 1, 1600);
    if (v.ok()) {
      v.Pattern("connectionArn", *d.conn_arn, model::IsConnectionArn(*d.conn_arn),
                model::kConnectionArnPattern);
    }
  }
  if (d.endpoint) {
    v.Length("invocationEndpoint", *d.endpoint, 1, 2048);
    if (v.ok()) {
      v.Pattern("invocationEndpoint", *d.endpoint, ValidEndpoint(*d.endpoint, allow_http),
                "^((%[0-9A-Fa-f]{2}|[-()_.!~*';/?:@\\x26=+$,A-Za-z0-9])+)([).!';/?:,])?$");
      CheckEgress(options, v, "invocationEndpoint", *d.endpoint);
    }
  }
  if (d.method)
    v.Enum("httpMethod", *d.method, {"POST", "GET", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE"});
  if (d.rate) v.Range("invocationRateLimitPerSecond", *d.rate, 1, 100000);
  BP_RETURN_IF_ERROR(v.Finish());
  return d;
}

}  // namespace

StatusOr<json::object> Registry::CreateApiDestination(const json::object& in) {
  BP_ASSIGN_OR_RETURN(DestinationInput input, ParseDestinationInput(in, true, options_));
  auto& [name, description, conn_arn, endpoint, method, rate] = input;
  std::lock_guard<std::mutex> lock(mu_);
  if (destinations_.count(*name)) {
    return Status::AlreadyExists("An api-destination '" + *name + "' already exists.");
  }
  bool conn_found = false;
  for (auto& [n, c] : connections_) conn_found |= JsonString(c->data, "ConnectionArn") == *conn_arn;
  if (!conn_found) {
    return Status::NotFound("Connection '" + *conn_arn + "' does not exist.");
  }
  if (static_cast<int>(destinations_.size()) >= options_.limits.max_destinations) {
    return Status::LimitExceeded("The requested resource exceeds the maximum number allowed: " +
                                 std::to_string(options_.limits.max_destinations) +
                                 " API destinations.");
  }
  double now = NowSeconds(clock_);
  auto d = std::make_unique<Destination>();
  d->data["Name"] = *name;
  d->data["ApiDestinationArn"] = model::ApiDestinationArn(options_.partition, *name, NewUuid());
  if (description) d->data["Description"] = *description;
  d->data["ConnectionArn"] = *conn_arn;
  d->data["InvocationEndpoint"] = *endpoint;
  d->data["HttpMethod"] = *method;
  d->data["InvocationRateLimitPerSecond"] = rate.value_or(300);
  d->data["CreationTime"] = now;
  d->data["LastModifiedTime"] = now;
  store::WriteBatch b;
  b.Put(store::Family::kMeta, DestinationKey(*name), json::serialize(d->data));
  BP_RETURN_IF_ERROR(Commit(std::move(b)));
  json::object out;
  out["ApiDestinationArn"] = d->data["ApiDestinationArn"];
  out["ApiDestinationState"] = DestinationState(*d);
  out["CreationTime"] = now;
  out["LastModifiedTime"] = now;
  destinations_[*name] = std::move(d);
  PublishDestination(*name);
  return out;
}

StatusOr<json::object> Registry::UpdateApiDestination(const json::object& in) {
  BP_ASSIGN_OR_RETURN(DestinationInput input, ParseDestinationInput(in, false, options_));
  auto& [name, description, conn_arn, endpoint, method, rate] = input;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = destinations_.find(*name);
  if (it == destinations_.end()) return DestinationNotFound(*name);
  if (conn_arn) {
    bool found = false;
    for (auto& [n, c] : connections_) found |= JsonString(c->data, "ConnectionArn") == *conn_arn;
    if (!found) return Status::NotFound("Connection '" + *conn_arn + "' does not exist.");
  }
  json::object data = it->second->data;
  if (description) data["Description"] = *description;
  if (conn_arn) data["ConnectionArn"] = *conn_arn;
  if (endpoint) data["InvocationEndpoint"] = *endpoint;
  if (method) data["HttpMethod"] = *method;
  if (rate) data["InvocationRateLimitPerSecond"] = *rate;
  data["LastModifiedTime"] = NowSeconds(clock_);
  store::WriteBatch b;
  b.Put(store::Family::kMeta, DestinationKey(*name), json::serialize(data));
  BP_RETURN_IF_ERROR(Commit(std::move(b)));
  it->second->data = std::move(data);
  PublishDestination(*name);
  json::object out;
  for (const char* k : {"ApiDestinationArn", "CreationTime", "LastModifiedTime"})
    out[k] = it->second->data[k];
  out["ApiDestinationState"] = DestinationState(*it->second);
  return out;
}

StatusOr<json::object> Registry::DescribeApiDestination(const json::object& in) {
  BP_ASSIGN_OR_RETURN(std::optional<std::string> name, RequiredName(in, "Name", "name"));
  std::lock_guard<std::mutex> lock(mu_);
  auto it = destinations_.find(*name);
  if (it == destinations_.end()) return DestinationNotFound(*name);
  return DestinationPublic(*it->second, true);
}

StatusOr<json::object> Registry::ListApiDestinations(const json::object& in) {
  Input input(in);
  BP_ASSIGN_OR_RETURN(auto prefix, input.String("NamePrefix"));
  BP_ASSIGN_OR_RETURN(auto conn_arn, input.String("ConnectionArn"));
  Validator v;
  if (prefix) v.Name("namePrefix", *prefix, 64);
  if (conn_arn) {
    v.Length("connectionArn", *conn_arn, 1, 1600);
    if (v.ok()) {
      v.Pattern("connectionArn", *conn_arn, model::IsConnectionArn(*conn_arn),
                model::kConnectionArnPattern);
    }
  }
  BP_RETURN_IF_ERROR(v.Finish());
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> names;
  for (auto& [n, d] : destinations_) {
    if (prefix && n.compare(0, prefix->size(), *prefix) != 0) continue;
    if (conn_arn && JsonString(d->data, "ConnectionArn") != *conn_arn) continue;
    names.push_back(n);
  }
  BP_ASSIGN_OR_RETURN(Page page, Paginate(names, in));
  json::array list;
  for (size_t i = page.begin; i < page.end; ++i)
    list.push_back(DestinationPublic(*destinations_[names[i]], false));
  return ListReply("ApiDestinations", std::move(list), page);
}

StatusOr<json::object> Registry::DeleteApiDestination(const json::object& in) {
  BP_ASSIGN_OR_RETURN(std::optional<std::string> name, RequiredName(in, "Name", "name"));
  std::lock_guard<std::mutex> lock(mu_);
  auto it = destinations_.find(*name);
  if (it == destinations_.end()) return DestinationNotFound(*name);
  std::string arn = JsonString(it->second->data, "ApiDestinationArn");
  store::WriteBatch b;
  b.Delete(store::Family::kMeta, DestinationKey(*name));
  b.Delete(store::Family::kMeta, TagKey(arn));
  BP_RETURN_IF_ERROR(Commit(std::move(b)));
  destinations_.erase(it);
  tags_.erase(arn);
  PublishDestination(*name);
  return json::object();
}

}  // namespace bp::registry
