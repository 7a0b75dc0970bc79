// The listener's abuse limits, shared by every worker of the node and
// applied before routing: a node-wide cap on open client connections, a cap
// per client IP, a request rate per client IP, and temporary bans of IPs
// that keep going over them (the model: nginx limit_conn / limit_req zones,
// Envoy's connection limits). Settings: client_limit_settings.h.
//
// Mechanism (one per kind, DESIGN.md): the node-wide count is one atomic;
// per-IP state lives in kShards hash maps, the shard picked by a seeded hash
// of the IP, each behind its own mutex. So the limits are exact per node,
// whichever worker accepted a connection. Costs: accepting takes one shard
// lock (none when no per-IP limit is on) and one atomic add; closing the
// same again; a request takes one shard lock only when the rate limit is on.
//
// Keys: an IPv4 address and its v4-mapped IPv6 form are one client; IPv6
// addresses are keyed whole (128 bits).
//
// Rate: GCRA, the leaky bucket of nginx limit_req with `nodelay`: a client
// may send `burst` + 1 requests at once, then one per 1/rate seconds;
// requests past that are refused, never delayed.
//
// Bans: every per-IP refusal (connection cap or rate) is a violation; the
// `ban_after_violations`-th within `ban_within` of the first bans the IP for
// `ban_duration`: its new connections are refused at accept and, with the
// rate limit on, its requests on open connections are refused too. Refusals
// by the node-wide cap are not the IP's fault and are no violation.
//
// Memory: an entry is idle when the IP has no connection, a full bucket, no
// ban and no violation window open. Idle entries are dropped only when a
// shard is full (about max_tracked_ips / kShards entries), at most every
// 100 ms per shard; an IP that finds no room is admitted without per-IP
// limits (the node-wide cap still applies) rather than refused, so filling
// the table cannot lock legitimate clients out.
//
// Time: steady-clock points passed by the caller (workers pass
// core::coarse_now()), so tests drive the clock.
// Threading: every method may be called on any thread.
#pragma once

#include <array>
#include <atomic>
#include <boost/asio/ip/address.hpp>
#include <boost/unordered/unordered_flat_map.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string_view>

#include "net/client_limit_settings.h"

namespace torii::net {

// Why a connection or request was refused; kNone: admitted.
enum class ClientRefusal : uint8_t {
  kNone,
  kConnections,       // the node-wide max_connections is reached
  kConnectionsPerIp,  // the IP has max_connections_per_ip open
  kRate,              // the IP is over requests_per_second_per_ip + burst
  kBanned,            // the IP is banned
};

// "connections", "connections_per_ip", "rate", "banned" (metric labels).
std::string_view refusal_name(ClientRefusal r);

// A client IP as 16 bytes (IPv4 as v4-mapped IPv6).
struct ClientKey {
  std::array<uint8_t, 16> bytes{};
  bool operator==(const ClientKey&) const = default;
};
ClientKey client_key(const boost::asio::ip::address& ip);

class ClientLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr size_t kShards = 64;

  explicit ClientLimiter(const ClientLimitSettings& settings);
  ~ClientLimiter();
  ClientLimiter(const ClientLimiter&) = delete;
  ClientLimiter& operator=(const ClientLimiter&) = delete;

  // New limits for connections accepted and requests started afterwards
  // (SIGHUP). Connections open before a per-IP limit was turned on are not
  // counted against it.
  void configure(const ClientLimitSettings& settings);

  // admit()'s answer. An admitted one counts its connection against the
  // limits until it is destroyed (which takes the shard lock once); it must
  // not outlive the limiter. Default-constructed: admitted, counted nowhere.
  class Admission {
   public:
    Admission() = default;
    ~Admission() { release(); }
    Admission(Admission&& o) noexcept { take(o); }
    Admission& operator=(Admission&& o) noexcept {
      if (this != &o) {
        release();
        take(o);
      }
      return *this;
    }
    explicit operator bool() const { return refusal_ == ClientRefusal::kNone; }
    ClientRefusal refusal() const { return refusal_; }
    // This refusal started a ban of the IP.
    bool ban_started() const { return ban_started_; }
    // Admitted without per-IP limits: the IP table had no room.
    bool untracked() const { return untracked_; }

   private:
    friend class ClientLimiter;
    void release();
    void take(Admission& o);
    ClientLimiter* limiter_ = nullptr;
    ClientKey key_;
    uint32_t shard_ = 0;
    bool global_ = false;  // counted in the node-wide count
    bool per_ip_ = false;  // counted in the IP's entry
    bool untracked_ = false;
    bool ban_started_ = false;
    ClientRefusal refusal_ = ClientRefusal::kNone;
  };

  // Accept time, before anything is read from the connection from `ip`.
  // Refused: nothing stays counted (a per-IP refusal is a violation). `ip`
  // is only looked at when per_ip() is true.
  Admission admit(const boost::asio::ip::address& ip, Clock::time_point now);
  // Whether any per-IP limit is on (admit() needs the peer address).
  bool per_ip() const {
    return max_per_ip_.load(std::memory_order_relaxed) > 0 || limits_requests();
  }

  // Whether check_request() can refuse anything (the rate limit is on).
  // One relaxed load: callers skip check_request() when false.
  bool limits_requests() const { return interval_ns_.load(std::memory_order_relaxed) > 0; }

  struct Verdict {
    ClientRefusal refusal = ClientRefusal::kNone;
    bool ban_started = false;
    Clock::duration retry_after{};  // when refused: until the next request could pass
  };
  // Request time: whether a request (head parsed) from `ip` may go on; an
  // allowed one uses up its place in the IP's rate.
  Verdict check_request(const boost::asio::ip::address& ip, Clock::time_point now);

  // Figures, any thread: connections counted now (node-wide); IPs in the
  // table; IPs banned at `now` (scans every shard).
  uint64_t open_connections() const { return open_.load(std::memory_order_relaxed); }
  size_t tracked_ips() const;
  size_t banned_ips(Clock::time_point now) const;

 private:
  struct Entry {
    uint32_t connections = 0;
    uint32_t violations = 0;   // in the window opened at window_start
    int64_t tat = 0;           // GCRA theoretical arrival time (ns)
    int64_t window_start = 0;  // ns
    int64_t banned_until = 0;  // ns
  };
  struct KeyHash {
    uint64_t seed;
    size_t operator()(const ClientKey& k) const;
  };
  struct alignas(64) Shard {
    std::mutex mu;
    boost::unordered_flat_map<ClientKey, Entry, KeyHash> map;
    int64_t next_sweep = 0;  // ns; no sweep before
  };

  uint32_t shard_of(const ClientKey& k) const;
  // The IP's entry, created if there is room; null when the shard is full
  // of entries in use. Shard lock held.
  Entry* find_or_add(Shard& s, const ClientKey& k, int64_t now);
  bool idle(const Entry& e, int64_t now) const;
  // Records a violation; returns whether it started a ban. Shard lock held.
  bool violate(Entry& e, int64_t now);
  void release(const Admission& a);

  const uint64_t seed_;
  std::unique_ptr<Shard[]> shards_;
  std::atomic<uint64_t> open_{0};
  // Settings, each read on its own (a reload may mix old and new for one
  // connection, which is harmless).
  std::atomic<uint64_t> max_connections_{0};
  std::atomic<uint32_t> max_per_ip_{0};
  std::atomic<int64_t> interval_ns_{0};  // 1 s / rate; 0: no rate limit
  std::atomic<uint32_t> burst_{0};
  std::atomic<uint32_t> ban_after_{0};
  std::atomic<int64_t> ban_within_ns_{0};
  std::atomic<int64_t> ban_duration_ns_{0};
  std::atomic<size_t> shard_cap_{1};
};

}  // namespace torii::net
