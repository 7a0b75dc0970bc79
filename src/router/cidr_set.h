// A set of IPv4/IPv6 addresses and CIDR ranges whose membership test costs
// the same for 10 entries as for 100,000: one hash probe per distinct prefix
// length in the set, never a walk over the entries.
//
// How. Entries are grouped by prefix length; each group is a hash set of
// masked network addresses. contains(addr) masks `addr` to each length
// present and probes that group's set. The number of groups is bounded by
// the address width (at most 33 for IPv4, 129 for IPv6) and, in real lists,
// is a handful (/32, /24, /16...). Entries covered by a shorter entry are
// dropped at build time, which can remove whole groups.
//
// An IPv4 address also matches IPv6 entries through its IPv4-mapped form
// (::ffff:a.b.c.d), and an IPv4-mapped IPv6 address matches IPv4 entries,
// as router::IpMatcher does.
//
// Built once on the control thread (ip-restriction's create), immutable
// after, read concurrently by every worker without locks.
#pragma once

#include <boost/asio/ip/address.hpp>
#include <boost/unordered/unordered_flat_set.hpp>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "router/cidr.h"

namespace torii::router {

class CidrSet {
 public:
  using U128 = unsigned __int128;

  // One parsed entry (see router/cidr.h).
  using Cidr = router::Cidr;

  // Parses "1.2.3.4", "1.2.3.0/24", "::1", "fe80::/10" (IPv6 may be written
  // in brackets); nullopt when it is none of these or the prefix is out of
  // range. Same as router::parse_cidr.
  static std::optional<Cidr> parse(std::string_view entry) { return parse_cidr(entry); }

  // Builds the set. An error names the first bad entry, quoted:
  // `invalid ip address: "1.2.3"`.
  static core::Result<CidrSet> build(std::span<const std::string> entries);

  bool contains(const boost::asio::ip::address& addr) const;
  bool contains_v4(uint32_t addr) const;  // host byte order
  bool contains_v6(U128 addr) const;      // big-endian bytes as an integer

  bool empty() const { return v4_.empty() && v6_.empty(); }
  // Hash probes a lookup of an address of that family costs at most (the
  // distinct prefix lengths kept), for tests and benchmarks.
  size_t v4_groups() const { return v4_.size(); }
  size_t v6_groups() const { return v6_.size(); }

 private:
  struct Hash128 {
    size_t operator()(U128 v) const noexcept {
      const auto hi = static_cast<uint64_t>(v >> 64);
      const auto lo = static_cast<uint64_t>(v);
      return static_cast<size_t>(hi * 0x9e3779b97f4a7c15ull ^ lo);
    }
  };
  struct Group4 {
    uint8_t bits = 0;
    uint32_t mask = 0;
    boost::unordered_flat_set<uint32_t> nets;
  };
  struct Group6 {
    uint8_t bits = 0;
    U128 mask = 0;
    boost::unordered_flat_set<U128, Hash128> nets;
  };

  void add(const Cidr& c);

  std::vector<Group4> v4_;  // largest group first
  std::vector<Group6> v6_;
};

}  // namespace torii::router
