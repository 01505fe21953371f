// GET /_bridgeport/v1/deliveries: recent attempt records, newest first.
#include <algorithm>
#include <boost/json.hpp>
#include <vector>

#include "common/ids.h"
#include "delivery/engine_impl.h"

namespace bp::delivery {

namespace json = boost::json;

namespace {

constexpr std::string_view kDeliveries = "/_bridgeport/v1/deliveries";
constexpr std::string_view kEvents = "/_bridgeport/v1/events/";
constexpr std::string_view kDestinations = "/_bridgeport/v1/api-destinations/";

http::Response JsonResponse(int status, const json::value& v) {
  return http::Response::Text(status, json::serialize(v), "application/json");
}

http::Response ErrorResponse(int status, std::string message) {
  json::object err;
  err["message"] = std::move(message);
  return JsonResponse(status, err);
}

// The filters of GET /_bridgeport/v1/deliveries[/{delivery_id}] and /events/{event_id}.
struct AttemptQuery {
  std::string delivery_id;  // from the path
  std::string event_path;   // event id from the path (a 404 when nothing matches)
  std::string rule, event_id, outcome, lane, pipe;
  int64_t since_us = 0, until_us = INT64_MAX;
  size_t limit = 100;
};

AttemptQuery ParseAttemptQuery(std::string_view path, std::string_view query) {
  AttemptQuery q;
  if (path.substr(0, kEvents.size()) == kEvents) {
    q.event_path = http::UrlDecode(path.substr(kEvents.size()));
  }
  if (path.size() > kDeliveries.size() + 1 && path.substr(0, kDeliveries.size()) == kDeliveries) {
    q.delivery_id = http::UrlDecode(path.substr(kDeliveries.size() + 1));
  }
  std::string destination;
  for (auto& [k, v] : http::ParseForm(query)) {
    if (k == "destination") {
      destination = v;
    } else if (k == "queue") {
      q.lane = "sqs/" + v;
    } else if (k == "rule") {
      q.rule = v;
    } else if (k == "event_id") {
      q.event_id = v;
    } else if (k == "outcome") {
      q.outcome = v;
    } else if (k == "pipe") {
      q.pipe = v;
    } else if (k == "limit") {
      q.limit = std::clamp<size_t>(std::strtoul(v.c_str(), nullptr, 10), 1, 1000);
    } else if (k == "since" || k == "until") {
      auto t = ParseIso8601(v);
      int64_t us = t ? *t * 1000000 : std::strtoll(v.c_str(), nullptr, 10) * 1000000;
      (k == "since" ? q.since_us : q.until_us) = us;
    }
  }
  if (!destination.empty()) q.lane = "api/" + destination;
  if (!q.event_path.empty()) q.event_id = q.event_path;
  return q;
}

int64_t StartOf(const json::object& o) {
  auto it = o.find("start_us");
  return it != o.end() && it->value().is_int64() ? it->value().as_int64() : 0;
}

// Whether one attempt record passes the filters the key range did not already apply.
bool Selected(const json::object& o, const AttemptQuery& q) {
  auto str = [&](const char* k) {
    auto it = o.find(k);
    return it != o.end() && it->value().is_string() ? std::string(it->value().as_string())
                                                    : std::string();
  };
  if (!q.rule.empty() && str("rule") != q.rule) return false;
  if (!q.event_id.empty() && str("event_id") != q.event_id) return false;
  if (!q.delivery_id.empty() && str("delivery_id") != q.delivery_id) return false;
  if (!q.outcome.empty() && str("outcome") != q.outcome) return false;
  if (!q.pipe.empty() && str("pipe") != q.pipe) return false;
  if (q.lane.empty()) {
    const int64_t st = StartOf(o);
    if (st < q.since_us || st >= q.until_us) return false;
  }
  return true;
}

// The newest q.limit attempt records that pass `q`, newest first.
StatusOr<json::array> QueryAttempts(store::Store& store, const AttemptQuery& q) {
  std::string begin = "a";
  std::string end = store::PrefixEnd("a");
  if (!q.lane.empty()) {
    begin = "a" + q.lane + '\x00';
    end = begin;
    store::AppendBigEndian64(begin, static_cast<uint64_t>(std::max<int64_t>(0, q.since_us)));
    store::AppendBigEndian64(
        end, static_cast<uint64_t>(q.until_us == INT64_MAX ? UINT64_MAX : q.until_us));
  }
  // Keep the newest `limit` matches (by start time: without a lane the scan is in lane order).
  using Entry = std::pair<int64_t, json::value>;
  auto later = [](const Entry& a, const Entry& b) { return a.first > b.first; };
  std::vector<Entry> newest;  // a min-heap on start time
  BP_RETURN_IF_ERROR(
      store.Scan(store::Family::kAttempts, begin, end, [&](std::string_view, std::string_view v) {
        json::error_code ec;
        json::value rec = json::parse(v, ec);
        if (ec || !rec.is_object() || !Selected(rec.as_object(), q)) return true;
        const int64_t start = StartOf(rec.as_object());
        newest.emplace_back(start, std::move(rec));
        std::push_heap(newest.begin(), newest.end(), later);
        if (newest.size() > q.limit) {
          std::pop_heap(newest.begin(), newest.end(), later);
          newest.pop_back();
        }
        return true;
      }));
  json::array list;
  std::sort(newest.begin(), newest.end(), later);
  for (auto& e : newest) list.push_back(std::move(e.second));
  return list;
}

}  // namespace

void EngineImpl::HandleAdmin(const http::Request& req, http::Responder respond) {
  std::string_view path = req.Path();
  if (req.method == "PUT" && path.substr(0, kDestinations.size()) == kDestinations &&
      path.size() > kDestinations.size() + 9 && path.substr(path.size() - 9) == "/settings") {
    HandleSettings(
        std::string(path.substr(kDestinations.size(), path.size() - kDestinations.size() - 9)),
        req.body, std::move(respond));
    return;
  }
  bool ok_path = req.method == "GET" &&
                 (path == kDeliveries || path.substr(0, kEvents.size()) == kEvents ||
                  path.substr(0, kDeliveries.size() + 1) == std::string(kDeliveries) + "/");
  if (!ok_path) {
    respond(ErrorResponse(
        404,
        "not found; supported: GET /_bridgeport/v1/deliveries[?destination=NAME&...], "
        "GET /_bridgeport/v1/deliveries/{delivery_id}, GET /_bridgeport/v1/events/{event_id}, "
        "PUT /_bridgeport/v1/api-destinations/{name}/settings"));
    return;
  }
  const AttemptQuery q = ParseAttemptQuery(path, req.Query());
  StatusOr<json::array> list = QueryAttempts(*d_.store, q);
  if (!list.ok()) {
    respond(ErrorResponse(500, list.status().ToString()));
    return;
  }
  if ((!q.delivery_id.empty() || !q.event_path.empty()) && list->empty()) {
    respond(ErrorResponse(404, "no attempt records for that id"));
    return;
  }
  json::object out;
  out["deliveries"] = std::move(*list);
  respond(JsonResponse(200, out));
}

}  // namespace bp::delivery

namespace bp::delivery {

void EngineImpl::HandleSettings(const std::string& destination, const std::string& body,
                                http::Responder respond) {
  // {"timeout-ms": "2000", ...} -> TagResource with bridgeport:<key> tags on the destination.
  json::error_code ec;
  json::value v = json::parse(body, ec);
  json::object err;
  if (ec || !v.is_object()) {
    err["message"] = "body must be a JSON object of setting names to string values";
    respond(JsonResponse(400, err));
    return;
  }
  auto dest = d_.registry->FindDestination(destination);
  if (!dest) {
    err["message"] = "API destination " + destination + " does not exist";
    respond(JsonResponse(404, err));
    return;
  }
  json::array tags;
  for (const auto& [k, val] : v.as_object()) {
    json::object t;
    t["Key"] = "bridgeport:" + std::string(k);
    t["Value"] = val.is_string() ? std::string(val.as_string()) : json::serialize(val);
    tags.push_back(std::move(t));
  }
  json::object in;
  in["ResourceARN"] = dest->arn;
  in["Tags"] = std::move(tags);
  auto result = d_.registry->TagResource(in);
  if (!result.ok()) {
    err["message"] = result.status().message();
    respond(JsonResponse(400, err));
    return;
  }
  json::object out;
  out["destination"] = destination;
  json::object settings;
  for (const auto& [k, val] : v.as_object()) settings[k] = val;
  out["applied"] = std::move(settings);
  respond(JsonResponse(200, out));
}

}  // namespace bp::delivery
