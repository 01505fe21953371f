// The stack engine's records: a stack, the resources of one template version, change sets and
// events. Internal to the cfn module (the engine's files and its codec share it).
#pragma once

#include <boost/json.hpp>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "cfn/resource_types.h"
#include "common/status.h"

namespace bp::cfn {

struct ResourceRecord {
  std::string logical_id, type;
  std::string status, status_reason;  // CREATE_COMPLETE, UPDATE_IN_PROGRESS, ...
  std::string name;                   // physical name chosen before the create call
  boost::json::object properties;     // evaluated; dynamic references left unresolved
  Physical physical;                  // valid when `created`
  bool created = false;               // the provider's create returned success
  bool stale = false;                 // not in the new template: deleted by the update's cleanup
  std::string deletion_policy;        // Delete (default), Retain, RetainExceptOnCreate, Snapshot
  int64_t updated_ms = 0;
};

// One version of a stack: what a template with its parameters produced.
struct StackVersion {
  boost::json::value template_json;  // parsed template
  std::string template_body;         // as submitted (GetTemplate)
  boost::json::array parameters;     // [{ParameterKey, ParameterValue}] as submitted/defaulted
  std::map<std::string, ResourceRecord> resources;
  boost::json::array outputs;     // [{OutputKey, OutputValue, Description, ExportName}]
  std::set<std::string> imports;  // export names used through Fn::ImportValue
};

struct ChangeSet {
  std::string id, name, type;  // type CREATE | UPDATE
  std::string status, execution_status, status_reason, description;
  std::string template_body;
  boost::json::array parameters, capabilities, tags, changes;
  int64_t created_ms = 0;
};

struct Stack {
  std::string id, name;
  std::string status, status_reason, description;
  int64_t created_ms = 0, updated_ms = 0, deleted_ms = 0;
  bool disable_rollback = false;
  std::string on_failure = "ROLLBACK";  // ROLLBACK | DELETE | DO_NOTHING
  boost::json::array tags, capabilities;
  std::string base_url;       // "{scheme}://{host}" of the creating request
  std::string change_set_id;  // the change set being (or last) executed
  StackVersion current;
  std::optional<StackVersion> previous;          // set while an update runs or rolls back
  std::vector<boost::json::object> events;       // oldest first, bounded
  std::map<std::string, ChangeSet> change_sets;  // by name
  bool live() const { return status != "DELETE_COMPLETE"; }
};

boost::json::object EncodeStack(const Stack& s);
StatusOr<Stack> DecodeStack(const boost::json::object& o);

}  // namespace bp::cfn
