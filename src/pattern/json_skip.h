// Fast structural skipping over JSON text the rules do not look at. Both functions assume
// well-formed JSON for speed, never read outside [p, end), and return nullptr when the text ends
// first.
#pragma once

namespace bp::pattern {

// `p` is just after an opening quote; returns the position just after the closing quote.
const char* SkipJsonString(const char* p, const char* end);

// `p` is just after an opening '{' or '[' (or anywhere between members of that container, outside
// strings); returns the position just after the matching close. Brackets of either kind are
// counted together (well-formedness is assumed). If `dot_in_string` is given, it is set when any
// skipped string contains a '.'.
const char* SkipJsonContainer(const char* p, const char* end, bool* dot_in_string = nullptr);

// True if any string in [p, end) contains a '.'; `p` must be outside strings.
bool AnyDotInStrings(const char* p, const char* end);

}  // namespace bp::pattern
