// Connections, API destinations, tags and connection state.
#include <boost/json.hpp>

#include "common/ids.h"
#include "common/log.h"
#include "model/validation.h"
#include "registry/registry.h"
#include "registry/registry_internal.h"
#include "registry/settings.h"

namespace bp::registry {

namespace json = boost::json;
using model::Input;
using model::Validator;

namespace {

Status ConnectionNotFound(const std::string& name) {
  return Status::NotFound("Failed to describe the connection(s). Connection '" + name +
                          "' does not exist.");
}

// Deep merge for UpdateConnection: objects merge member-wise, anything else replaces.
void Merge(json::object& into, const json::object& from) {
  for (const auto& [k, v] : from) {
    auto it = into.find(k);
    if (it != into.end() && it->value().is_object() && v.is_object()) {
      Merge(it->value().as_object(), v.as_object());
    } else {
      into[k] = v;
    }
  }
}

// Removes secret values from a copy of AuthParameters.
json::object StripSecrets(const json::object& auth) {
  json::object out = auth;
  if (auto* b = out.if_contains("BasicAuthParameters"); b && b->is_object()) {
    b->as_object().erase("Password");
  }
  if (auto* a = out.if_contains("ApiKeyAuthParameters"); a && a->is_object()) {
    a->as_object().erase("ApiKeyValue");
  }
  auto strip_params = [](json::value* params) {
    if (!params || !params->is_object()) return;
    for (const char* list : {"HeaderParameters", "QueryStringParameters", "BodyParameters"}) {
      auto* l = params->as_object().if_contains(list);
      if (!l || !l->is_array()) continue;
      for (auto& p : l->as_array()) {
        if (!p.is_object()) continue;
        auto* secret = p.as_object().if_contains("IsValueSecret");
        if (secret && secret->is_bool() && secret->as_bool()) p.as_object().erase("Value");
      }
    }
  };
  if (auto* o = out.if_contains("OAuthParameters"); o && o->is_object()) {
    if (auto* c = o->as_object().if_contains("ClientParameters"); c && c->is_object()) {
      c->as_object().erase("ClientSecret");
    }
    strip_params(o->as_object().if_contains("OAuthHttpParameters"));
  }
  strip_params(out.if_contains("InvocationHttpParameters"));
  return out;
}

// Erases secret values entirely (DeauthorizeConnection).
void EraseSecrets(json::object& auth) { auth = StripSecrets(auth); }

std::vector<ConnectionParam> Params(const json::object* params, std::string_view list) {
  std::vector<ConnectionParam> out;
  if (!params) return out;
  auto it = params->find(list);
  if (it == params->end() || !it->value().is_array()) return out;
  for (const auto& p : it->value().as_array()) {
    if (!p.is_object()) continue;
    ConnectionParam cp;
    cp.key = JsonString(p.as_object(), "Key");
    cp.value = JsonString(p.as_object(), "Value");
    auto s = p.as_object().find("IsValueSecret");
    cp.is_secret = s != p.as_object().end() && s->value().is_bool() && s->value().as_bool();
    out.push_back(std::move(cp));
  }
  return out;
}

}  // namespace

// ---- connections ----

std::string Registry::StoredConnection(const Connection& c) const {
  // Public fields as JSON, secrets sealed with the connection's ARN as associated data.
  json::object stored = c.data;
  stored["SealedSecrets"] =
      sealer_.seal(json::serialize(c.secrets), JsonString(c.data, "ConnectionArn"));
  return json::serialize(stored);
}

Status Registry::ParseAuthParameters(const json::object& auth, const std::string& type, bool update,
                                     Connection& c, std::vector<std::string>* reauthorize) {
  (void)reauthorize;
  BP_RETURN_IF_ERROR(ValidateAuthParameters(auth, type, update, options_));
  if (update) {
    Merge(c.secrets, auth);
  } else {
    c.secrets = auth;
  }
  return Status::Ok();
}

std::shared_ptr<const ConnectionView> Registry::BuildConnectionView(const Connection& c) const {
  auto view = std::make_shared<ConnectionView>();
  view->name = JsonString(c.data, "Name");
  view->arn = JsonString(c.data, "ConnectionArn");
  // Stored connections were validated on the way in (CreateConnection/UpdateConnection).
  view->auth_type =
      ParseAuthType(JsonString(c.data, "AuthorizationType")).value_or(AuthType::kApiKey);
  std::string state = JsonString(c.data, "ConnectionState");
  for (auto s :
       {ConnectionState::kAuthorized, ConnectionState::kAuthorizing, ConnectionState::kDeauthorized,
        ConnectionState::kDeauthorizing, ConnectionState::kDeleting, ConnectionState::kCreating,
        ConnectionState::kUpdating}) {
    if (ConnectionStateName(s) == state) view->state = s;
  }
  view->generation = c.generation;
  if (auto* b = ObjectMember(c.secrets, "BasicAuthParameters")) {
    view->username = JsonString(*b, "Username");
    view->password = JsonString(*b, "Password");
  }
  if (auto* a = ObjectMember(c.secrets, "ApiKeyAuthParameters")) {
    view->api_key_name = JsonString(*a, "ApiKeyName");
    view->api_key_value = JsonString(*a, "ApiKeyValue");
  }
  if (auto* o = ObjectMember(c.secrets, "OAuthParameters")) {
    if (auto* cp = ObjectMember(*o, "ClientParameters")) {
      view->client_id = JsonString(*cp, "ClientID");
      view->client_secret = JsonString(*cp, "ClientSecret");
    }
    view->authorization_endpoint = JsonString(*o, "AuthorizationEndpoint");
    view->oauth_http_method = JsonString(*o, "HttpMethod");
    const json::object* p = ObjectMember(*o, "OAuthHttpParameters");
    view->oauth_headers = Params(p, "HeaderParameters");
    view->oauth_query = Params(p, "QueryStringParameters");
    view->oauth_body = Params(p, "BodyParameters");
  }
  const json::object* inv = ObjectMember(c.secrets, "InvocationHttpParameters");
  view->headers = Params(inv, "HeaderParameters");
  view->query = Params(inv, "QueryStringParameters");
  view->body = Params(inv, "BodyParameters");
  view->tags = TagsOf(view->arn);
  return view;
}

void Registry::PublishConnection(const std::string& name) {
  auto it = connections_.find(name);
  if (it == connections_.end()) {
    RemovePublished("connection", name);
    return;
  }
  auto view = BuildConnectionView(*it->second);
  {
    std::lock_guard<std::mutex> lock(snapshot_mu_);
    auto next = std::make_shared<Snapshot>(*snapshot_);
    next->connections[name] = std::move(view);
    snapshot_ = std::move(next);
  }
  // Destinations derive their state from the connection.
  for (auto& [dname, d] : destinations_) {
    if (JsonString(d->data, "ConnectionArn") == JsonString(it->second->data, "ConnectionArn")) {
      PublishDestination(dname);
    }
  }
}

void Registry::PublishDestination(const std::string& name) {
  auto it = destinations_.find(name);
  if (it == destinations_.end()) {
    RemovePublished("destination", name);
    return;
  }
  const json::object& d = it->second->data;
  auto view = std::make_shared<DestinationView>();
  view->name = name;
  view->arn = JsonString(d, "ApiDestinationArn");
  view->connection_arn = JsonString(d, "ConnectionArn");
  if (auto p = model::ParseArn(view->connection_arn)) {
    view->connection_name = p->rest.substr(0, p->rest.find('/'));
  }
  view->endpoint = JsonString(d, "InvocationEndpoint");
  view->http_method = JsonString(d, "HttpMethod");
  if (auto r = d.find("InvocationRateLimitPerSecond"); r != d.end() && r->value().is_int64()) {
    view->rate_limit_per_second = static_cast<int>(r->value().as_int64());
  }
  view->tags = TagsOf(view->arn);
  std::lock_guard<std::mutex> lock(snapshot_mu_);
  auto next = std::make_shared<Snapshot>(*snapshot_);
  next->destinations[name] = std::move(view);
  snapshot_ = std::move(next);
}

StatusOr<json::object> Registry::CreateConnection(const json::object& in) {
  Input input(in);
  BP_ASSIGN_OR_RETURN(auto name, input.String("Name"));
  BP_ASSIGN_OR_RETURN(auto description, input.String("Description"));
  BP_ASSIGN_OR_RETURN(auto type, input.String("AuthorizationType"));
  BP_ASSIGN_OR_RETURN(auto auth, input.Object("AuthParameters"));
  Validator v;
  v.NotNull("name", name.has_value());
  if (name) v.Name("name", *name, 64);
  if (description) v.Length("description", *description, 0, 512);
  v.NotNull("authorizationType", type.has_value());
  if (type) v.Enum("authorizationType", *type, {"BASIC", "OAUTH_CLIENT_CREDENTIALS", "API_KEY"});
  v.NotNull("authParameters", auth != nullptr);
  BP_RETURN_IF_ERROR(v.Finish());
  if (input.Has("InvocationConnectivityParameters")) {
    return Status::Validation(
        "InvocationConnectivityParameters (private endpoints) are not supported.");
  }
  Connection c;
  BP_RETURN_IF_ERROR(ParseAuthParameters(*auth, *type, false, c, nullptr));

  std::lock_guard<std::mutex> lock(mu_);
  if (connections_.count(*name)) {
    return Status::AlreadyExists("Connection " + *name + " already exists.");
  }
  if (static_cast<int>(connections_.size()) >= options_.limits.max_connections) {
    return Status::LimitExceeded("The requested resource exceeds the maximum number allowed: " +
                                 std::to_string(options_.limits.max_connections) + " connections.");
  }
  double now = NowSeconds(clock_);
  std::string arn = model::ConnectionArn(options_.partition, *name, NewUuid());
  c.data["Name"] = *name;
  c.data["ConnectionArn"] = arn;
  if (description) c.data["Description"] = *description;
  c.data["AuthorizationType"] = *type;
  bool oauth = *type == "OAUTH_CLIENT_CREDENTIALS";
  c.data["ConnectionState"] = oauth ? "AUTHORIZING" : "AUTHORIZED";
  c.data["AuthParameters"] = StripSecrets(c.secrets);
  c.data["SecretArn"] = "arn:aws:secretsmanager:" + options_.partition.region + ":" +
                        options_.partition.account + ":secret:events!connection/" + *name + "/" +
                        arn.substr(arn.rfind('/') + 1);
  c.data["CreationTime"] = now;
  c.data["LastModifiedTime"] = now;
  if (!oauth) c.data["LastAuthorizedTime"] = now;
  c.generation = 1;
  store::WriteBatch b;
  b.Put(store::Family::kMeta, ConnectionKey(*name), StoredConnection(c));
  BP_RETURN_IF_ERROR(Commit(std::move(b)));
  auto owned = std::make_unique<Connection>(std::move(c));
  json::object out;
  out["ConnectionArn"] = arn;
  out["ConnectionState"] = owned->data["ConnectionState"];
  out["CreationTime"] = now;
  out["LastModifiedTime"] = now;
  connections_[*name] = std::move(owned);
  PublishConnection(*name);
  if (connection_listener_) connection_listener_(*name);
  return out;
}

StatusOr<json::object> Registry::UpdateConnection(const json::object& in) {
  Input input(in);
  BP_ASSIGN_OR_RETURN(auto name, input.String("Name"));
  BP_ASSIGN_OR_RETURN(auto description, input.String("Description"));
  BP_ASSIGN_OR_RETURN(auto type, input.String("AuthorizationType"));
  BP_ASSIGN_OR_RETURN(auto auth, input.Object("AuthParameters"));
  Validator v;
  v.NotNull("name", name.has_value());
  if (name) v.Name("name", *name, 64);
  if (description) v.Length("description", *description, 0, 512);
  if (type) v.Enum("authorizationType", *type, {"BASIC", "OAUTH_CLIENT_CREDENTIALS", "API_KEY"});
  BP_RETURN_IF_ERROR(v.Finish());
  std::lock_guard<std::mutex> lock(mu_);
  auto it = connections_.find(*name);
  if (it == connections_.end()) return ConnectionNotFound(*name);
  Connection next = *it->second;
  std::string new_type = type.value_or(JsonString(next.data, "AuthorizationType"));
  bool credentials_changed = false;
  if (type && *type != JsonString(next.data, "AuthorizationType")) {
    if (!auth)
      return Status::Validation(
          "Changing AuthorizationType requires AuthParameters for the new type.");
    // A new type starts from fresh parameters (keeping the invocation parameters).
    json::object fresh;
    if (auto* inv = next.secrets.if_contains("InvocationHttpParameters"))
      fresh["InvocationHttpParameters"] = *inv;
    Connection parsed;
    BP_RETURN_IF_ERROR(ParseAuthParameters(*auth, new_type, false, parsed, nullptr));
    next.secrets = std::move(fresh);
    Merge(next.secrets, parsed.secrets);
    credentials_changed = true;
  } else if (auth) {
    BP_RETURN_IF_ERROR(ParseAuthParameters(*auth, new_type, true, next, nullptr));
    credentials_changed = auth->contains("BasicAuthParameters") ||
                          auth->contains("ApiKeyAuthParameters") ||
                          auth->contains("OAuthParameters");
  }
  double now = NowSeconds(clock_);
  if (description) next.data["Description"] = *description;
  next.data["AuthorizationType"] = new_type;
  next.data["AuthParameters"] = StripSecrets(next.secrets);
  next.data["LastModifiedTime"] = now;
  std::string state = JsonString(next.data, "ConnectionState");
  // Only new credentials re-authorize (a deauthorized connection has no secrets left).
  if (credentials_changed) {
    next.generation++;
    if (new_type == "OAUTH_CLIENT_CREDENTIALS") {
      next.data["ConnectionState"] = "AUTHORIZING";
    } else {
      next.data["ConnectionState"] = "AUTHORIZED";
      next.data["LastAuthorizedTime"] = now;
    }
    next.data.erase("StateReason");
  }
  std::string arn = JsonString(next.data, "ConnectionArn");
  store::WriteBatch b;
  b.Put(store::Family::kMeta, ConnectionKey(*name), StoredConnection(next));
  BP_RETURN_IF_ERROR(Commit(std::move(b)));
  *it->second = std::move(next);
  PublishConnection(*name);
  if (connection_listener_) connection_listener_(*name);
  return ConnectionSummary(*it->second);
}

StatusOr<json::object> Registry::ConnectionSummary(const Connection& c) const {
  json::object out;
  for (const char* k : {"ConnectionArn", "ConnectionState", "CreationTime", "LastModifiedTime",
                        "LastAuthorizedTime"}) {
    if (auto it = c.data.find(k); it != c.data.end()) out[k] = it->value();
  }
  return out;
}

StatusOr<json::object> Registry::DescribeConnection(const json::object& in) {
  BP_ASSIGN_OR_RETURN(std::optional<std::string> name, RequiredName(in, "Name", "name"));
  std::lock_guard<std::mutex> lock(mu_);
  auto it = connections_.find(*name);
  if (it == connections_.end()) return ConnectionNotFound(*name);
  return it->second->data;
}

StatusOr<json::object> Registry::ListConnections(const json::object& in) {
  Input input(in);
  BP_ASSIGN_OR_RETURN(auto prefix, input.String("NamePrefix"));
  BP_ASSIGN_OR_RETURN(auto state, input.String("ConnectionState"));
  Validator v;
  if (prefix) v.Name("namePrefix", *prefix, 64);
  if (state) {
    v.Enum("connectionState", *state,
           {"CREATING", "UPDATING", "DELETING", "AUTHORIZED", "DEAUTHORIZED", "AUTHORIZING",
            "DEAUTHORIZING"});
  }
  BP_RETURN_IF_ERROR(v.Finish());
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> names;
  for (auto& [n, c] : connections_) {
    if (prefix && n.compare(0, prefix->size(), *prefix) != 0) continue;
    if (state && JsonString(c->data, "ConnectionState") != *state) continue;
    names.push_back(n);
  }
  BP_ASSIGN_OR_RETURN(Page page, Paginate(names, in));
  json::array list;
  for (size_t i = page.begin; i < page.end; ++i) {
    const auto& d = connections_[names[i]]->data;
    json::object o;
    for (const char* k :
         {"ConnectionArn", "Name", "ConnectionState", "StateReason", "AuthorizationType",
          "CreationTime", "LastModifiedTime", "LastAuthorizedTime"}) {
      if (auto f = d.find(k); f != d.end()) o[k] = f->value();
    }
    list.push_back(std::move(o));
  }
  return ListReply("Connections", std::move(list), page);
}

StatusOr<json::object> Registry::DeleteConnection(const json::object& in) {
  BP_ASSIGN_OR_RETURN(std::optional<std::string> name, RequiredName(in, "Name", "name"));
  std::lock_guard<std::mutex> lock(mu_);
  auto it = connections_.find(*name);
  if (it == connections_.end()) return ConnectionNotFound(*name);
  BP_ASSIGN_OR_RETURN(json::object out, ConnectionSummary(*it->second));
  out["ConnectionState"] = "DELETING";
  std::string arn = JsonString(it->second->data, "ConnectionArn");
  store::WriteBatch b;
  b.Delete(store::Family::kMeta, ConnectionKey(*name));
  b.Delete(store::Family::kMeta, TagKey(arn));
  BP_RETURN_IF_ERROR(Commit(std::move(b)));
  connections_.erase(it);
  tags_.erase(arn);
  PublishConnection(*name);
  for (auto& [dname, d] : destinations_) {
    if (JsonString(d->data, "ConnectionArn") == arn) PublishDestination(dname);
  }
  if (connection_listener_) connection_listener_(*name);
  return out;
}

StatusOr<json::object> Registry::DeauthorizeConnection(const json::object& in) {
  BP_ASSIGN_OR_RETURN(std::optional<std::string> name, RequiredName(in, "Name", "name"));
  std::lock_guard<std::mutex> lock(mu_);
  auto it = connections_.find(*name);
  if (it == connections_.end()) return ConnectionNotFound(*name);
  Connection next = *it->second;
  EraseSecrets(next.secrets);
  next.generation++;
  next.data["ConnectionState"] = "DEAUTHORIZED";
  next.data["StateReason"] = "Deauthorized by DeauthorizeConnection.";
  next.data["LastModifiedTime"] = NowSeconds(clock_);
  std::string arn = JsonString(next.data, "ConnectionArn");
  store::WriteBatch b;
  b.Put(store::Family::kMeta, ConnectionKey(*name), StoredConnection(next));
  BP_RETURN_IF_ERROR(Commit(std::move(b)));
  *it->second = std::move(next);
  PublishConnection(*name);
  if (connection_listener_) connection_listener_(*name);
  BP_ASSIGN_OR_RETURN(json::object out, ConnectionSummary(*it->second));
  out["ConnectionState"] = "DEAUTHORIZING";
  return out;
}

Status Registry::SetConnectionState(const std::string& name, ConnectionState state,
                                    std::string reason, uint64_t expected_generation) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = connections_.find(name);
  if (it == connections_.end()) return Status::NotFound("connection " + name + " is gone");
  Connection& c = *it->second;
  if (c.generation != expected_generation) return Status::Ok();  // credentials changed meanwhile
  std::string new_state(ConnectionStateName(state));
  if (JsonString(c.data, "ConnectionState") == new_state &&
      JsonString(c.data, "StateReason") == reason) {
    return Status::Ok();
  }
  Connection next = c;
  next.data["ConnectionState"] = new_state;
  if (reason.empty()) {
    next.data.erase("StateReason");
  } else {
    next.data["StateReason"] = reason.substr(0, 512);
  }
  if (state == ConnectionState::kAuthorized) next.data["LastAuthorizedTime"] = NowSeconds(clock_);
  store::WriteBatch b;
  b.Put(store::Family::kMeta, ConnectionKey(name), StoredConnection(next));
  BP_RETURN_IF_ERROR(Commit(std::move(b)));
  c = std::move(next);
  PublishConnection(name);
  log::Info("registry", "connection state changed", {{"connection", name}, {"state", new_state}});
  return Status::Ok();
}

void Registry::SetConnectionListener(ConnectionListener listener) {
  std::lock_guard<std::mutex> lock(mu_);
  connection_listener_ = std::move(listener);
}

std::vector<std::string> Registry::ConnectionNames() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> out;
  for (auto& [n, c] : connections_) out.push_back(n);
  return out;
}

}  // namespace bp::registry
