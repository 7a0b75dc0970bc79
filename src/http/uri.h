// Request-target handling: percent-decoding and path normalisation the way
// nginx computes $uri (decode, merge "//", resolve "." and ".."), plus query
// argument lookup. These see untrusted bytes: each returns an error value,
// never throws, and is covered by the HTTP fuzz target.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace torii::http {

// Normalises `raw_path` (no query) into `out`. Returns false when the path
// is invalid: not starting with '/', a bad %-escape, an encoded NUL, or ".."
// above the root. Fast path: a clean path is copied unchanged.
bool normalize_path(std::string_view raw_path, std::string& out);

// Percent-decodes `in` ('+' becomes ' ' when `plus_is_space`). Invalid
// escapes are kept literally, as nginx's ngx_unescape_uri does for args.
std::string percent_decode(std::string_view in, bool plus_is_space);

// Finds the first `name=value` in a raw query string; returns the raw
// (still encoded) value, "" for `name` or `name=`, nullopt when absent.
std::optional<std::string_view> find_query_arg(std::string_view query, std::string_view name);

// The raw query without any `name` or `name=value` pair (matched as
// find_query_arg does); the other pairs keep their order and bytes.
std::string remove_query_arg(std::string_view query, std::string_view name);

// Finds a cookie in a Cookie header value ("a=1; b=2").
std::optional<std::string_view> find_cookie(std::string_view header, std::string_view name);

}  // namespace torii::http
