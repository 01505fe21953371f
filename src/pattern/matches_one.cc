#include <boost/json.hpp>

#include "pattern/pattern.h"

namespace bp::pattern {

StatusOr<bool> MatchesOne(std::string_view pattern_json, std::string_view event_json) {
  BP_ASSIGN_OR_RETURN(auto pattern, CompilePattern(pattern_json));
  boost::json::parse_options opts;
  opts.max_depth = 1002;  // a Detail PutEvents accepts (1000 levels + containers) in its envelope
  boost::system::error_code ec;
  boost::json::monotonic_resource mr;
  const boost::json::value v = boost::json::parse(event_json, ec, &mr, opts);
  if (ec) return Status::Validation("Event is not valid JSON: " + ec.message());
  if (!v.is_object()) return Status::Validation("Event is not a JSON object");
  MatcherBuilder builder;
  BP_RETURN_IF_ERROR(builder.Add(0, pattern));
  std::vector<uint32_t> out;
  builder.Build()->Match(event_json, &out);
  return !out.empty();
}

}  // namespace bp::pattern
