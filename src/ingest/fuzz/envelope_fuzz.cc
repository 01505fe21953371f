// Fuzzes one PutEvents entry through DecodeEntry and BuildEnvelope. The input is the entry's JSON
// text. Invariants for every accepted entry: the envelope is its header followed by
// `"detail":<the compacted Detail>}`; the header (with an empty detail) is a JSON object whose
// source, detail-type, time and resources are the entry's; and the compacted Detail is the
// Detail sent without the white space between tokens (compared as text: a Detail's numbers may
// lie beyond double range, e.g. -0e666666666, which Boost.JSON turns into NaN or rejects).
#include <boost/json.hpp>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/ids.h"
#include "ingest/envelope.h"

namespace json = boost::json;

namespace {

// An independent statement of CompactDetail's contract: JSON text minus the white space between
// tokens (inside strings everything is kept, escapes included).
std::string WithoutInsignificantSpace(std::string_view text) {
  std::string out;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      out.push_back(c);
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
      out.push_back(c);
    } else if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace

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

  // The compacted Detail is the Detail sent without the white space outside strings.
  if (entry.detail != WithoutInsignificantSpace(sent.at("Detail").as_string())) std::abort();
  return 0;
}
