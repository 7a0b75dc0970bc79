#include "http/safe_field.h"

namespace torii::http {

namespace {

template <class Unsafe>
std::string escape_bytes(std::string_view v, Unsafe unsafe) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(v.size() + 8);
  for (const char c : v) {
    const auto b = static_cast<unsigned char>(c);
    if (unsafe(b)) {
      out.push_back('%');
      out.push_back(kHex[b >> 4]);
      out.push_back(kHex[b & 0xf]);
    } else {
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace

std::string escape_field(std::string_view v) {
  return escape_bytes(v, [](unsigned char b) { return (b < 0x20 && b != '\t') || b == 0x7f; });
}

std::string escape_target(std::string_view t) {
  return escape_bytes(t, [](unsigned char b) { return b <= 0x20 || b == 0x7f; });
}

}  // namespace torii::http
