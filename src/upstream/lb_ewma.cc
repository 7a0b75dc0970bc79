// Peak-EWMA of upstream latency with power-of-two choices, after APISIX's
// balancer/ewma.lua (itself from Finagle's PeakEwma): two distinct random
// candidates, the lower cost wins, cost = latency estimate * (active + 1).
// The estimate jumps up to any slower sample at once (peak) and otherwise
// decays toward recent samples with a 10 s time constant; when a node is not
// used its estimate decays toward 0 so it gets probed again. A failed attempt
// counts as a very slow sample. Weights other than 0 are ignored, as in APISIX.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <memory>
#include <vector>

#include "upstream/lb_algorithms.h"

namespace torii::upstream {
namespace {

using Clock = std::chrono::steady_clock;

constexpr double kDecayNs = 10e9;  // APISIX DECAY_TIME, 10 s
// A failure (refused, reset, timeout) must never make a node look faster,
// even when it failed in a millisecond.
constexpr double kFailureFloorNs = 1e9;
// A node with requests in flight but no sample yet might be hanging: make it
// expensive so a burst does not pile onto it before its first answer.
constexpr double kUnsampledBusyNs = 1e9;

class EwmaBalancer final : public Balancer {
 public:
  EwmaBalancer(std::span<const NodeSpec> nodes, std::span<const int> members)
      : slots_(slots_by_node(nodes.size(), members)),
        rng_(static_cast<uint64_t>(Clock::now().time_since_epoch().count()) ^
             reinterpret_cast<uintptr_t>(this)) {
    peers_.reserve(members.size());
    for (int i : members) peers_.push_back(Peer{i});
  }

  int pick(std::string_view /*hash_key*/, const ExcludeSet& exclude) override {
    size_t n = peers_.size();
    if (n == 0) return -1;
    if (n == 1) return exclude.has(static_cast<size_t>(peers_[0].node)) ? -1 : peers_[0].node;

    // First attempts exclude nothing: draw among all peers directly.
    size_t a = uniform(n);
    size_t b = uniform(n - 1);
    if (b >= a) ++b;
    if (excluded(a, exclude) || excluded(b, exclude)) {
      size_t eligible = 0;
      for (size_t s = 0; s < n; ++s) eligible += excluded(s, exclude) ? 0 : 1;
      if (eligible == 0) return -1;
      size_t first = nth_eligible(uniform(eligible), exclude);
      if (eligible == 1) return peers_[first].node;
      size_t second_rank = uniform(eligible - 1);
      // Ranks of the two draws among eligible peers must differ.
      size_t first_rank = rank_of(first, exclude);
      if (second_rank >= first_rank) ++second_rank;
      a = first;
      b = nth_eligible(second_rank, exclude);
    }
    int64_t now = now_ns();
    return cost(peers_[a], now) <= cost(peers_[b], now) ? peers_[a].node : peers_[b].node;
  }

  void on_start(int i) override {
    int slot = slot_of(slots_, i);
    if (slot >= 0) ++peers_[static_cast<size_t>(slot)].active;
  }

  void on_finish(int i, std::chrono::nanoseconds latency, bool failed) override {
    int slot = slot_of(slots_, i);
    if (slot < 0) return;
    Peer& peer = peers_[static_cast<size_t>(slot)];
    if (peer.active > 0) --peer.active;

    int64_t now = now_ns();
    double rtt = std::max(0.0, static_cast<double>(latency.count()));
    double current = peer.sampled ? decayed(peer, now) : 0.0;
    if (failed) rtt = std::max({rtt, kFailureFloorNs, 2 * current});
    if (!peer.sampled || rtt > peer.ewma) {
      peer.ewma = rtt;
    } else {
      double w =
          std::exp(-static_cast<double>(std::max<int64_t>(0, now - peer.touched_ns)) / kDecayNs);
      peer.ewma = peer.ewma * w + rtt * (1.0 - w);
    }
    peer.sampled = true;
    peer.touched_ns = now;
  }

 private:
  struct Peer {
    int node;
    uint32_t active = 0;
    bool sampled = false;  // at least one on_finish seen
    double ewma = 0;       // latency estimate, ns, as of touched_ns
    int64_t touched_ns = 0;
  };

  static int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
        .count();
  }

  // The estimate decayed toward 0 for the time since the last sample.
  static double decayed(const Peer& peer, int64_t now) {
    double idle = static_cast<double>(std::max<int64_t>(0, now - peer.touched_ns));
    return peer.ewma * std::exp(-idle / kDecayNs);
  }

  static double cost(const Peer& peer, int64_t now) {
    if (!peer.sampled) return kUnsampledBusyNs * peer.active;
    return decayed(peer, now) * (peer.active + 1);
  }

  bool excluded(size_t slot, const ExcludeSet& exclude) const {
    return exclude.has(static_cast<size_t>(peers_[slot].node));
  }

  size_t nth_eligible(size_t rank, const ExcludeSet& exclude) const {
    for (size_t s = 0;; ++s) {
      if (excluded(s, exclude)) continue;
      if (rank == 0) return s;
      --rank;
    }
  }

  size_t rank_of(size_t slot, const ExcludeSet& exclude) const {
    size_t rank = 0;
    for (size_t s = 0; s < slot; ++s) rank += excluded(s, exclude) ? 0 : 1;
    return rank;
  }

  // splitmix64: fast, and good enough for choosing candidates.
  uint64_t next_random() {
    uint64_t z = (rng_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }

  // Uniform in [0, bound), bound > 0 (Lemire's multiply-shift).
  size_t uniform(size_t bound) {
    return static_cast<size_t>((static_cast<unsigned __int128>(next_random()) * bound) >> 64);
  }

  std::vector<Peer> peers_;
  std::vector<int> slots_;  // node index -> position in peers_
  uint64_t rng_;
};

}  // namespace

std::unique_ptr<Balancer> make_ewma(std::span<const NodeSpec> nodes, std::span<const int> members) {
  return std::make_unique<EwmaBalancer>(nodes, members);
}

}  // namespace torii::upstream
