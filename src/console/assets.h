// The console's web assets, embedded at build time (see embed_assets.cmake).
#pragma once

#include <cstddef>
#include <string_view>

namespace bp::console {

struct EmbeddedAsset {
  std::string_view path;  // relative to console/, e.g. "index.html", "views/overview.js"
  std::string_view bytes;
};

extern const EmbeddedAsset kEmbeddedAssets[];
extern const size_t kEmbeddedAssetCount;

// The asset at `path`, or null.
const EmbeddedAsset* FindAsset(std::string_view path);

}  // namespace bp::console
