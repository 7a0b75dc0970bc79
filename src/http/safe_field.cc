#include "http/safe_field.h"

namespace torii::http {

size_t find_unsafe_bytewise(std::string_view v, size_t from, bool (*unsafe)(unsigned char)) {
  for (size_t i = from; i < v.size(); ++i) {
    if (unsafe(static_cast<unsigned char>(v[i]))) return i;
  }
  return v.size();
}

std::string_view escape_into(std::string_view v, bool (*unsafe)(unsigned char),
                             std::string& scratch) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  scratch.clear();
  scratch.reserve(v.size() + 8);
  for (const char c : v) {
    const auto b = static_cast<unsigned char>(c);
    if (unsafe(b)) {
      scratch.push_back('%');
      scratch.push_back(kHex[b >> 4]);
      scratch.push_back(kHex[b & 0xf]);
    } else {
      scratch.push_back(c);
    }
  }
  return scratch;
}

}  // namespace torii::http
