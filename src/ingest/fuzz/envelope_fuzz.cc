// Fuzzes one PutEvents entry through DecodeEntry and BuildEnvelope. The input is the entry's JSON
// text. Invariants for every accepted entry: the envelope is valid JSON, an object whose
// source, detail-type and resources are the entry's, whose detail is the entry's Detail (same
// JSON value), and whose time is the entry's time in ISO-8601.
#include <boost/json.hpp>
#include <cstdint>
#include <cstdlib>
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
  bp::ingest::Entry entry;
  if (bp::ingest::DecodeEntry(in.as_object(), 1'700'000'000, entry)) return 0;
  std::string env = bp::ingest::BuildEnvelope(entry, "00000000-0000-0000-0000-000000000000",
                                              "000000000000", "us-east-1");
  json::value out = json::parse(env, ec, {}, deep);
  if (ec || !out.is_object()) std::abort();
  const json::object& o = out.as_object();
  const json::object& sent = in.as_object();
  if (o.at("source") != sent.at("Source")) std::abort();
  if (o.at("detail-type") != sent.at("DetailType")) std::abort();
  if (o.at("time").as_string() != bp::FormatIso8601(entry.time_s)) std::abort();
  json::value detail = json::parse(sent.at("Detail").as_string(), ec, {}, deep);
  if (ec || o.at("detail") != detail) std::abort();
  const json::array& resources = o.at("resources").as_array();
  if (resources.size() != entry.resources.size()) std::abort();
  for (size_t i = 0; i < resources.size(); ++i) {
    if (resources[i].as_string() != entry.resources[i]) std::abort();
  }
  return 0;
}
