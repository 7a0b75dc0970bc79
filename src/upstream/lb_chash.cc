// Consistent hashing, ring-compatible with APISIX (lua-resty-balancer's
// chash): 160 points per unit of weight, point hashes chained with CRC32 from
// the node id "host\0port", and a key maps to the point with the greatest
// hash <= crc32(key) (the first point when the key hashes below them all).
// Same ring, same key -> same node as APISIX for the same nodes and weights.
//
// Exclusions (tried or unhealthy nodes) do not rebuild the ring: the pick
// walks on from the key's point to the next point of a non-excluded node, so
// keys of healthy nodes never move.
#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "upstream/lb_algorithms.h"

namespace torii::upstream {
namespace {

constexpr uint64_t kPointsPerWeight = 160;
// Weights summing above this are scaled down proportionally (each node keeps
// at least one unit), so a config with weights like 100000 cannot make every
// worker build a ring of hundreds of MB. Below it the ring is APISIX's.
constexpr uint64_t kMaxWeightUnits = 4096;

constexpr std::array<uint32_t, 256> make_crc32_table() {
  std::array<uint32_t, 256> table{};
  for (uint32_t n = 0; n < 256; ++n) {
    uint32_t c = n;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
    table[n] = c;
  }
  return table;
}

constexpr std::array<uint32_t, 256> kCrc32Table = make_crc32_table();

// Raw CRC32 register update, without the initial or final inversion: the
// ring chains point hashes through it exactly as lua-resty-balancer does.
uint32_t crc32_update(uint32_t crc, std::string_view bytes) {
  for (unsigned char b : bytes) crc = kCrc32Table[(crc ^ b) & 0xff] ^ (crc >> 8);
  return crc;
}

// APISIX names a node "host:port" (IPv6 hosts bracketed) and chash.lua turns
// every ':' into '\0' before hashing.
std::string ring_id(const NodeSpec& node) {
  std::string id;
  bool ipv6 = node.host.find(':') != std::string::npos;
  if (ipv6) id += '[';
  id += node.host;
  if (ipv6) id += ']';
  id += ':';
  id += std::to_string(node.port);
  std::replace(id.begin(), id.end(), ':', '\0');
  return id;
}

class ChashBalancer final : public Balancer {
 public:
  ChashBalancer(std::span<const NodeSpec> nodes, std::span<const int> members)
      : members_(members.begin(), members.end()) {
    uint64_t total_weight = 0;
    for (int i : members_)
      total_weight += static_cast<uint64_t>(nodes[static_cast<size_t>(i)].weight);

    std::vector<std::pair<uint32_t, int>> points;
    for (int i : members_) {
      const NodeSpec& node = nodes[static_cast<size_t>(i)];
      uint64_t weight = static_cast<uint64_t>(node.weight);
      if (total_weight > kMaxWeightUnits)
        weight = std::max<uint64_t>(1, weight * kMaxWeightUnits / total_weight);
      uint32_t base = crc32_ieee(ring_id(node));
      uint32_t prev = 0;
      for (uint64_t p = 0; p < weight * kPointsPerWeight; ++p) {
        const char le[4] = {static_cast<char>(prev & 0xff), static_cast<char>((prev >> 8) & 0xff),
                            static_cast<char>((prev >> 16) & 0xff),
                            static_cast<char>((prev >> 24) & 0xff)};
        uint32_t hash = crc32_update(base, std::string_view(le, 4)) ^ 0xffffffffu;
        points.emplace_back(hash, i);
        prev = hash;
      }
    }
    std::sort(points.begin(), points.end());
    hashes_.reserve(points.size());
    owners_.reserve(points.size());
    for (const auto& [hash, owner] : points) {
      hashes_.push_back(hash);
      owners_.push_back(owner);
    }
  }

  int pick(std::string_view hash_key, const ExcludeSet& exclude) override {
    if (hashes_.empty()) return -1;
    uint32_t hash = crc32_ieee(hash_key);
    auto above = std::upper_bound(hashes_.begin(), hashes_.end(), hash);
    size_t at = above == hashes_.begin() ? 0 : static_cast<size_t>(above - hashes_.begin()) - 1;
    int owner = owners_[at];
    if (!exclude.has(static_cast<size_t>(owner))) return owner;

    // Rare path (a retry, or an unhealthy node): make sure the walk ends.
    bool any = std::any_of(members_.begin(), members_.end(),
                           [&](int i) { return !exclude.has(static_cast<size_t>(i)); });
    if (!any) return -1;
    for (;;) {
      at = at + 1 == owners_.size() ? 0 : at + 1;
      owner = owners_[at];
      if (!exclude.has(static_cast<size_t>(owner))) return owner;
    }
  }

 private:
  std::vector<int> members_;
  std::vector<uint32_t> hashes_;  // sorted point hashes
  std::vector<int> owners_;       // node index of each point, parallel to hashes_
};

}  // namespace

uint32_t crc32_ieee(std::string_view bytes) {
  return crc32_update(0xffffffffu, bytes) ^ 0xffffffffu;
}

std::unique_ptr<Balancer> make_chash(std::span<const NodeSpec> nodes,
                                     std::span<const int> members) {
  return std::make_unique<ChashBalancer>(nodes, members);
}

}  // namespace torii::upstream
