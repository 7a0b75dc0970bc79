// The settings of the listener's abuse limits (config.yaml
// `torii.client_limits`, see docs/config.md). Plain values, kept apart from
// client_limits.h so config code can hold them without the limiter. Every
// limit is off at 0, the default.
#pragma once

#include <chrono>
#include <cstdint>

namespace torii::net {

struct ClientLimitSettings {
  // Client connections open at once on the node (all workers). 0: no cap.
  uint64_t max_connections = 0;
  // Connections open at once from one client IP. 0: no cap.
  uint32_t max_connections_per_ip = 0;
  // Sustained requests per second from one client IP (may be fractional,
  // 0.5 = one every 2 s). 0: no request-rate limit.
  double requests_per_second_per_ip = 0;
  // Requests allowed at once above that rate (nginx limit_req `burst`,
  // with `nodelay`: never delayed, refused past it).
  uint32_t burst = 0;
  // Ban: an IP refused `ban_after_violations` times (per-IP connection cap
  // or rate) within `ban_within` is refused at accept for `ban_duration`.
  // 0 violations: no bans.
  uint32_t ban_after_violations = 0;
  std::chrono::milliseconds ban_within{10000};
  std::chrono::milliseconds ban_duration{60000};
  // Bound of the per-IP table (about; it is split in shards). An IP that
  // finds no room is served without per-IP limits (the node-wide cap still
  // applies) and counted.
  uint32_t max_tracked_ips = 100000;

  bool per_ip() const { return max_connections_per_ip > 0 || requests_per_second_per_ip > 0; }
};

}  // namespace torii::net
