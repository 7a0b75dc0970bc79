// Internal constructors of the load-balancing algorithms (one per lb_*.cc)
// and of the priority-group wrapper. Only balancer.cc and lb_priority.cc use
// this header; the rest of the code goes through make_balancer() in
// balancer.h.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "upstream/balancer.h"

namespace torii::upstream {

// Every constructor below takes the full node list of the upstream plus
// `members`: the indices into `nodes` this instance balances over (one
// priority group, nodes of weight 0 already left out). The node list is read
// during construction only. pick() returns indices into `nodes`;
// on_start/on_finish take such indices and ignore any that are not members.
std::unique_ptr<Balancer> make_roundrobin(std::span<const NodeSpec> nodes,
                                          std::span<const int> members);
std::unique_ptr<Balancer> make_chash(std::span<const NodeSpec> nodes, std::span<const int> members);
std::unique_ptr<Balancer> make_least_conn(std::span<const NodeSpec> nodes,
                                          std::span<const int> members);
std::unique_ptr<Balancer> make_ewma(std::span<const NodeSpec> nodes, std::span<const int> members);

// CRC32 (IEEE 802.3, as zlib and ngx.crc32_long): the hash of chash keys and
// node ids, fixed by APISIX ring compatibility.
uint32_t crc32_ieee(std::string_view bytes);

// Dispatches to one of the four constructors above.
std::unique_ptr<Balancer> make_algorithm(BalancerType type, std::span<const NodeSpec> nodes,
                                         std::span<const int> members);

// Wraps one algorithm instance per group. `groups` are ordered from the
// highest priority to the lowest; pick() asks each in turn and returns the
// first node found.
std::unique_ptr<Balancer> make_priority_groups(BalancerType type, std::span<const NodeSpec> nodes,
                                               const std::vector<std::vector<int>>& groups);

// Maps a node index to its position in `members`, -1 for non-members, so
// on_start/on_finish find a node's state in O(1).
inline std::vector<int> slots_by_node(size_t node_count, std::span<const int> members) {
  std::vector<int> slots(node_count, -1);
  for (size_t s = 0; s < members.size(); ++s)
    slots[static_cast<size_t>(members[s])] = static_cast<int>(s);
  return slots;
}

// Slot of node `i`, or -1 when `i` is out of range or not a member.
inline int slot_of(const std::vector<int>& slots, int i) {
  if (i < 0 || static_cast<size_t>(i) >= slots.size()) return -1;
  return slots[static_cast<size_t>(i)];
}

}  // namespace torii::upstream
