#include "console/assets.h"

#include "console/console_service.h"

namespace bp::console {

const EmbeddedAsset* FindAsset(std::string_view path) {
  for (size_t i = 0; i < kEmbeddedAssetCount; ++i) {
    if (kEmbeddedAssets[i].path == path) return &kEmbeddedAssets[i];
  }
  return nullptr;
}

namespace {

std::string_view ContentType(std::string_view path) {
  auto ends = [&](std::string_view s) { return path.ends_with(s); };
  if (ends(".html")) return "text/html; charset=utf-8";
  if (ends(".js")) return "text/javascript; charset=utf-8";
  if (ends(".css")) return "text/css; charset=utf-8";
  if (ends(".svg")) return "image/svg+xml";
  return "application/octet-stream";
}

}  // namespace

void ServeAsset(const http::Request& req, http::Responder respond) {
  std::string_view path = req.Path();
  if (path == "/console") {
    http::Response r = http::Response::Text(302, "");
    r.SetHeader("Location", "/console/");
    respond(std::move(r));
    return;
  }
  std::string_view rel = path.substr(std::string_view("/console/").size());
  if (rel.empty()) rel = "index.html";
  const EmbeddedAsset* asset = rel.find("..") == std::string_view::npos ? FindAsset(rel) : nullptr;
  if (!asset) {
    respond(http::Response::Text(404, "not found\n"));
    return;
  }
  http::Response r =
      http::Response::Text(200, std::string(asset->bytes), std::string(ContentType(rel)));
  // Same-origin only: no framing, no inline or remote scripts, API calls to this origin only.
  r.SetHeader("Content-Security-Policy",
              "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
              "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'");
  r.SetHeader("X-Content-Type-Options", "nosniff");
  r.SetHeader("Referrer-Policy", "no-referrer");
  r.SetHeader("Cache-Control", "no-cache");
  respond(std::move(r));
}

}  // namespace bp::console
