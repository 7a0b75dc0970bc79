// anti-replay's node-local nonce store: insert-if-absent with a TTL, one
// table for the node shared by every worker thread, bounded per owning conf,
// never evicting a live entry.
//
// Mechanism (the one limit_shards.h uses for cross-worker state): the table
// is split into shards by key hash, each a mutex and a hash map from key to
// expiry. An operation locks one shard for a hash lookup (no I/O, one
// allocation on insert). Expiry is lazy: an expired entry counts as absent
// and is overwritten in place; a shard sweeps its expired entries when it
// has doubled since its last sweep, and every shard is swept (at most every
// 100 ms) before an insert is refused as full. The bound is exact: at most a quota's
// `max_entries` entries recorded through it exist at any time (an atomic
// count reserved before inserting).
// On overflow new nonces are refused (kFull: the plugin answers 503) rather
// than evicting anything, since eviction would reopen a replay.
//
// Clock: limits::now_ms() (monotonic; tests replace it with
// limits::set_clock_for_testing).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "plugins/limit_shards.h"

namespace torii::plugins::nonce {

enum class Outcome : uint8_t {
  kFresh,     // not seen within its TTL: recorded now
  kReplayed,  // a live entry has this key: nothing changed
  kFull,      // not seen, but the quota holds max_entries live entries: not recorded
};

// One owner's share of the table (a route's, service's or global rule's
// anti-replay conf, `local_max_entries`): at most `max_entries` live
// entries recorded through it. Entries keep their quota alive until they
// are swept, so a replaced conf's entries still count where they were made.
class NonceQuota {
 public:
  explicit NonceQuota(size_t max_entries) : max_entries_(max_entries) {}
  // A new bound (a conf change); entries over it stay until they expire.
  void set_max_entries(size_t max_entries) { max_entries_.store(max_entries); }
  size_t max_entries() const { return max_entries_.load(); }
  // Entries recorded through this quota, expired ones not yet swept included.
  size_t size() const { return count_.load(); }

 private:
  friend class LocalNonceStore;
  std::atomic<size_t> max_entries_;
  std::atomic<size_t> count_{0};
};

class LocalNonceStore {
 public:
  LocalNonceStore() = default;
  LocalNonceStore(const LocalNonceStore&) = delete;
  LocalNonceStore& operator=(const LocalNonceStore&) = delete;

  // Records `key` for `ttl_seconds` (>= 1), counted against `quota`, unless
  // a live entry has it (whichever quota recorded it). Any thread; atomic
  // per key (two requests with one nonce: one kFresh).
  Outcome insert(std::string_view key, int64_t ttl_seconds,
                 const std::shared_ptr<NonceQuota>& quota);
  // True when a live entry has `key`. Any thread.
  bool contains(std::string_view key);
  // Entries held, expired ones not yet swept included. Any thread.
  size_t size() const { return count_.load(); }

 private:
  static constexpr size_t kShards = 32;
  struct Entry {
    int64_t expiry_ms = 0;
    std::shared_ptr<NonceQuota> quota;
  };
  struct Shard {
    std::mutex mu;
    std::unordered_map<std::string, Entry, limits::StringHash, std::equal_to<>> entries;
    size_t sweep_at = 64;
  };

  // Drops the shard's expired entries (its mutex held).
  void sweep_locked(Shard& s, int64_t now);
  void sweep_all(int64_t now);
  // True for the one caller that may run sweep_all() now (rate-limited).
  bool claim_full_sweep(int64_t now);
  static constexpr int64_t kFullSweepEveryMs = 100;
  // Reserves one entry of `quota`; false when it is full.
  static bool reserve(NonceQuota& quota);

  std::array<Shard, kShards> shards_;
  std::atomic<size_t> count_{0};
  std::atomic<int64_t> next_full_sweep_ms_{0};
};

// The node's table, one for every anti-replay conf: a nonce is spent for
// its key on the whole node, as the Redis policy's keys are on every node
// (a nonce used on one route is a replay on another).
LocalNonceStore& node_store();

// The quota of the anti-replay conf owned by `owner_key` (a route, service
// or global rule), created on first use. Instances that replace one another
// for one owner (a conf change) share it; it lives while an instance or an
// entry holds it. `max_entries` becomes its bound. Any thread.
std::shared_ptr<NonceQuota> quota_for(std::string_view owner_key, size_t max_entries);

}  // namespace torii::plugins::nonce
