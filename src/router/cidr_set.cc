// CidrSet: CIDR entries grouped by prefix length into hash sets of masked
// networks; a lookup probes one set per group (see cidr_set.h).
#include "router/cidr_set.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>

namespace torii::router {
namespace {

using U128 = CidrSet::U128;

// inet_pton needs a NUL-terminated string: entries and client addresses are
// short, so a stack copy avoids allocating.
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

uint32_t mask4(int bits) { return bits == 0 ? 0 : ~uint32_t{0} << (32 - bits); }
U128 mask6(int bits) { return bits == 0 ? 0 : ~U128{0} << (128 - bits); }

// ::ffff:a.b.c.d carries an IPv4 address.
constexpr U128 kMappedPrefix = static_cast<U128>(0xffff) << 32;
bool is_v4_mapped(U128 v) { return (v >> 32) == 0xffff; }

}  // namespace

std::optional<CidrSet::Cidr> CidrSet::parse(std::string_view entry) {
  std::string_view s = entry;
  std::optional<std::string_view> prefix;
  if (const size_t slash = s.find('/'); slash != std::string_view::npos) {
    prefix = s.substr(slash + 1);
    s = s.substr(0, slash);
  }
  if (s.size() >= 2 && s.front() == '[' && s.back() == ']') s = s.substr(1, s.size() - 2);
  Cidr c;
  if (parse_v4(s, c.v4)) {
    int bits = 32;
    if (prefix) {
      const auto p = parse_bits(*prefix, 32);
      if (!p) return std::nullopt;
      bits = *p;
    }
    c.bits = static_cast<uint8_t>(bits);
    c.v4 &= mask4(bits);
    return c;
  }
  if (parse_v6(s, c.v6addr)) {
    int bits = 128;
    if (prefix) {
      const auto p = parse_bits(*prefix, 128);
      if (!p) return std::nullopt;
      bits = *p;
    }
    c.v6 = true;
    c.bits = static_cast<uint8_t>(bits);
    c.v6addr &= mask6(bits);
    return c;
  }
  return std::nullopt;
}

core::Result<CidrSet> CidrSet::build(std::span<const std::string> entries) {
  std::vector<Cidr> parsed;
  parsed.reserve(entries.size());
  for (const std::string& e : entries) {
    auto c = parse(e);
    if (!c) return core::config_error("invalid ip address: \"" + e + "\"");
    parsed.push_back(*c);
  }
  // Shortest prefixes first: an entry already covered by a kept one adds
  // nothing (and may spare a whole group).
  std::stable_sort(parsed.begin(), parsed.end(),
                   [](const Cidr& a, const Cidr& b) { return a.bits < b.bits; });
  CidrSet set;
  for (const Cidr& c : parsed) {
    const bool covered = c.v6 ? set.contains_v6(c.v6addr) : set.contains_v4(c.v4);
    if (!covered) set.add(c);
  }
  // Hits end at the first group that matches: try the largest first.
  std::stable_sort(set.v4_.begin(), set.v4_.end(),
                   [](const Group4& a, const Group4& b) { return a.nets.size() > b.nets.size(); });
  std::stable_sort(set.v6_.begin(), set.v6_.end(),
                   [](const Group6& a, const Group6& b) { return a.nets.size() > b.nets.size(); });
  return set;
}

void CidrSet::add(const Cidr& c) {
  if (c.v6) {
    auto it =
        std::find_if(v6_.begin(), v6_.end(), [&](const Group6& g) { return g.bits == c.bits; });
    if (it == v6_.end()) {
      it = v6_.insert(v6_.end(), Group6{c.bits, mask6(c.bits), {}});
    }
    it->nets.insert(c.v6addr);
    return;
  }
  auto it = std::find_if(v4_.begin(), v4_.end(), [&](const Group4& g) { return g.bits == c.bits; });
  if (it == v4_.end()) {
    it = v4_.insert(v4_.end(), Group4{c.bits, mask4(c.bits), {}});
  }
  it->nets.insert(c.v4);
}

bool CidrSet::contains_v4(uint32_t addr) const {
  for (const Group4& g : v4_) {
    if (g.nets.contains(addr & g.mask)) return true;
  }
  return false;
}

bool CidrSet::contains_v6(U128 addr) const {
  for (const Group6& g : v6_) {
    if (g.nets.contains(addr & g.mask)) return true;
  }
  return false;
}

bool CidrSet::contains(const boost::asio::ip::address& addr) const {
  if (addr.is_v4()) {
    const uint32_t v = addr.to_v4().to_uint();
    return contains_v4(v) || (!v6_.empty() && contains_v6(kMappedPrefix | v));
  }
  const auto bytes = addr.to_v6().to_bytes();
  U128 v = 0;
  for (unsigned char byte : bytes) v = (v << 8) | byte;
  if (contains_v6(v)) return true;
  return is_v4_mapped(v) && contains_v4(static_cast<uint32_t>(v));
}

}  // namespace torii::router
