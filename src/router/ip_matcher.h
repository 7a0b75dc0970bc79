// A set of IPv4/IPv6 addresses and CIDR ranges with a membership test.
// Used by route `remote_addrs`, the `ipmatch` vars operator and, later,
// ip-restriction; built once, read concurrently.
#pragma once

#include <boost/asio/ip/address.hpp>
#include <span>
#include <string>
#include <vector>

#include "core/result.h"

namespace torii::router {

class IpMatcher {
 public:
  // Accepts "1.2.3.4", "1.2.3.0/24", "::1", "fe80::/10". An error names the
  // bad entry: `invalid ip address: "1.2.3"`.
  static core::Result<IpMatcher> build(std::span<const std::string> entries);
  bool contains(const boost::asio::ip::address& addr) const;
  bool empty() const { return v4_.empty() && v6_.empty(); }

 private:
  struct Range4 { uint32_t lo, hi; };
  struct Range6 { unsigned __int128 lo, hi; };
  std::vector<Range4> v4_;  // sorted, merged
  std::vector<Range6> v6_;  // sorted, merged
};

}  // namespace torii::router
