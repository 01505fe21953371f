// Fast structural skipping over JSON text the rules do not look at. Both functions assume
// well-formed JSON for speed, never read outside [p, end), and return nullptr when the text ends
// first.
#pragma once

namespace bp::pattern {

// `p` is just after an opening quote; returns the position just after the closing quote.
const char* SkipJsonString(const char* p, const char* end);

// `p` is just after an opening '{' or '['; returns the position just after the matching close.
// Brackets of either kind are counted together (well-formedness is assumed).
const char* SkipJsonContainer(const char* p, const char* end);

}  // namespace bp::pattern
