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

#include <cstdint>
#include <cstring>
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

// The first byte of v[from, v.size()) that `unsafe` refuses, or v.size().
[[gnu::noinline]] size_t find_unsafe_bytewise(std::string_view v, size_t from,
                                              bool (*unsafe)(unsigned char));

// The first byte of `v` that `Unsafe` refuses, or v.size(). Eight bytes at
// a time: a word with no byte below `kBelow` and no DEL is clean without
// looking at its bytes (every refused byte is below `kBelow` or DEL); the
// first word that may hold one (HT, which fields allow, is also below) and
// what follows it go to the byte-wise scan.
template <bool (*Unsafe)(unsigned char), uint64_t kBelow>
size_t find_unsafe(std::string_view v) {
  constexpr uint64_t kOnes = 0x0101010101010101ull;
  constexpr uint64_t kHigh = kOnes * 0x80;
  const auto suspect = [](uint64_t w) {
    const uint64_t del = w ^ (kOnes * 0x7f);
    return ((((w - kOnes * kBelow) & ~w) | ((del - kOnes) & ~del)) & kHigh) != 0;
  };
  const char* const p = v.data();
  const size_t n = v.size();
  uint64_t w = kOnes * 'A';  // clean padding for a text shorter than a word
  if (n < 8) {
    std::memcpy(&w, p, n);
    return suspect(w) ? find_unsafe_bytewise(v, 0, Unsafe) : n;
  }
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    std::memcpy(&w, p + i, 8);
    if (suspect(w)) return find_unsafe_bytewise(v, i, Unsafe);
  }
  if (i == n) return n;
  // The last, partial word: the eight bytes that end the text (those
  // before `i` were found clean).
  std::memcpy(&w, p + n - 8, 8);
  return suspect(w) ? find_unsafe_bytewise(v, i, Unsafe) : n;
}

// `v` itself when it is safe, else its escaped copy kept in `scratch`
// (which must outlive the returned view).
inline std::string_view safe_field(std::string_view v, std::string& scratch) {
  if (find_unsafe<unsafe_in_field, 0x20>(v) == v.size()) return v;
  return escape_into(v, unsafe_in_field, scratch);
}
inline std::string_view safe_target(std::string_view t, std::string& scratch) {
  if (find_unsafe<unsafe_in_target, 0x21>(t) == t.size()) return t;
  return escape_into(t, unsafe_in_target, scratch);
}

}  // namespace torii::http
