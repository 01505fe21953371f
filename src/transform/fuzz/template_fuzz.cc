// Fuzzes InputTemplate parsing, validation and rendering.
//
// Invariant checked: a transformer that passes PutTargets validation never produces INVALID_JSON
// for a valid event (docs/semantics.md, "JSON templates"), and Build never fails otherwise.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "transform/input_template.h"
#include "transform/json_text.h"
#include "transform/transform.h"

namespace {

constexpr std::string_view kEvent =
    R"({"version":"0","id":"1","detail-type":"T \"q\"","source":"s","account":"0",)"
    R"("time":"2024-01-02T03:04:05Z","region":"r","resources":[],)"
    R"("detail":{"s":"a\"b\\c\nd<e>","n":-1.50e+3,"o":{"k":[1,{"z":null}]},"t":true,"u":"\u00e9"}})";

constexpr std::string_view kPaths[] = {"$.detail.s", "$.detail.n", "$.detail.o",       "$.detail.t",
                                       "$.detail.u", "$.missing",  "$['detail-type']", "$"};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const bp::transform::InputTemplate tpl = bp::transform::InputTemplate::Parse(text);

  bp::transform::InputTransformerSpec transformer;
  transformer.input_template = std::string(text);
  size_t next = 0;
  for (const auto& segment : tpl.segments()) {
    if (!segment.is_placeholder || segment.text.starts_with("aws.")) continue;
    bool known = false;
    for (const auto& [key, path] : transformer.input_paths_map) known |= key == segment.text;
    if (!known && transformer.input_paths_map.size() < 100) {
      transformer.input_paths_map.emplace_back(segment.text,
                                               std::string(kPaths[next++ % std::size(kPaths)]));
    }
  }
  bp::transform::TargetInputSpec spec;
  spec.input_transformer = std::move(transformer);
  bp::StatusOr<bp::transform::PayloadBuilder> builder =
      bp::transform::PayloadBuilder::Create("t", spec);
  if (!builder.ok()) return 0;
  const bp::transform::EventContext event{kEvent, "arn:rule", "rule", 1700000000};
  bp::StatusOr<std::string> payload = builder->Build(event);
  if (!payload.ok()) std::abort();  // validated template + valid event must render
  if (tpl.is_json() && !bp::transform::IsValidJson(*payload)) std::abort();
  return 0;
}
