#include "plugins/nonce_store.h"

#include <map>

namespace torii::plugins::nonce {

bool LocalNonceStore::reserve(NonceQuota& quota) {
  // Reserve first: the bound holds under any interleaving.
  if (quota.count_.fetch_add(1) >= quota.max_entries_.load()) {
    quota.count_.fetch_sub(1);
    return false;
  }
  return true;
}

Outcome LocalNonceStore::insert(std::string_view key, int64_t ttl_seconds,
                                const std::shared_ptr<NonceQuota>& quota) {
  const int64_t now = limits::now_ms();
  const int64_t expiry = now + std::max<int64_t>(1, ttl_seconds) * 1000;
  Shard& s = shards_[limits::StringHash{}(key) % kShards];
  for (int attempt = 0; attempt < 2; ++attempt) {
    {
      std::lock_guard lock(s.mu);
      auto it = s.entries.find(key);
      if (it != s.entries.end() && it->second.expiry_ms > now) return Outcome::kReplayed;
      if (s.entries.size() >= s.sweep_at) {
        sweep_locked(s, now);
        it = s.entries.find(key);  // the sweep may have dropped it (expired)
      }
      if (reserve(*quota)) {
        if (it != s.entries.end()) {  // an expired entry: reuse its slot, move its count
          it->second.quota->count_.fetch_sub(1);
          it->second = Entry{expiry, quota};
        } else {
          s.entries.emplace(std::string(key), Entry{expiry, quota});
          count_.fetch_add(1);
        }
        return Outcome::kFresh;
      }
    }
    // Full: expired entries of this quota in other shards may still count.
    // Sweep them all (one shard lock at a time) and try once more, at most
    // once per kFullSweepEveryMs: requests refused while a quota stays full
    // must not each scan the whole node table.
    if (attempt > 0 || !claim_full_sweep(now)) break;
    sweep_all(now);
  }
  return Outcome::kFull;
}

bool LocalNonceStore::claim_full_sweep(int64_t now) {
  int64_t next = next_full_sweep_ms_.load();
  return now >= next && next_full_sweep_ms_.compare_exchange_strong(next, now + kFullSweepEveryMs);
}

bool LocalNonceStore::contains(std::string_view key) {
  const int64_t now = limits::now_ms();
  Shard& s = shards_[limits::StringHash{}(key) % kShards];
  std::lock_guard lock(s.mu);
  auto it = s.entries.find(key);
  return it != s.entries.end() && it->second.expiry_ms > now;
}

void LocalNonceStore::sweep_locked(Shard& s, int64_t now) {
  const size_t erased = std::erase_if(s.entries, [now](const auto& kv) {
    if (kv.second.expiry_ms > now) return false;
    kv.second.quota->count_.fetch_sub(1);
    return true;
  });
  count_.fetch_sub(erased);
  s.sweep_at = std::max<size_t>(64, s.entries.size() * 2);
}

void LocalNonceStore::sweep_all(int64_t now) {
  for (Shard& s : shards_) {
    std::lock_guard lock(s.mu);
    sweep_locked(s, now);
  }
}

LocalNonceStore& node_store() {
  static LocalNonceStore store;
  return store;
}

std::shared_ptr<NonceQuota> quota_for(std::string_view owner_key, size_t max_entries) {
  static std::mutex mu;
  static std::map<std::string, std::weak_ptr<NonceQuota>, std::less<>> quotas;
  std::lock_guard lock(mu);
  std::erase_if(quotas, [](const auto& kv) { return kv.second.expired(); });
  auto it = quotas.find(owner_key);
  if (it != quotas.end()) {
    if (auto quota = it->second.lock()) {
      quota->set_max_entries(max_entries);
      return quota;
    }
  }
  auto quota = std::make_shared<NonceQuota>(max_entries);
  quotas[std::string(owner_key)] = quota;
  return quota;
}

}  // namespace torii::plugins::nonce
