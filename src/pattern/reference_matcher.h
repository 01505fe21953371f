// A slow, obviously-correct matcher used only by tests: it flattens the whole event into leaves
// (path, value, array membership) and searches every assignment of leaves to clauses.
#pragma once

#include <boost/json.hpp>

#include "pattern/pattern_model.h"

namespace bp::pattern::testing {

bool ReferenceMatches(const Pattern& pattern, const boost::json::value& event);

}  // namespace bp::pattern::testing
