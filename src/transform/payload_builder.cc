// Input / InputPath / InputTransformer: validation (PutTargets) and payload building (delivery).
#include <unordered_map>

#include "common/ids.h"
#include "transform/input_template.h"
#include "transform/json_path.h"
#include "transform/json_text.h"
#include "transform/transform.h"
#include "transform/validation_message.h"

namespace bp::transform {
namespace {

constexpr std::string_view kRuleArn = "aws.events.rule-arn";
constexpr std::string_view kRuleName = "aws.events.rule-name";
constexpr std::string_view kIngestionTime = "aws.events.event.ingestion-time";
constexpr std::string_view kEvent = "aws.events.event";
constexpr std::string_view kEventJson = "aws.events.event.json";

bool IsReservedPlaceholder(std::string_view name) {
  return name == kRuleArn || name == kRuleName || name == kIngestionTime || name == kEvent ||
         name == kEventJson;
}

bool IsValidPathsMapKey(std::string_view key) {
  if (key.empty()) return false;
  for (const char c : key) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::string Field(int member_index, std::string_view name) {
  return "targets." + std::to_string(member_index) + ".member." + std::string(name);
}

Status ValidateTransformer(std::string_view target_id, const InputTransformerSpec& spec,
                           int member_index) {
  const std::string& tpl_text = spec.input_template;
  if (tpl_text.empty() || tpl_text.size() > kMaxInputTemplateLength) {
    return ShapeError(tpl_text, Field(member_index, "inputTransformer.inputTemplate"),
                      tpl_text.empty() ? "Member must have length greater than or equal to 1"
                                       : "Member must have length less than or equal to " +
                                             std::to_string(kMaxInputTemplateLength));
  }
  const std::string map_field = Field(member_index, "inputTransformer.inputPathsMap");
  if (spec.input_paths_map.size() > kMaxInputPathsMapEntries) {
    return ShapeError(std::to_string(spec.input_paths_map.size()) + " entries", map_field,
                      "Member must have length less than or equal to " +
                          std::to_string(kMaxInputPathsMapEntries));
  }
  std::unordered_map<std::string_view, bool> seen;
  for (const auto& [key, path] : spec.input_paths_map) {
    if (!IsValidPathsMapKey(key) || key.size() > kMaxInputPathLength) {
      return ShapeError(key, map_field,
                        "Map keys must satisfy constraint: [Member must have length less than or "
                        "equal to 256, Member must have length greater than or equal to 1, Member "
                        "must satisfy regular expression pattern: [A-Za-z0-9\\_\\-]+]");
    }
    if (path.size() > kMaxInputPathLength) {
      return ShapeError(path, map_field,
                        "Map value must satisfy constraint: [Member must have length less than "
                        "or equal to 256]");
    }
    if (!seen.emplace(key, true).second) {
      return Status::Validation("InputPathsMap for target " + std::string(target_id) +
                                " contains duplicate key " + key + ".");
    }
    StatusOr<JsonPath> parsed = JsonPath::Parse(path);
    if (!parsed.ok()) {
      return Status::Validation("Invalid InputPathsMap for target " + std::string(target_id) +
                                " : value " + path + " of key " + key +
                                " is not a valid JSON path (" + parsed.status().message() + ").");
    }
  }
  const InputTemplate tpl = InputTemplate::Parse(tpl_text);
  for (const InputTemplate::Segment& segment : tpl.segments()) {
    if (segment.is_placeholder && !seen.contains(segment.text) &&
        !IsReservedPlaceholder(segment.text)) {
      return Status::Validation("InputTemplate for target " + std::string(target_id) +
                                " contains invalid placeholder " + segment.text + ".");
    }
  }
  if (tpl.is_json()) {
    // With every placeholder absent (null outside quotes, empty inside) the template must already
    // be JSON: this rejects placeholder keys and broken templates before any event is affected.
    const std::string probe =
        tpl.Render([](const std::string&) { return std::nullopt; }).value_or(std::string());
    std::string reason;
    if (!IsValidJson(probe, &reason)) {
      return Status::Validation("Invalid InputTemplate for target " + std::string(target_id) +
                                " : the template is not valid JSON when its placeholders are "
                                "replaced by values (" +
                                reason + ").");
    }
  }
  return Status::Ok();
}

}  // namespace

Status ValidateTargetInput(std::string_view target_id, const TargetInputSpec& spec,
                           int member_index) {
  const int set = static_cast<int>(spec.input.has_value()) +
                  static_cast<int>(spec.input_path.has_value()) +
                  static_cast<int>(spec.input_transformer.has_value());
  if (set > 1) {
    return Status::Validation(
        "Only one of Input, InputPath, or InputTransformer must be provided for target " +
        std::string(target_id) + ".");
  }
  if (spec.input.has_value()) {
    if (spec.input->size() > kMaxInputLength) {
      return ShapeError(
          *spec.input, Field(member_index, "input"),
          "Member must have length less than or equal to " + std::to_string(kMaxInputLength));
    }
    std::string reason;
    if (!IsValidJson(*spec.input, &reason)) {
      return Status::Validation("Input for target " + std::string(target_id) +
                                " is not valid JSON text (" + reason + ").");
    }
  }
  if (spec.input_path.has_value()) {
    if (spec.input_path->size() > kMaxInputPathLength) {
      return ShapeError(
          *spec.input_path, Field(member_index, "inputPath"),
          "Member must have length less than or equal to " + std::to_string(kMaxInputPathLength));
    }
    StatusOr<JsonPath> parsed = JsonPath::Parse(*spec.input_path);
    if (!parsed.ok()) {
      return Status::Validation("Invalid InputPath for target " + std::string(target_id) + " : " +
                                *spec.input_path + " is not a valid JSON path (" +
                                parsed.status().message() + ").");
    }
  }
  if (spec.input_transformer.has_value()) {
    BP_RETURN_IF_ERROR(ValidateTransformer(target_id, *spec.input_transformer, member_index));
  }
  return Status::Ok();
}

// ---- PayloadBuilder -----------------------------------------------------------------------

struct PayloadBuilder::Compiled {
  enum class Mode { kWholeEvent, kConstant, kPath, kTransformer };
  std::string target_id;
  Mode mode = Mode::kWholeEvent;
  std::string constant;                // kConstant
  std::optional<JsonPath> input_path;  // kPath
  std::vector<JsonPath> variables;     // kTransformer, in InputPathsMap order
  std::unordered_map<std::string, size_t> variable_index;
  std::optional<InputTemplate> tpl;
};

PayloadBuilder::PayloadBuilder(std::shared_ptr<const Compiled> compiled)
    : compiled_(std::move(compiled)) {}
PayloadBuilder::PayloadBuilder(const PayloadBuilder&) = default;
PayloadBuilder& PayloadBuilder::operator=(const PayloadBuilder&) = default;
PayloadBuilder::PayloadBuilder(PayloadBuilder&&) noexcept = default;
PayloadBuilder& PayloadBuilder::operator=(PayloadBuilder&&) noexcept = default;
PayloadBuilder::~PayloadBuilder() = default;

StatusOr<PayloadBuilder> PayloadBuilder::Create(std::string_view target_id,
                                                const TargetInputSpec& spec) {
  BP_RETURN_IF_ERROR(ValidateTargetInput(target_id, spec));
  auto compiled = std::make_shared<Compiled>();
  compiled->target_id = std::string(target_id);
  if (spec.input.has_value()) {
    compiled->mode = Compiled::Mode::kConstant;
    compiled->constant = *spec.input;
  } else if (spec.input_path.has_value()) {
    compiled->mode = Compiled::Mode::kPath;
    BP_ASSIGN_OR_RETURN(JsonPath path, JsonPath::Parse(*spec.input_path));
    compiled->input_path = std::move(path);
  } else if (spec.input_transformer.has_value()) {
    compiled->mode = Compiled::Mode::kTransformer;
    for (const auto& [key, path_text] : spec.input_transformer->input_paths_map) {
      BP_ASSIGN_OR_RETURN(JsonPath path, JsonPath::Parse(path_text));
      compiled->variable_index.emplace(key, compiled->variables.size());
      compiled->variables.push_back(std::move(path));
    }
    compiled->tpl = InputTemplate::Parse(spec.input_transformer->input_template);
  }
  return PayloadBuilder(std::move(compiled));
}

namespace {

// The envelope without its top-level "detail" member, compact.
std::optional<std::string> EnvelopeWithoutDetail(std::string_view event_json) {
  const std::optional<std::string_view> root = ValueAt(event_json, 0);
  if (!root.has_value()) return std::nullopt;
  std::string out = "{";
  const bool ok = ForEachMember(*root, [&](std::string_view key, std::string_view value) {
    if (KeyEquals(key, "detail")) return true;
    if (out.size() > 1) out.push_back(',');
    out += key;
    out.push_back(':');
    AppendMinified(out, value);
    return true;
  });
  if (!ok) return std::nullopt;
  out.push_back('}');
  return out;
}

Status TooLarge(std::string_view target_id, size_t max_bytes) {
  return MakeDeliveryError(DeliveryErrorCode::kInvalidParameter,
                           "The payload for target " + std::string(target_id) + " exceeds " +
                               std::to_string(max_bytes) + " bytes");
}

std::string Quoted(std::string_view text) {
  std::string out;
  AppendQuoted(out, text);
  return out;
}

}  // namespace

StatusOr<std::string> PayloadBuilder::Build(const EventContext& event, size_t max_bytes) const {
  const Compiled& c = *compiled_;
  switch (c.mode) {
    // The event, a part of it and Input are bounded by ingest and PutTargets limits; only a
    // template can build more than it was given.
    case Compiled::Mode::kWholeEvent:
      return std::string(event.event_json);
    case Compiled::Mode::kConstant:
      return c.constant;
    case Compiled::Mode::kPath: {
      const std::optional<std::string_view> value = c.input_path->Find(event.event_json);
      if (!value.has_value()) return std::string("null");
      std::string out;
      AppendMinified(out, *value);
      return out;
    }
    case Compiled::Mode::kTransformer:
      break;
  }

  // Each variable and reserved value is computed at most once per Build, on first use.
  std::vector<std::optional<std::optional<std::string_view>>> resolved(c.variables.size());
  std::unordered_map<std::string_view, std::string> reserved;
  bool bad_event = false;
  auto reserved_value = [&](std::string_view name) -> std::optional<std::string_view> {
    auto it = reserved.find(name);
    if (it != reserved.end()) return std::string_view(it->second);
    std::string value;
    if (name == kRuleArn) {
      value = Quoted(event.rule_arn);
    } else if (name == kRuleName) {
      value = Quoted(event.rule_name);
    } else if (name == kIngestionTime) {
      value = Quoted(FormatIso8601(event.ingestion_time_seconds));
    } else if (name == kEvent) {
      std::optional<std::string> envelope = EnvelopeWithoutDetail(event.event_json);
      if (!envelope.has_value()) {
        bad_event = true;
        return std::nullopt;
      }
      value = std::move(*envelope);
    } else {  // kEventJson
      AppendMinified(value, event.event_json);
    }
    return std::string_view(reserved.emplace(name, std::move(value)).first->second);
  };
  std::optional<std::string> rendered = c.tpl->Render(
      [&](const std::string& name) {
        auto it = c.variable_index.find(name);
        if (it == c.variable_index.end()) return reserved_value(name);
        auto& slot = resolved[it->second];
        if (!slot.has_value()) slot = c.variables[it->second].Find(event.event_json);
        return *slot;
      },
      max_bytes);
  if (bad_event) return Status::Internal("event text is not a JSON object");
  if (!rendered.has_value()) return TooLarge(c.target_id, max_bytes);
  if (c.tpl->is_json()) {
    std::string reason;
    if (!IsValidJson(*rendered, &reason)) {
      return MakeDeliveryError(
          DeliveryErrorCode::kInvalidJson,
          "InputTemplate output for target " + c.target_id + " is not valid JSON (" + reason + ")");
    }
  }
  return std::move(*rendered);
}

// ---- Delivery errors ----------------------------------------------------------------------

Status MakeDeliveryError(DeliveryErrorCode code, std::string_view message) {
  return Status::Validation(std::string(message))
      .WithDetail(DetailDomain::kDelivery, static_cast<uint16_t>(code));
}

std::optional<DeliveryError> ParseDeliveryError(const Status& status) {
  if (status.code() != StatusCode::kValidation) return std::nullopt;
  auto detail = status.Detail(DetailDomain::kDelivery);
  if (!detail) return std::nullopt;
  return DeliveryError{static_cast<DeliveryErrorCode>(*detail), status.message()};
}

}  // namespace bp::transform
