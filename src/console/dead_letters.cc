// Dead-letter browsing: which queues serve as DLQs, and their messages read without receiving
// them (PeekMessages: no receive count, no visibility change), filtered by origin and time.
#include <set>

#include "common/ids.h"
#include "console/console_impl.h"
#include "registry/registry.h"

namespace bp::console {

namespace {

std::string AttributeValue(const queue::PeekedMessage& m, std::string_view name) {
  for (const auto& a : m.attributes) {
    if (a.name == name) return a.string_value;
  }
  return {};
}

// "arn:aws:events:R:A:api-destination/NAME/UUID" -> NAME; other target kinds -> "".
std::string DestinationOfTarget(std::string_view arn) {
  constexpr std::string_view kMarker = ":api-destination/";
  size_t p = arn.find(kMarker);
  if (p == std::string_view::npos) return {};
  std::string_view rest = arn.substr(p + kMarker.size());
  return std::string(rest.substr(0, rest.find('/')));
}

}  // namespace

std::optional<std::pair<std::string, std::string>> ParseRuleArn(std::string_view arn) {
  size_t p = arn.find(":rule/");
  if (p == std::string_view::npos) return std::nullopt;
  std::string_view rest = arn.substr(p + 6);
  size_t slash = rest.find('/');
  if (slash == std::string_view::npos) return std::pair{std::string("default"), std::string(rest)};
  return std::pair{std::string(rest.substr(0, slash)), std::string(rest.substr(slash + 1))};
}

DeadLetterOrigin OriginOf(const queue::PeekedMessage& m) {
  DeadLetterOrigin o;
  o.rule_arn = AttributeValue(m, "RULE_ARN");
  o.target_arn = AttributeValue(m, "TARGET_ARN");
  o.error_code = AttributeValue(m, "ERROR_CODE");
  o.error_message = AttributeValue(m, "ERROR_MESSAGE");
  o.retry_attempts = AttributeValue(m, "RETRY_ATTEMPTS");
  o.exhausted = AttributeValue(m, "EXHAUSTED_RETRY_CONDITION");
  if (auto r = ParseRuleArn(o.rule_arn)) std::tie(o.bus, o.rule) = *r;
  o.destination = DestinationOfTarget(o.target_arn);
  return o;
}

std::optional<int64_t> ParseTimeMicros(std::string_view text) {
  if (text.empty()) return std::nullopt;
  if (auto t = ParseIso8601(text)) return *t * 1'000'000;
  char* end = nullptr;
  std::string s(text);
  double v = std::strtod(s.c_str(), &end);
  if (end == s.c_str() || *end != '\0' || v < 0 || v > 1e11) return std::nullopt;
  return static_cast<int64_t>(v * 1e6);
}

bool DeadLetterFilter::Matches(const queue::PeekedMessage& m, const DeadLetterOrigin& o) const {
  if (m.seq > max_seq) return false;
  if (!destination.empty() && o.destination != destination) return false;
  if (!rule.empty() && o.rule != rule) return false;
  if (!error_code.empty() && o.error_code != error_code) return false;
  if (m.sent_micros < since_us || m.sent_micros >= until_us) return false;
  if (!message_ids.empty() &&
      std::find(message_ids.begin(), message_ids.end(), m.message_id) == message_ids.end()) {
    return false;
  }
  return true;
}

json::object DeadLetterFilter::ToJson() const {
  json::object o;
  if (!destination.empty()) o["destination"] = destination;
  if (!rule.empty()) o["rule"] = rule;
  if (!error_code.empty()) o["error_code"] = error_code;
  if (since_us > 0) o["since"] = FormatIso8601(since_us / 1'000'000);
  if (until_us != INT64_MAX) o["until"] = FormatIso8601((until_us + 999'999) / 1'000'000);
  if (!message_ids.empty()) {
    json::array ids;
    for (const auto& id : message_ids) ids.push_back(json::string(id));
    o["message_ids"] = std::move(ids);
  }
  return o;
}

StatusOr<DeadLetterFilter> DeadLetterFilter::FromJson(const json::object& o) {
  DeadLetterFilter f;
  for (const auto& [k, v] : o) {
    if (k == "message_ids") {
      if (!v.is_array()) return Status::Validation("message_ids must be a list of strings");
      for (const auto& id : v.as_array()) {
        if (!id.is_string()) return Status::Validation("message_ids must be a list of strings");
        f.message_ids.emplace_back(id.as_string());
      }
      continue;
    }
    std::string text = v.is_string()   ? std::string(v.as_string())
                       : v.is_number() ? json::serialize(v)
                                       : std::string();
    if (k == "destination") {
      f.destination = text;
    } else if (k == "rule") {
      f.rule = text;
    } else if (k == "error_code") {
      f.error_code = text;
    } else if (k == "since" || k == "until") {
      if (text.empty()) continue;
      auto t = ParseTimeMicros(text);
      if (!t) return Status::Validation(std::string(k) + " must be ISO-8601 or epoch seconds");
      (k == "since" ? f.since_us : f.until_us) = *t;
    } else {
      return Status::Validation("unknown filter field " + std::string(k) +
                                "; supported: destination, rule, error_code, since, until, "
                                "message_ids");
    }
  }
  return f;
}

StatusOr<DeadLetterFilter> DeadLetterFilter::FromQuery(std::string_view query) {
  json::object o;
  for (auto& [k, v] : http::ParseForm(query)) {
    if (k == "limit" || k == "after") continue;
    if (k == "message_id") {
      if (!o["message_ids"].is_array()) o["message_ids"] = json::array();
      o["message_ids"].as_array().push_back(json::string(v));
    } else {
      o[k] = v;
    }
  }
  return FromJson(o);
}

json::object MessageJson(const queue::PeekedMessage& m, const DeadLetterOrigin& o) {
  json::object j;
  j["message_id"] = m.message_id;
  j["seq"] = m.seq;
  j["sent"] = FormatIso8601(m.sent_micros / 1'000'000);
  j["sent_ms"] = m.sent_micros / 1000;
  j["receive_count"] = m.receive_count;
  j["visible"] = m.visible;
  j["body"] = m.body;
  json::object attrs;
  for (const auto& a : m.attributes) attrs[a.name] = a.string_value;
  j["attributes"] = std::move(attrs);
  j["bus"] = o.bus;
  j["rule"] = o.rule;
  j["destination"] = o.destination;
  j["error_code"] = o.error_code;
  return j;
}

json::array ConsoleServiceImpl::DeadLetterQueues() {
  // Every queue named as a DeadLetterConfig by a target, with the targets that use it.
  std::map<std::string, json::array> users;
  auto buses = ListAll([this](const json::object& in) { return d_.registry->ListEventBuses(in); },
                       {}, "EventBuses");
  for (const auto& b : buses) {
    if (!b.is_object() || !b.as_object().contains("Name")) continue;
    auto routes = d_.registry->Routes(std::string(b.as_object().at("Name").as_string()));
    if (!routes) continue;
    for (const auto& rule : routes->rules) {
      for (const auto& t : rule.targets) {
        if (t->dead_letter_arn.empty()) continue;
        json::object u;
        u["bus"] = routes->name;
        u["rule"] = rule.name;
        u["target_id"] = t->target_id;
        u["target_arn"] = t->target_arn;
        users[t->dead_letter_arn].push_back(std::move(u));
      }
    }
  }
  json::array out;
  for (auto& [arn, used_by] : users) {
    std::string name = arn.substr(arn.rfind(':') + 1);
    json::object q;
    q["name"] = name;
    q["arn"] = arn;
    auto attrs = d_.queues->GetQueueAttributes(
        name, {"ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"});
    q["exists"] = attrs.ok();
    if (attrs.ok()) {
      q["visible"] = std::strtoll((*attrs)["ApproximateNumberOfMessages"].c_str(), nullptr, 10);
      q["inflight"] =
          std::strtoll((*attrs)["ApproximateNumberOfMessagesNotVisible"].c_str(), nullptr, 10);
    }
    q["used_by"] = std::move(used_by);
    out.push_back(std::move(q));
  }
  return out;
}

void ConsoleServiceImpl::ListMessages(const std::string& queue, std::string_view query,
                                      http::Responder respond) {
  auto filter = DeadLetterFilter::FromQuery(query);
  if (!filter.ok()) return respond(JsonError(400, std::string(filter.status().message())));
  size_t limit = 100;
  uint64_t after = 0;
  for (auto& [k, v] : http::ParseForm(query)) {
    if (k == "limit") limit = std::clamp<size_t>(std::strtoul(v.c_str(), nullptr, 10), 1, 1000);
    if (k == "after") after = std::strtoull(v.c_str(), nullptr, 10);
  }
  json::array messages;
  uint64_t matched = 0, scanned = 0, next_after = 0;
  // Pages through the whole queue so `matched` counts every match; bodies beyond `limit` are
  // not kept.
  for (;;) {
    auto page = d_.queues->PeekMessages(queue, after, 1000);
    if (!page.ok()) return respond(JsonError(404, std::string(page.status().message())));
    if (page->empty()) break;
    for (const auto& m : *page) {
      ++scanned;
      after = m.seq;
      DeadLetterOrigin o = OriginOf(m);
      if (!filter->Matches(m, o)) continue;
      if (++matched <= limit) {
        messages.push_back(MessageJson(m, o));
        next_after = m.seq;
      }
    }
  }
  json::object out;
  out["queue"] = queue;
  out["messages"] = std::move(messages);
  out["matched"] = matched;
  out["scanned"] = scanned;
  if (matched > limit) out["next_after"] = next_after;
  out["filter"] = filter->ToJson();
  respond(JsonResponse(200, out));
}

}  // namespace bp::console
