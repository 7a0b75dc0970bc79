// parse_cidr: "IP" / "IP/prefix" for IPv4 and IPv6 (see cidr.h).
#include "router/cidr.h"

#include <arpa/inet.h>

#include <array>
#include <charconv>
#include <cstring>

namespace torii::router {
namespace {

// inet_pton needs a NUL-terminated string: entries are short, so a stack
// copy avoids allocating.
bool parse_v4(std::string_view s, uint32_t& out) {
  std::array<char, INET_ADDRSTRLEN + 1> buf{};
  if (s.empty() || s.size() >= buf.size() - 1) return false;
  std::memcpy(buf.data(), s.data(), s.size());
  in_addr a{};
  if (inet_pton(AF_INET, buf.data(), &a) != 1) return false;
  out = ntohl(a.s_addr);
  return true;
}

bool parse_v6(std::string_view s, U128& out) {
  std::array<char, INET6_ADDRSTRLEN + 1> buf{};
  if (s.empty() || s.size() >= buf.size() - 1) return false;
  std::memcpy(buf.data(), s.data(), s.size());
  in6_addr a{};
  if (inet_pton(AF_INET6, buf.data(), &a) != 1) return false;
  U128 v = 0;
  for (unsigned char byte : a.s6_addr) v = (v << 8) | byte;
  out = v;
  return true;
}

std::optional<int> parse_bits(std::string_view s, int max) {
  int bits = -1;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), bits);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size() || bits < 0 || bits > max) {
    return std::nullopt;
  }
  return bits;
}

}  // namespace

std::optional<Cidr> parse_cidr(std::string_view entry) {
  std::string_view s = entry;
  std::optional<std::string_view> prefix;
  if (const size_t slash = s.find('/'); slash != std::string_view::npos) {
    prefix = s.substr(slash + 1);
    s = s.substr(0, slash);
  }
  if (s.size() >= 2 && s.front() == '[' && s.back() == ']') s = s.substr(1, s.size() - 2);
  Cidr c;
  const bool v4 = parse_v4(s, c.v4);
  if (!v4 && !parse_v6(s, c.v6addr)) return std::nullopt;
  const int max = v4 ? 32 : 128;
  int bits = max;
  if (prefix) {
    const auto p = parse_bits(*prefix, max);
    if (!p) return std::nullopt;
    bits = *p;
  }
  c.v6 = !v4;
  c.bits = static_cast<uint8_t>(bits);
  if (v4) {
    c.v4 &= mask4(bits);
  } else {
    c.v6addr &= mask6(bits);
  }
  return c;
}

}  // namespace torii::router
