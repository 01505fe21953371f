#include "ingest/envelope.h"

#include "common/ids.h"
#include "common/json_escape.h"
#include "ingest/detail_json.h"

namespace bp::ingest {

namespace json = boost::json;

namespace {

void AppendJsonString(std::string& out, std::string_view s) {
  out.push_back('"');
  AppendJsonEscaped(out, s);
  out.push_back('"');
}

// The string member `key`: its value, with *present false when absent or null and *wrong_type
// set when present but not a string.
std::string_view StringMember(const json::object& o, std::string_view key, bool* present,
                              bool* wrong_type) {
  auto it = o.find(key);
  if (it == o.end() || it->value().is_null()) {
    *present = false;
    return {};
  }
  *present = true;
  if (!it->value().is_string()) {
    *wrong_type = true;
    return {};
  }
  return it->value().as_string();
}

EntryError Invalid(std::string message) { return {"InvalidArgument", std::move(message)}; }

// The event times an envelope can carry: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z (the
// four-digit years of its ISO-8601 `time`).
constexpr int64_t kMinTime = -62135596800;
constexpr int64_t kMaxTime = 253402300799;

// Time: epoch seconds as a number, or an ISO-8601 string; absent or null means `now_s`. A time
// outside [kMinTime, kMaxTime] is invalid.
std::optional<EntryError> DecodeTime(const json::object& o, int64_t now_s, int64_t* out) {
  *out = now_s;
  auto t = o.find("Time");
  if (t == o.end() || t->value().is_null()) return std::nullopt;
  const auto& tv = t->value();
  bool in_range = true;
  if (tv.is_int64()) {
    *out = tv.as_int64();
    in_range = *out >= kMinTime && *out <= kMaxTime;
  } else if (tv.is_uint64()) {
    in_range = false;  // only values above INT64_MAX are uint64
  } else if (tv.is_double()) {
    double d = tv.as_double();  // compared as a double first: the cast is defined only in range
    in_range = d >= static_cast<double>(kMinTime) && d <= static_cast<double>(kMaxTime);
    if (in_range) *out = static_cast<int64_t>(d);
  } else if (tv.is_string()) {
    auto parsed = ParseIso8601(tv.as_string());
    if (!parsed) return Invalid("Parameter Time is not valid.");
    *out = *parsed;
    in_range = *out >= kMinTime && *out <= kMaxTime;
  }
  if (!in_range) return Invalid("Parameter Time is not valid.");
  return std::nullopt;
}

std::optional<EntryError> DecodeResources(const json::object& o,
                                          std::vector<std::string_view>* out) {
  out->clear();
  auto it = o.find("Resources");
  if (it == o.end() || it->value().is_null()) return std::nullopt;
  bool bad = !it->value().is_array();
  if (!bad) {
    for (const auto& res : it->value().as_array()) {
      if (!res.is_string()) {
        bad = true;
        break;
      }
      out->push_back(res.as_string());
    }
  }
  if (bad) return Invalid("Parameter Resources is not valid: it must be a list of strings.");
  return std::nullopt;
}

}  // namespace

std::optional<EntryError> DecodeEntry(const json::object& o, int64_t now_s, Entry& out) {
  bool has_source, has_type, has_detail, has_bus, wrong_type = false;
  out.source = StringMember(o, "Source", &has_source, &wrong_type);
  out.detail_type = StringMember(o, "DetailType", &has_type, &wrong_type);
  std::string_view detail_text = StringMember(o, "Detail", &has_detail, &wrong_type);
  out.bus = StringMember(o, "EventBusName", &has_bus, &wrong_type);
  if (wrong_type) {
    return Invalid(
        "Parameter types are not valid: Source, DetailType, Detail and EventBusName are "
        "strings.");
  }
  if (!has_source || out.source.empty()) {
    return Invalid("Parameter Source is not valid. Reason: Source is a required argument.");
  }
  if (!has_type || out.detail_type.empty()) {
    return Invalid("Parameter DetailType is not valid. Reason: DetailType is a required argument.");
  }
  if (!has_detail || detail_text.empty()) {
    return Invalid("Parameter Detail is not valid. Reason: Detail is a required argument.");
  }
  if (!CompactDetail(detail_text, &out.detail)) {
    return EntryError{"MalformedDetail", "Detail is malformed."};
  }
  if (auto th = o.find("TraceHeader");
      th != o.end() && th->value().is_string() && th->value().as_string().size() > 500) {
    return Invalid(
        "Parameter TraceHeader is not valid. Reason: TraceHeader is longer than 500 characters.");
  }
  if (auto e = DecodeTime(o, now_s, &out.time_s)) return e;
  return DecodeResources(o, &out.resources);
}

std::string BuildEnvelope(const Entry& e, std::string_view event_id, std::string_view account,
                          std::string_view region) {
  std::string env;
  env.reserve(e.detail.size() + e.source.size() + e.detail_type.size() + 256);
  env += "{\"version\":\"0\",\"id\":\"";
  env += event_id;
  env += "\",\"detail-type\":";
  AppendJsonString(env, e.detail_type);
  env += ",\"source\":";
  AppendJsonString(env, e.source);
  env += ",\"account\":\"";
  env += account;
  env += "\",\"time\":\"";
  env += FormatIso8601(e.time_s);
  env += "\",\"region\":\"";
  env += region;
  env += "\",\"resources\":[";
  for (size_t k = 0; k < e.resources.size(); ++k) {
    if (k) env.push_back(',');
    AppendJsonString(env, e.resources[k]);
  }
  env += "],\"detail\":";
  env += e.detail;
  env += '}';
  return env;
}

}  // namespace bp::ingest
