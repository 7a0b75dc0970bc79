// CidrSet: CIDR entries grouped by prefix length into hash sets of masked
// networks; a lookup probes one set per group (see cidr_set.h).
#include "router/cidr_set.h"

#include <algorithm>

namespace torii::router {

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
