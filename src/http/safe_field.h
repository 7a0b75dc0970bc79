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
// request line), safe_field() / safe_target() keep the line intact by
// writing each unsafe byte as %XX, as lua-nginx-module does for APISIX's
// ngx.header and ngx.req.set_header since 0.10.16. Clean text (the usual
// case) is returned as it is, after one scan and without a copy.
#pragma once

#include <string>
#include <string_view>

namespace torii::http {

// A header name or value may hold no control byte but HT, and no DEL.
inline bool unsafe_in_field(unsigned char b) { return (b < 0x20 && b != '\t') || b == 0x7f; }
// A request-target may hold no control byte, no space, no DEL.
inline bool unsafe_in_target(unsigned char b) { return b <= 0x20 || b == 0x7f; }

// `v` with every byte `unsafe` refuses written as %XX, into `scratch`.
std::string_view escape_into(std::string_view v, bool (*unsafe)(unsigned char),
                             std::string& scratch);

// `v` itself when it is safe, else its escaped copy kept in `scratch`
// (which must outlive the returned view).
inline std::string_view safe_field(std::string_view v, std::string& scratch) {
  for (const char c : v) {
    if (unsafe_in_field(static_cast<unsigned char>(c))) return escape_into(v, unsafe_in_field, scratch);
  }
  return v;
}
inline std::string_view safe_target(std::string_view t, std::string& scratch) {
  for (const char c : t) {
    if (unsafe_in_target(static_cast<unsigned char>(c))) return escape_into(t, unsafe_in_target, scratch);
  }
  return t;
}

}  // namespace torii::http
