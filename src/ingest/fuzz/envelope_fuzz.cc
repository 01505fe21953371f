// Fuzzes one PutEvents entry through DecodeEntry and BuildEnvelope. The input is the entry's JSON
// text. Invariants for every accepted entry: the envelope is its header followed by
// `"detail":<the compacted Detail>}`; the header (with an empty detail) is a JSON object whose
// source, detail-type, time and resources are the entry's; and the compacted Detail is the same
// JSON value as the Detail sent, whenever Boost.JSON can represent that value (it rejects numbers
// beyond double range, which a Detail may carry and the envelope keeps as spelled).
#include <boost/json.hpp>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/ids.h"
#include "ingest/envelope.h"

namespace json = boost::json;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  boost::system::error_code ec;
  json::parse_options deep;
  deep.max_depth = 1100;  // a Detail may nest up to 1000 levels (detail_json.h)
  json::value in = json::parse(text, ec, {}, deep);
  if (ec || !in.is_object()) return 0;
  const json::object& sent = in.as_object();
  bp::ingest::Entry entry;
  if (bp::ingest::DecodeEntry(sent, 1'700'000'000, entry)) return 0;
  std::string env = bp::ingest::BuildEnvelope(entry, "00000000-0000-0000-0000-000000000000",
                                              "000000000000", "us-east-1");

  constexpr std::string_view kDetail = "\"detail\":";
  const size_t tail = entry.detail.size() + 1;
  if (env.size() < tail + kDetail.size()) std::abort();
  const size_t at = env.size() - tail;
  if (std::string_view(env).substr(at) != entry.detail + "}") std::abort();
  if (std::string_view(env).substr(at - kDetail.size(), kDetail.size()) != kDetail) std::abort();

  json::value header = json::parse(env.substr(0, at) + "{}}", ec);
  if (ec || !header.is_object()) std::abort();
  const json::object& o = header.as_object();
  if (o.at("source") != sent.at("Source")) std::abort();
  if (o.at("detail-type") != sent.at("DetailType")) std::abort();
  if (o.at("time").as_string() != bp::FormatIso8601(entry.time_s)) std::abort();
  const json::array& resources = o.at("resources").as_array();
  if (resources.size() != entry.resources.size()) std::abort();
  for (size_t i = 0; i < resources.size(); ++i) {
    if (resources[i].as_string() != entry.resources[i]) std::abort();
  }

  json::value original = json::parse(sent.at("Detail").as_string(), ec, {}, deep);
  if (ec) return 0;  // not representable here (see above); the spelling check above still held
  json::value compacted = json::parse(entry.detail, ec, {}, deep);
  if (ec || compacted != original) std::abort();
  return 0;
}
