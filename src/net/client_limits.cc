#include "net/client_limits.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>

namespace torii::net {

namespace {

constexpr int64_t kSweepEveryNs = 100'000'000;  // at most one full-shard sweep per 100 ms

int64_t ns(ClientLimiter::Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

int64_t ns(std::chrono::milliseconds d) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
}

uint64_t mix(uint64_t x) {
  // splitmix64's finaliser: every input bit moves every output bit.
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  x ^= x >> 31;
  return x;
}

uint64_t random_seed() {
  std::random_device rd;
  return (static_cast<uint64_t>(rd()) << 32) ^ rd();
}

}  // namespace

std::string_view refusal_name(ClientRefusal r) {
  switch (r) {
    case ClientRefusal::kNone:
      return "none";
    case ClientRefusal::kConnections:
      return "connections";
    case ClientRefusal::kConnectionsPerIp:
      return "connections_per_ip";
    case ClientRefusal::kRate:
      return "rate";
    case ClientRefusal::kBanned:
      return "banned";
  }
  return "none";
}

ClientKey client_key(const boost::asio::ip::address& ip) {
  ClientKey k;
  if (ip.is_v4()) {
    const auto v6 = boost::asio::ip::make_address_v6(boost::asio::ip::v4_mapped, ip.to_v4());
    k.bytes = v6.to_bytes();
  } else {
    k.bytes = ip.to_v6().to_bytes();
  }
  return k;
}

size_t ClientLimiter::KeyHash::operator()(const ClientKey& k) const {
  uint64_t lo, hi;
  std::memcpy(&lo, k.bytes.data(), 8);
  std::memcpy(&hi, k.bytes.data() + 8, 8);
  // Seeded per process: clients cannot pick addresses that share a shard.
  return static_cast<size_t>(mix(lo ^ seed) ^ mix(hi + seed));
}

ClientLimiter::ClientLimiter(const ClientLimitSettings& settings)
    : seed_(random_seed()), shards_(std::make_unique<Shard[]>(kShards)) {
  for (size_t i = 0; i < kShards; ++i) {
    shards_[i].map = boost::unordered_flat_map<ClientKey, Entry, KeyHash>(0, KeyHash{seed_});
  }
  configure(settings);
}

ClientLimiter::~ClientLimiter() = default;

void ClientLimiter::configure(const ClientLimitSettings& s) {
  constexpr auto r = std::memory_order_relaxed;
  max_connections_.store(s.max_connections, r);
  max_per_ip_.store(s.max_connections_per_ip, r);
  int64_t interval = 0;
  if (s.requests_per_second_per_ip > 0 && std::isfinite(s.requests_per_second_per_ip)) {
    interval = std::max<int64_t>(1, std::llround(1e9 / s.requests_per_second_per_ip));
  }
  interval_ns_.store(interval, r);
  burst_.store(s.burst, r);
  ban_after_.store(s.ban_after_violations, r);
  ban_within_ns_.store(ns(s.ban_within), r);
  ban_duration_ns_.store(ns(s.ban_duration), r);
  shard_cap_.store(std::max<size_t>(1, (s.max_tracked_ips + kShards - 1) / kShards), r);
}

uint32_t ClientLimiter::shard_of(const ClientKey& k) const {
  // The top bits: the map uses the low ones.
  return static_cast<uint32_t>(KeyHash{seed_}(k) >> 58) % kShards;
}

bool ClientLimiter::idle(const Entry& e, int64_t now) const {
  return e.connections == 0 && e.tat <= now && e.banned_until <= now &&
         (e.violations == 0 ||
          now - e.window_start > ban_within_ns_.load(std::memory_order_relaxed));
}

ClientLimiter::Entry* ClientLimiter::find_or_add(Shard& s, const ClientKey& k, int64_t now) {
  auto it = s.map.find(k);
  if (it != s.map.end()) return &it->second;
  const size_t cap = shard_cap_.load(std::memory_order_relaxed);
  if (s.map.size() >= cap) {
    if (now < s.next_sweep) return nullptr;
    s.next_sweep = now + kSweepEveryNs;
    boost::unordered::erase_if(s.map, [&](const auto& kv) { return idle(kv.second, now); });
    if (s.map.size() >= cap) return nullptr;
  }
  return &s.map.try_emplace(k).first->second;
}

bool ClientLimiter::violate(Entry& e, int64_t now) {
  const uint32_t after = ban_after_.load(std::memory_order_relaxed);
  if (after == 0) return false;
  if (e.violations == 0 || now - e.window_start > ban_within_ns_.load(std::memory_order_relaxed)) {
    e.violations = 0;
    e.window_start = now;
  }
  if (++e.violations < after) return false;
  e.violations = 0;
  e.banned_until = now + ban_duration_ns_.load(std::memory_order_relaxed);
  return true;
}

ClientLimiter::Admission ClientLimiter::admit(const boost::asio::ip::address& ip,
                                              Clock::time_point now) {
  constexpr auto r = std::memory_order_relaxed;
  Admission a;
  // Counted first, undone if refused: the cap holds exactly under races.
  const uint64_t before = open_.fetch_add(1, r);
  const uint64_t max_conn = max_connections_.load(r);
  const bool over_global = max_conn > 0 && before >= max_conn;
  const uint32_t max_ip = max_per_ip_.load(r);
  if (max_ip > 0 || interval_ns_.load(r) > 0) {
    const int64_t t = ns(now);
    const ClientKey key = client_key(ip);
    const uint32_t shard = shard_of(key);
    Shard& s = shards_[shard];
    std::lock_guard lock(s.mu);
    Entry* e = find_or_add(s, key, t);
    if (!e) {
      a.untracked_ = true;
    } else if (e->banned_until > t) {
      a.refusal_ = ClientRefusal::kBanned;
    } else if (max_ip > 0 && e->connections >= max_ip) {
      a.refusal_ = ClientRefusal::kConnectionsPerIp;
      a.ban_started_ = violate(*e, t);
    } else if (!over_global) {
      ++e->connections;
      a.per_ip_ = true;
      a.key_ = key;
      a.shard_ = shard;
    }
  }
  if (a.refusal_ == ClientRefusal::kNone && over_global) a.refusal_ = ClientRefusal::kConnections;
  if (a.refusal_ != ClientRefusal::kNone) {
    open_.fetch_sub(1, r);
    return a;
  }
  a.global_ = true;
  a.limiter_ = this;
  return a;
}

ClientLimiter::Verdict ClientLimiter::check_request(const boost::asio::ip::address& ip,
                                                    Clock::time_point now) {
  constexpr auto r = std::memory_order_relaxed;
  Verdict v;
  const int64_t interval = interval_ns_.load(r);
  if (interval <= 0) return v;
  const int64_t t = ns(now);
  const ClientKey key = client_key(ip);
  Shard& s = shards_[shard_of(key)];
  std::lock_guard lock(s.mu);
  Entry* e = find_or_add(s, key, t);
  if (!e) return v;  // no room: served without per-IP limits, as at accept
  if (e->banned_until > t) {
    v.refusal = ClientRefusal::kBanned;
    v.retry_after = std::chrono::nanoseconds(e->banned_until - t);
    return v;
  }
  const int64_t tolerance = static_cast<int64_t>(burst_.load(r)) * interval;
  const int64_t tat = std::max(e->tat, t);
  if (tat - t > tolerance) {
    v.refusal = ClientRefusal::kRate;
    v.retry_after = std::chrono::nanoseconds(tat - t - tolerance);
    v.ban_started = violate(*e, t);
    if (v.ban_started) {
      v.retry_after = std::chrono::nanoseconds(e->banned_until - t);
    }
    return v;
  }
  e->tat = tat + interval;
  return v;
}

void ClientLimiter::release(const Admission& a) {
  if (a.per_ip_) {
    Shard& s = shards_[a.shard_];
    std::lock_guard lock(s.mu);
    // An entry with connections is never dropped, so it is there.
    auto it = s.map.find(a.key_);
    if (it != s.map.end() && it->second.connections > 0) --it->second.connections;
  }
  if (a.global_) open_.fetch_sub(1, std::memory_order_relaxed);
}

size_t ClientLimiter::tracked_ips() const {
  size_t n = 0;
  for (size_t i = 0; i < kShards; ++i) {
    std::lock_guard lock(shards_[i].mu);
    n += shards_[i].map.size();
  }
  return n;
}

size_t ClientLimiter::banned_ips(Clock::time_point now) const {
  const int64_t t = ns(now);
  size_t n = 0;
  for (size_t i = 0; i < kShards; ++i) {
    std::lock_guard lock(shards_[i].mu);
    for (const auto& kv : shards_[i].map) n += kv.second.banned_until > t ? 1 : 0;
  }
  return n;
}

void ClientLimiter::Admission::release() {
  if (limiter_) limiter_->release(*this);
  limiter_ = nullptr;
}

void ClientLimiter::Admission::take(Admission& o) {
  limiter_ = o.limiter_;
  key_ = o.key_;
  shard_ = o.shard_;
  global_ = o.global_;
  per_ip_ = o.per_ip_;
  untracked_ = o.untracked_;
  ban_started_ = o.ban_started_;
  refusal_ = o.refusal_;
  o.limiter_ = nullptr;
}

}  // namespace torii::net
