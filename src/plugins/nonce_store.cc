#include "plugins/nonce_store.h"

#include <map>

namespace torii::plugins::nonce {

Outcome LocalNonceStore::insert(std::string_view key, int64_t ttl_seconds) {
  const int64_t now = limits::now_ms();
  const int64_t expiry = now + std::max<int64_t>(1, ttl_seconds) * 1000;
  Shard& s = shards_[limits::StringHash{}(key) % kShards];
  for (int attempt = 0; attempt < 2; ++attempt) {
    {
      std::lock_guard lock(s.mu);
      auto it = s.expiry_ms.find(key);
      if (it != s.expiry_ms.end()) {
        if (it->second > now) return Outcome::kReplayed;
        it->second = expiry;  // an expired entry: reuse its slot
        return Outcome::kFresh;
      }
      if (try_add_locked(s, key, expiry)) return Outcome::kFresh;
    }
    // Full: expired entries of other shards may still count. Sweep them
    // all (one shard lock at a time) and try once more.
    if (attempt == 0) sweep_all(now);
  }
  return Outcome::kFull;
}

bool LocalNonceStore::contains(std::string_view key) {
  const int64_t now = limits::now_ms();
  Shard& s = shards_[limits::StringHash{}(key) % kShards];
  std::lock_guard lock(s.mu);
  auto it = s.expiry_ms.find(key);
  return it != s.expiry_ms.end() && it->second > now;
}

bool LocalNonceStore::try_add_locked(Shard& s, std::string_view key, int64_t expiry) {
  if (s.expiry_ms.size() >= s.sweep_at) sweep_locked(s, limits::now_ms());
  // Reserve a slot first: the bound holds under any interleaving.
  if (count_.fetch_add(1) >= max_entries_.load()) {
    count_.fetch_sub(1);
    return false;
  }
  s.expiry_ms.emplace(std::string(key), expiry);
  return true;
}

void LocalNonceStore::sweep_locked(Shard& s, int64_t now) {
  const size_t erased =
      std::erase_if(s.expiry_ms, [now](const auto& kv) { return kv.second <= now; });
  count_.fetch_sub(erased);
  s.sweep_at = std::max<size_t>(64, s.expiry_ms.size() * 2);
}

void LocalNonceStore::sweep_all(int64_t now) {
  for (Shard& s : shards_) {
    std::lock_guard lock(s.mu);
    sweep_locked(s, now);
  }
}

std::shared_ptr<LocalNonceStore> local_store_for(std::string_view owner_key, size_t max_entries) {
  static std::mutex mu;
  static std::map<std::string, std::weak_ptr<LocalNonceStore>, std::less<>> stores;
  std::lock_guard lock(mu);
  std::erase_if(stores, [](const auto& kv) { return kv.second.expired(); });
  auto it = stores.find(owner_key);
  if (it != stores.end()) {
    if (auto store = it->second.lock()) {
      store->set_max_entries(max_entries);
      return store;
    }
  }
  auto store = std::make_shared<LocalNonceStore>(max_entries);
  stores[std::string(owner_key)] = store;
  return store;
}

}  // namespace torii::plugins::nonce
