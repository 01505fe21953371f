// Internal to transform/ tests: a representative event envelope.
#pragma once

#include <string_view>

namespace bp::transform::testing {

// Compact, as ingest/ produces it. Numbers are spelled unusually (12.50, 1e3) on purpose.
inline constexpr std::string_view kEvent =
    R"json({"version":"0","id":"6a7e8feb-b491-4cf7-a9f1-bf3703467718","detail-type":"Order Placed","source":"shop","account":"000000000000","time":"2024-01-02T03:04:05Z","region":"us-east-1","resources":["arn:a","arn:b"],"detail":{"order":{"id":"o-1","total":12.50,"qty":3,"big":1e3,"tags":["x","y"],"note":"say \"hi\"\\ok\nline","uni":"caf\u00e9 ☕","flag":true,"nothing":null},"items":[{"sku":"a"},{"sku":"b"}]}})json";

inline constexpr std::string_view kDetail =
    R"json({"order":{"id":"o-1","total":12.50,"qty":3,"big":1e3,"tags":["x","y"],"note":"say \"hi\"\\ok\nline","uni":"caf\u00e9 ☕","flag":true,"nothing":null},"items":[{"sku":"a"},{"sku":"b"}]})json";

}  // namespace bp::transform::testing
