// limit-count's `local` policy: the counters live in this node's memory,
// in one table shared by every worker thread (limits::ShardedTable: a
// mutex per shard), so a count is exact across the workers of the node, as
// APISIX's lua_shared_dict is across nginx workers. Not shared between
// nodes (that is what the redis policies are for).
//
// Fixed window (APISIX's resty.limit.count + the reset-header dict): the
// first request of a key opens a window of `window` seconds; requests take
// from `count` until it is used up; the window's end drops the entry.
// X-RateLimit-Reset is the whole window on the opening request, then the
// whole seconds left (APISIX reads ngx.time(), a whole-second clock).
//
// Sliding window (APISIX's sliding-window.lua over a shared dict): counters
// per window id (floor(now / window)); a request is refused when the
// current window's count has reached `count`, or when the estimate
// `previous_count * (time left in the current window / window) + current`
// has; the reset is the time left (or, when refused by the estimate, the
// delay after which the estimate falls below `count`), rounded up to 2
// decimals.
#pragma once

#include <memory>

#include "plugins/limit_count_store.h"
#include "plugins/limit_shards.h"

namespace torii::plugins::limit_count {

class LocalCountStore final : public CountStore {
 public:
  enum class Window : uint8_t { kFixed, kSliding };
  explicit LocalCountStore(Window window) : window_(window) {}

  net::Task<core::Result<Decision>> incoming(std::string key, int64_t count,
                                             std::chrono::seconds window, int64_t cost) override;
  bool is_synchronous() const override { return true; }
  core::Result<Decision> incoming_now(std::string_view key, int64_t count,
                                      std::chrono::seconds window, int64_t cost) override;

  // Live keys (tests).
  size_t size() { return Window::kFixed == window_ ? fixed_.size() : sliding_.size(); }

 private:
  struct FixedEntry {
    int64_t end_ms = 0;  // the window closes here
    int64_t used = 0;
    bool expired(int64_t now) const { return now >= end_ms; }
  };
  struct SlidingEntry {
    int64_t window_id = 0;
    int64_t window_ms = 1;
    int64_t current = 0;
    int64_t previous = 0;
    bool expired(int64_t now) const { return now / window_ms > window_id + 1; }
  };

  Decision fixed(std::string_view key, int64_t count, int64_t window_ms, int64_t cost);
  Decision sliding(std::string_view key, int64_t count, int64_t window_ms, int64_t cost);

  Window window_;
  limits::ShardedTable<FixedEntry> fixed_;
  limits::ShardedTable<SlidingEntry> sliding_;
};

}  // namespace torii::plugins::limit_count
