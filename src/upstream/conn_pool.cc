#include "upstream/conn_pool.h"

#include "core/deadline.h"

namespace torii::upstream {
namespace {
// A connection keeps its read buffer while idle unless a body grew it.
constexpr size_t kIdleBufferSize = kReadBufferSize;
}

std::unique_ptr<UpstreamConn> ConnPool::acquire(const Node* node, bool check_alive) {
  auto it = buckets_.find(node);
  if (it == buckets_.end()) return nullptr;
  if (it->second.owner.expired()) {  // a new node reusing a dead node's address
    buckets_.erase(it);
    return nullptr;
  }
  auto& idle = it->second.idle;
  while (!idle.empty()) {
    std::unique_ptr<UpstreamConn> c = std::move(idle.back());
    idle.pop_back();
    if (!check_alive || c->still_usable()) return c;
  }
  return nullptr;
}

void ConnPool::release(const Node* node, const std::shared_ptr<const Upstream>& owner,
                       std::unique_ptr<UpstreamConn> conn) {
  if (!owner || owner->keepalive.size == 0 || conn->requests >= owner->keepalive.requests) return;
  Bucket& b = buckets_[node];
  if (b.owner.expired()) {
    b.idle.clear();
    b.owner = owner;
    b.idle_timeout = owner->keepalive.idle_timeout;
  }
  // The pool size bounds idle connections per node (nginx: per upstream block).
  if (b.idle.size() >= owner->keepalive.size) return;
  conn->idle_since = core::coarse_now();  // idle timeouts are seconds; no TSC read needed
  conn->in().truncate(0);
  conn->in().shrink_if_larger(kIdleBufferSize);
  b.idle.push_back(std::move(conn));
}

void ConnPool::sweep(core::Clock::time_point now) {
  boost::unordered::erase_if(buckets_, [](const auto& kv) { return kv.second.owner.expired(); });
  for (auto& entry : buckets_) {
    Bucket& b = entry.second;
    std::erase_if(b.idle, [&](const std::unique_ptr<UpstreamConn>& c) {
      return now - c->idle_since >= b.idle_timeout;
    });
  }
}

}  // namespace torii::upstream
