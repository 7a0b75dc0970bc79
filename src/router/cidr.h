// Cidr: one parsed "IP" or "IP/prefix" entry, IPv4 or IPv6. The single
// parser behind router::CidrSet and router::IpMatcher, so both accept and
// reject exactly the same spellings.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace torii::router {

using U128 = unsigned __int128;

// The network address with host bits cleared, and its prefix length. `v6`
// selects which of v4 / v6addr holds the address; the other is 0.
struct Cidr {
  bool v6 = false;
  uint32_t v4 = 0;   // host byte order
  U128 v6addr = 0;   // big-endian bytes as an integer
  uint8_t bits = 0;  // 0..32 for IPv4, 0..128 for IPv6
};

// Parses "1.2.3.4", "1.2.3.0/24", "::1", "fe80::/10" (IPv6 may be written in
// brackets, "[::1]/128"). A missing prefix means a single host (/32, /128).
// nullopt when the address is none of these or the prefix is not a decimal
// within range. Never allocates; callers word their own error.
std::optional<Cidr> parse_cidr(std::string_view entry);

// Netmasks for a prefix length: mask4(24) == 0xffffff00; 0 for bits == 0.
inline uint32_t mask4(int bits) { return bits == 0 ? 0 : ~uint32_t{0} << (32 - bits); }
inline U128 mask6(int bits) { return bits == 0 ? 0 : ~U128{0} << (128 - bits); }

// ::ffff:a.b.c.d carries an IPv4 address; it must match IPv4 entries.
constexpr U128 kMappedPrefix = static_cast<U128>(0xffff) << 32;
inline bool is_v4_mapped(U128 v) { return (v >> 32) == 0xffff; }

}  // namespace torii::router
