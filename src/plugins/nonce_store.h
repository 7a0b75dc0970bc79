// anti-replay's node-local nonce store: insert-if-absent with a TTL, shared
// by every worker thread of the node, bounded, never evicting a live entry.
//
// Mechanism (the one limit_shards.h uses for cross-worker state): the table
// is split into shards by key hash, each a mutex and a hash map from key to
// expiry. An operation locks one shard for a hash lookup (no I/O, one
// allocation on insert). Expiry is lazy: an expired entry counts as absent
// and is overwritten in place; a shard sweeps its expired entries when it
// has doubled since its last sweep, and every shard is swept once before
// an insert is refused as full. The bound is exact: at most `max_entries`
// entries exist at any time (an atomic count reserved before inserting).
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
  kFull,      // not seen, but the store holds max_entries live entries: not recorded
};

class LocalNonceStore {
 public:
  explicit LocalNonceStore(size_t max_entries) : max_entries_(max_entries) {}
  LocalNonceStore(const LocalNonceStore&) = delete;
  LocalNonceStore& operator=(const LocalNonceStore&) = delete;

  // Records `key` for `ttl_seconds` (>= 1) unless a live entry has it. Any
  // thread; atomic per key (two requests with one nonce: one kFresh).
  Outcome insert(std::string_view key, int64_t ttl_seconds);
  // True when a live entry has `key`. Any thread.
  bool contains(std::string_view key);
  // A new bound (a conf change); entries over it stay until they expire.
  void set_max_entries(size_t max_entries) { max_entries_.store(max_entries); }
  size_t max_entries() const { return max_entries_.load(); }
  // Entries held, expired ones not yet swept included. Any thread.
  size_t size() const { return count_.load(); }

 private:
  static constexpr size_t kShards = 32;
  struct Shard {
    std::mutex mu;
    std::unordered_map<std::string, int64_t, limits::StringHash, std::equal_to<>> expiry_ms;
    size_t sweep_at = 64;
  };

  // Drops the shard's expired entries (its mutex held).
  void sweep_locked(Shard& s, int64_t now);
  void sweep_all(int64_t now);
  // Adds `key` under the shard lock; false when the bound is reached.
  bool try_add_locked(Shard& s, std::string_view key, int64_t expiry);

  std::array<Shard, kShards> shards_;
  std::atomic<size_t> max_entries_;
  std::atomic<size_t> count_{0};
};

// The local store of the anti-replay conf owned by `owner_key` (a route,
// service or global rule), created on first use. Instances that replace
// one another for one owner (a conf change) share the store, so a conf
// change does not forget the nonces already seen; it lives while an
// instance holds it. `max_entries` becomes its bound. Any thread.
std::shared_ptr<LocalNonceStore> local_store_for(std::string_view owner_key, size_t max_entries);

}  // namespace torii::plugins::nonce
