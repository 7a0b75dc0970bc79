// Bytes that must not reach a head as they are.
//
// Header values and request targets built from configuration and variables
// can carry any byte: $arg_x and $uri are percent-decoded, so a client that
// sends `?q=x%0d%0aX-Injected:%201` puts a real CR LF into a proxy-rewrite
// header, a redirect Location or the upstream request line, and would add
// headers of its choosing (or a whole request) to what Torii writes. What
// the client sent itself never has them (the parser refuses them).
//
// Where such text enters a head (HeaderEdits, local replies, the upstream
// request line), these keep the line intact by writing each unsafe byte as
// %XX, as lua-nginx-module does for APISIX's ngx.header and
// ngx.req.set_header since 0.10.16. The text otherwise passes unchanged, so
// a clean value costs one scan.
#pragma once

#include <string>
#include <string_view>

namespace torii::http {

// True when `v` can be a header name or value as it is: no control byte
// other than HT, no DEL.
inline bool is_safe_field(std::string_view v) {
  for (const char c : v) {
    const auto b = static_cast<unsigned char>(c);
    if ((b < 0x20 && b != '\t') || b == 0x7f) return false;
  }
  return true;
}

// True when `t` can be a request-target as it is: no control byte, no space.
inline bool is_safe_target(std::string_view t) {
  for (const char c : t) {
    const auto b = static_cast<unsigned char>(c);
    if (b <= 0x20 || b == 0x7f) return false;
  }
  return true;
}

// `v` with every byte is_safe_field() refuses written as %XX.
std::string escape_field(std::string_view v);
// `t` with every byte is_safe_target() refuses written as %XX.
std::string escape_target(std::string_view t);

}  // namespace torii::http
