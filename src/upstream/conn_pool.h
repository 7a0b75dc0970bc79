// Per-worker pool of idle keep-alive upstream connections, one bucket per
// upstream node. Keyed by the node object: unchanged upstreams are the same
// object across snapshots, so their pools survive config changes; a bucket
// whose upstream is gone is closed on the next sweep. Not thread-safe: one
// pool per worker, like nginx's keepalive cache.
#pragma once

#include <memory>
#include <vector>

#include <boost/unordered/unordered_flat_map.hpp>

#include "upstream/upstream.h"
#include "upstream/upstream_conn.h"

namespace torii::upstream {

class ConnPool {
 public:
  // An idle connection to `node`, or null. With `check_alive`, connections
  // the upstream closed (or sent unasked bytes on) while idle are skipped
  // (UpstreamConn::still_usable: no system call when the reactor saw
  // nothing arrive, else one non-blocking peek).
  std::unique_ptr<UpstreamConn> acquire(const Node* node, bool check_alive);

  // Returns a connection after a complete exchange. Closed instead when the
  // pool for this upstream is full or the connection served its quota.
  void release(const Node* node, const std::shared_ptr<const Upstream>& owner,
               std::unique_ptr<UpstreamConn> conn);

  // Closes connections idle longer than their upstream's idle_timeout and
  // buckets of upstreams no longer in any snapshot.
  void sweep(core::Clock::time_point now);
  void clear() { buckets_.clear(); }

 private:
  struct Bucket {
    std::weak_ptr<const Upstream> owner;
    std::chrono::milliseconds idle_timeout{60000};
    std::vector<std::unique_ptr<UpstreamConn>> idle;  // most recently used last
  };
  boost::unordered_flat_map<const Node*, Bucket> buckets_;
};

}  // namespace torii::upstream
