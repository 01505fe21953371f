// GET /_bridgeport/v1/deliveries: recent attempt records, newest first.
#include <algorithm>
#include <boost/json.hpp>
#include <vector>

#include "common/ids.h"
#include "delivery/engine_impl.h"

namespace bp::delivery {

namespace json = boost::json;

namespace {

http::Response JsonResponse(int status, const json::value& v) {
  return http::Response::Text(status, json::serialize(v), "application/json");
}

}  // namespace

void EngineImpl::HandleAdmin(const http::Request& req, http::Responder respond) {
  std::string_view path = req.Path();
  constexpr std::string_view kDeliveries = "/_bridgeport/v1/deliveries";
  constexpr std::string_view kEvents = "/_bridgeport/v1/events/";
  constexpr std::string_view kDestinations = "/_bridgeport/v1/api-destinations/";
  std::string delivery_id_filter, event_filter;
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
    json::object err;
    err["message"] =
        "not found; supported: GET /_bridgeport/v1/deliveries[?destination=NAME&...], "
        "GET /_bridgeport/v1/deliveries/{delivery_id}, GET /_bridgeport/v1/events/{event_id}, "
        "PUT /_bridgeport/v1/api-destinations/{name}/settings";
    respond(JsonResponse(404, err));
    return;
  }
  if (path.substr(0, kEvents.size()) == kEvents)
    event_filter = http::UrlDecode(path.substr(kEvents.size()));
  if (path.size() > kDeliveries.size() + 1 && path.substr(0, kDeliveries.size()) == kDeliveries) {
    delivery_id_filter = http::UrlDecode(path.substr(kDeliveries.size() + 1));
  }
  std::string destination, rule, event_id, outcome, lane, pipe;
  int64_t since_us = 0, until_us = INT64_MAX;
  size_t limit = 100;
  for (auto& [k, v] : http::ParseForm(req.Query())) {
    if (k == "destination")
      destination = v;
    else if (k == "queue")
      lane = "sqs/" + v;
    else if (k == "rule")
      rule = v;
    else if (k == "event_id")
      event_id = v;
    else if (k == "outcome")
      outcome = v;
    else if (k == "pipe")
      pipe = v;
    else if (k == "limit")
      limit = std::clamp<size_t>(std::strtoul(v.c_str(), nullptr, 10), 1, 1000);
    else if (k == "since" || k == "until") {
      auto t = ParseIso8601(v);
      int64_t us = t ? *t * 1000000 : std::strtoll(v.c_str(), nullptr, 10) * 1000000;
      (k == "since" ? since_us : until_us) = us;
    }
  }
  if (!destination.empty()) lane = "api/" + destination;
  if (!event_filter.empty()) event_id = event_filter;
  std::string begin = "a";
  std::string end = store::PrefixEnd("a");
  if (!lane.empty()) {
    begin = "a" + lane + '\x00';
    end = begin;
    store::AppendBigEndian64(begin, static_cast<uint64_t>(std::max<int64_t>(0, since_us)));
    store::AppendBigEndian64(end,
                             static_cast<uint64_t>(until_us == INT64_MAX ? UINT64_MAX : until_us));
  }
  // Keep the newest `limit` matches (by start time: without a lane the scan is in lane order).
  using Entry = std::pair<int64_t, json::value>;
  auto later = [](const Entry& a, const Entry& b) { return a.first > b.first; };
  std::vector<Entry> newest;  // a min-heap on start time
  Status s = d_.store->Scan(
      store::Family::kAttempts, begin, end, [&](std::string_view, std::string_view v) {
        json::error_code ec;
        json::value rec = json::parse(v, ec);
        if (ec || !rec.is_object()) return true;
        const auto& o = rec.as_object();
        auto str = [&](const char* k) {
          auto it = o.find(k);
          return it != o.end() && it->value().is_string() ? std::string(it->value().as_string())
                                                          : std::string();
        };
        if (!rule.empty() && str("rule") != rule) return true;
        if (!event_id.empty() && str("event_id") != event_id) return true;
        if (!delivery_id_filter.empty() && str("delivery_id") != delivery_id_filter) return true;
        if (!outcome.empty() && str("outcome") != outcome) return true;
        if (!pipe.empty() && str("pipe") != pipe) return true;
        if (lane.empty()) {
          auto it = o.find("start_us");
          int64_t st = it != o.end() && it->value().is_int64() ? it->value().as_int64() : 0;
          if (st < since_us || st >= until_us) return true;
        }
        auto st = o.find("start_us");
        int64_t start = st != o.end() && st->value().is_int64() ? st->value().as_int64() : 0;
        newest.emplace_back(start, std::move(rec));
        std::push_heap(newest.begin(), newest.end(), later);
        if (newest.size() > limit) {
          std::pop_heap(newest.begin(), newest.end(), later);
          newest.pop_back();
        }
        return true;
      });
  if (!s.ok()) {
    json::object err;
    err["message"] = s.ToString();
    respond(JsonResponse(500, err));
    return;
  }
  json::array list;
  std::sort(newest.begin(), newest.end(), later);
  for (auto& e : newest) list.push_back(std::move(e.second));
  if ((!delivery_id_filter.empty() || !event_filter.empty()) && list.empty()) {
    json::object err;
    err["message"] = "no attempt records for that id";
    respond(JsonResponse(404, err));
    return;
  }
  json::object out;
  out["deliveries"] = std::move(list);
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
