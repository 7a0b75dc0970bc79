// IpMatcher: parses IPv4/IPv6 addresses and CIDRs into sorted, merged
// ranges and answers membership with a binary search.
#include "router/ip_matcher.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <optional>
#include <string_view>

namespace torii::router {
namespace {

using U128 = unsigned __int128;

core::Error bad_entry(std::string_view entry) {
  return core::config_error("invalid ip address: \"" + std::string(entry) + "\"");
}

// inet_pton needs a NUL-terminated string; entries and request values are
// short, so a stack buffer avoids any allocation.
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

std::optional<int> parse_prefix(std::string_view s, int max) {
  int bits = -1;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), bits);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size() || bits < 0 || bits > max) {
    return std::nullopt;
  }
  return bits;
}

// ::ffff:a.b.c.d carries an IPv4 address; it must match IPv4 entries.
constexpr U128 kMappedPrefix = static_cast<U128>(0xffff) << 32;
bool is_v4_mapped(U128 v) { return (v >> 32) == 0xffff; }

template <class Range>
void sort_and_merge(std::vector<Range>& ranges) {
  std::sort(ranges.begin(), ranges.end(),
            [](const Range& a, const Range& b) { return a.lo < b.lo; });
  std::vector<Range> merged;
  merged.reserve(ranges.size());
  for (const Range& r : ranges) {
    // Adjacent ranges merge too (lo == hi + 1); lo - 1 only wraps when lo
    // is 0, and then the first test already holds.
    if (!merged.empty() && (r.lo <= merged.back().hi || r.lo - 1 == merged.back().hi)) {
      merged.back().hi = std::max(merged.back().hi, r.hi);
    } else {
      merged.push_back(r);
    }
  }
  ranges = std::move(merged);
}

template <class Range, class V>
bool in_ranges(const std::vector<Range>& ranges, V v) {
  // First range starting after v; the one before it is the only candidate.
  auto it = std::upper_bound(ranges.begin(), ranges.end(), v,
                             [](V x, const Range& r) { return x < r.lo; });
  if (it == ranges.begin()) return false;
  --it;
  return v <= it->hi;
}

}  // namespace

core::Result<IpMatcher> IpMatcher::build(std::span<const std::string> entries) {
  IpMatcher m;
  for (const std::string& entry : entries) {
    std::string_view s = entry;
    std::string_view prefix;
    bool has_prefix = false;
    if (size_t slash = s.find('/'); slash != std::string_view::npos) {
      prefix = s.substr(slash + 1);
      s = s.substr(0, slash);
      has_prefix = true;
    }
    if (s.size() >= 2 && s.front() == '[' && s.back() == ']') s = s.substr(1, s.size() - 2);

    uint32_t v4 = 0;
    U128 v6 = 0;
    if (parse_v4(s, v4)) {
      int bits = 32;
      if (has_prefix) {
        auto p = parse_prefix(prefix, 32);
        if (!p) return bad_entry(entry);
        bits = *p;
      }
      uint32_t host_mask = bits == 0 ? ~uint32_t{0} : (bits == 32 ? 0 : (~uint32_t{0} >> bits));
      m.v4_.push_back({v4 & ~host_mask, v4 | host_mask});
    } else if (parse_v6(s, v6)) {
      int bits = 128;
      if (has_prefix) {
        auto p = parse_prefix(prefix, 128);
        if (!p) return bad_entry(entry);
        bits = *p;
      }
      U128 all = ~U128{0};
      U128 host_mask = bits == 0 ? all : (bits == 128 ? 0 : (all >> bits));
      m.v6_.push_back({v6 & ~host_mask, v6 | host_mask});
    } else {
      return bad_entry(entry);
    }
  }
  sort_and_merge(m.v4_);
  sort_and_merge(m.v6_);
  return m;
}

bool IpMatcher::contains(const boost::asio::ip::address& addr) const {
  if (addr.is_v4()) {
    uint32_t v = addr.to_v4().to_uint();
    return in_ranges(v4_, v) || (!v6_.empty() && in_ranges(v6_, kMappedPrefix | v));
  }
  if (addr.is_v6()) {
    auto bytes = addr.to_v6().to_bytes();
    U128 v = 0;
    for (unsigned char byte : bytes) v = (v << 8) | byte;
    if (in_ranges(v6_, v)) return true;
    return is_v4_mapped(v) && in_ranges(v4_, static_cast<uint32_t>(v));
  }
  return false;
}

}  // namespace torii::router
