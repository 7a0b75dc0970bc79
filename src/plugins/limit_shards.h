// The per-key state table of the limit-* plugins (limit-count's local
// store, limit-req, limit-conn) and api-breaker, and the clock they read.
//
// One mechanism for cross-worker state: a table split into shards by key
// hash, each shard a mutex and a hash map. A request locks one shard for a
// few hundred nanoseconds (no I/O, no allocation but a first insert), so
// every worker of a node sees one exact count, as APISIX's lua_shared_dict
// gives all nginx workers of a node. Entries that can no longer matter
// (expired windows, drained buckets, released connections) are dropped on
// the way: each shard sweeps itself when it has doubled since its last
// sweep, so memory follows the live key set.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace torii::plugins::limits {

// Milliseconds on a monotonic clock (window and bucket arithmetic), and
// seconds of wall time (api-breaker compares with ngx.time() semantics).
// Tests replace the source with set_clock_for_testing.
using ClockFn = int64_t (*)();
inline std::atomic<ClockFn>& clock_override() {
  static std::atomic<ClockFn> fn{nullptr};
  return fn;
}
inline int64_t now_ms() {
  if (ClockFn f = clock_override().load(std::memory_order_relaxed)) return f();
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
// Tests: every clock of these plugins reads `fn` (ms) instead; nullptr
// restores the real clock.
inline void set_clock_for_testing(ClockFn fn) { clock_override().store(fn); }

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

// A key -> V table shared by every worker thread. `with` runs `fn(V&, bool
// inserted)` under the shard lock; `fn` must be short and must not block.
// `sweep(now)` is asked of V (`bool expired(int64_t now_ms) const`) so
// dead entries go away.
template <class V, size_t kShards = 32>
class ShardedTable {
 public:
  template <class Fn>
  auto with(std::string_view key, Fn&& fn) {
    size_t h = StringHash{}(key);
    Shard& s = shards_[h % kShards];
    std::lock_guard lock(s.mu);
    if (s.map.size() >= s.sweep_at) sweep_locked(s);
    auto it = s.map.find(key);
    bool inserted = false;
    if (it == s.map.end()) {
      it = s.map.emplace(std::string(key), V{}).first;
      inserted = true;
    }
    return fn(it->second, inserted);
  }

  // Runs `fn(V&)` on an existing entry; false when there is none. `fn`
  // returns true to erase the entry afterwards.
  template <class Fn>
  bool update_existing(std::string_view key, Fn&& fn) {
    size_t h = StringHash{}(key);
    Shard& s = shards_[h % kShards];
    std::lock_guard lock(s.mu);
    auto it = s.map.find(key);
    if (it == s.map.end()) return false;
    if (fn(it->second)) s.map.erase(it);
    return true;
  }

  size_t size() {
    size_t n = 0;
    for (auto& s : shards_) {
      std::lock_guard lock(s.mu);
      n += s.map.size();
    }
    return n;
  }

 private:
  struct Shard {
    std::mutex mu;
    std::unordered_map<std::string, V, StringHash, std::equal_to<>> map;
    size_t sweep_at = 64;
  };

  static void sweep_locked(Shard& s) {
    int64_t now = now_ms();
    std::erase_if(s.map, [now](const auto& kv) { return kv.second.expired(now); });
    s.sweep_at = std::max<size_t>(64, s.map.size() * 2);
  }

  std::array<Shard, kShards> shards_;
};

}  // namespace torii::plugins::limits
