// The pure steps of PutEvents (no store, no registry, no clock): decoding and validating one
// request entry, and building the envelope, the event exactly as rules match it and targets
// receive it. Ingest::PutEvents runs them per entry between the request-level checks and routing;
// src/ingest/fuzz/envelope_fuzz drives them with arbitrary entries.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bp::ingest {

// Why one entry was rejected: PutEvents' per-entry ErrorCode and ErrorMessage.
struct EntryError {
  std::string code;
  std::string message;
};

// One valid entry. The views point into the request object, which must outlive the Entry.
struct Entry {
  std::string_view source;
  std::string_view detail_type;
  std::string_view bus;  // EventBusName as sent (name or ARN), empty if absent
  std::string detail;    // the Detail object, compacted (detail_json.h)
  std::vector<std::string_view> resources;
  int64_t time_s = 0;  // Time, or `now_s` when absent
};

// Decodes one entry of a PutEvents request into `out` (reused across entries, so its buffers
// are too). Returns the entry's error, or nullopt when `out` holds a valid entry.
std::optional<EntryError> DecodeEntry(const boost::json::object& entry, int64_t now_s, Entry& out);

// The envelope of a valid entry: {"version":"0","id","detail-type","source","account","time",
// "region","resources","detail"} in this order, strings escaped as JSON, `detail` as compacted.
std::string BuildEnvelope(const Entry& entry, std::string_view event_id, std::string_view account,
                          std::string_view region);

}  // namespace bp::ingest
