// Internal record types of the registry (not part of its public header).
#pragma once

#include <boost/json.hpp>
#include <memory>
#include <string>
#include <vector>

#include "model/validation.h"
#include "pattern/pattern.h"
#include "registry/registry.h"

namespace bp::registry {

struct Registry::Rule {
  boost::json::object data;  // AWS DescribeRule shape
  std::shared_ptr<const pattern::Pattern> compiled;
  std::vector<boost::json::object> targets;  // AWS Target shape, in Id order of insertion
};

struct Registry::Connection {
  boost::json::object data;     // public fields; AuthParameters without secret values
  boost::json::object secrets;  // full AuthParameters incl. secret values (sealed at rest)
  uint64_t generation = 0;
};

struct Registry::Destination {
  boost::json::object data;  // AWS DescribeApiDestination shape without the derived state
};

struct Registry::Snapshot {
  std::map<std::string, std::shared_ptr<const BusRoutes>, std::less<>> buses;
  std::map<std::string, std::shared_ptr<const TargetRoute>, std::less<>> targets;
  std::map<std::string, std::shared_ptr<const DestinationView>, std::less<>> destinations;
  std::map<std::string, std::shared_ptr<const ConnectionView>, std::less<>> connections;
};

// Store keys (family kMeta).
inline std::string BusKey(std::string_view bus) { return "bus/" + std::string(bus); }
inline std::string RuleKey(std::string_view bus, std::string_view rule) {
  return "rule/" + std::string(bus) + "/" + std::string(rule);
}
inline std::string ConnectionKey(std::string_view name) { return "conn/" + std::string(name); }
inline std::string DestinationKey(std::string_view name) { return "dest/" + std::string(name); }
inline std::string TagKey(std::string_view arn) { return "tags/" + std::string(arn); }
inline std::string TargetIndexKey(std::string_view bus, std::string_view rule,
                                  std::string_view id) {
  return std::string(bus) + '\x1f' + std::string(rule) + '\x1f' + std::string(id);
}

// Helpers shared by the registry's files.
std::string JsonString(const boost::json::object& o, std::string_view key);
double NowSeconds(const Clock& clock);
// Paging over an ordered list of names: returns [begin, end) indexes for the page and the next
// token (empty when this is the last page).
struct Page {
  size_t begin = 0, end = 0;
  std::string next_token;
};
StatusOr<Page> Paginate(const std::vector<std::string>& sorted_names,
                        const boost::json::object& in);
Status ValidateTags(const boost::json::array* tags, int max_tags);
// A required resource name member (e.g. "Name"), validated as AWS does; `field` is the name used
// in messages ("name", "rule"). The optional is always engaged on success.
StatusOr<std::optional<std::string>> RequiredName(const boost::json::object& in,
                                                  std::string_view member, std::string_view field,
                                                  size_t max = 64);
// PutTargets: validates the enum members of AWS-only parameter blocks (EcsParameters, ...) and
// refuses those blocks (registry_target_params.cc). `index` is the target's position (0-based).
Status ValidateTargetParameterBlocks(const boost::json::object& target, size_t index);
// The member `key` of `o` when it is an object, else null.
const boost::json::object* ObjectMember(const boost::json::object& o, std::string_view key);
// CreateConnection / UpdateConnection (`update`: only the members given are checked): the
// AuthParameters `auth` are valid for AuthorizationType `type` (connection_auth.cc).
Status ValidateAuthParameters(const boost::json::object& auth, std::string_view type, bool update,
                              const RegistryOptions& options);
// https:// endpoints, and http:// ones when allowed (loopback dev mode or configuration).
bool ValidEndpoint(std::string_view url, bool allow_http);
// Adds a violation to `v` when options.egress_refusal refuses `url` (SPEC §17).
void CheckEgress(const RegistryOptions& options, model::Validator& v, std::string_view field,
                 std::string_view url);
// {"<list_key>": list, "NextToken": …} for a page of a List operation.
boost::json::object ListReply(std::string_view list_key, boost::json::array list, const Page& page);

}  // namespace bp::registry
