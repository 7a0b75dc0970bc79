// IpMatcher: parses IPv4/IPv6 addresses and CIDRs into sorted, merged
// ranges and answers membership with a binary search.
#include "router/ip_matcher.h"

#include <algorithm>
#include <string_view>

#include "router/cidr.h"

namespace torii::router {
namespace {

core::Error bad_entry(std::string_view entry) {
  return core::config_error("invalid ip address: \"" + std::string(entry) + "\"");
}

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
    const auto c = parse_cidr(entry);
    if (!c) return bad_entry(entry);
    // parse_cidr cleared the host bits: the range runs from the network
    // address to the same address with every host bit set.
    if (c->v6) {
      m.v6_.push_back({c->v6addr, c->v6addr | ~mask6(c->bits)});
    } else {
      m.v4_.push_back({c->v4, c->v4 | ~mask4(c->bits)});
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
