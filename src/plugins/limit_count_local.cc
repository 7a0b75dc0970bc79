#include "plugins/limit_count_local.h"

#include <algorithm>
#include <cmath>

namespace torii::plugins::limit_count {

namespace {
// APISIX's round_off_decimal_places: up, to hundredths.
double ceil2(double v) { return std::ceil(v * 100.0 - 1e-9) / 100.0; }
}  // namespace

net::Task<core::Result<Decision>> LocalCountStore::incoming(std::string key, int64_t count,
                                                            std::chrono::seconds window,
                                                            int64_t cost) {
  co_return incoming_now(key, count, window, cost);
}

core::Result<Decision> LocalCountStore::incoming_now(std::string_view key, int64_t count,
                                                     std::chrono::seconds window, int64_t cost) {
  int64_t window_ms = std::max<int64_t>(1, window.count()) * 1000;
  if (window_ == Window::kFixed) return fixed(key, count, window_ms, cost);
  return sliding(key, count, window_ms, cost);
}

Decision LocalCountStore::fixed(std::string_view key, int64_t count, int64_t window_ms,
                                int64_t cost) {
  int64_t now = limits::now_ms();
  return fixed_.with(key, [&](FixedEntry& e, bool) {
    bool opening = e.expired(now);
    if (opening) {
      e.end_ms = now + window_ms;
      e.used = 0;
    }
    Decision d;
    // Whole seconds left, as ngx.time() arithmetic gives them.
    double left = opening ? static_cast<double>(window_ms / 1000)
                          : static_cast<double>((e.end_ms - now) / 1000);
    d.reset_seconds = std::max(0.0, left);
    if (e.used + cost > count) {
      d.allowed = false;
      d.remaining = 0;
      return d;
    }
    e.used += cost;
    d.allowed = true;
    d.remaining = count - e.used;
    return d;
  });
}

Decision LocalCountStore::sliding(std::string_view key, int64_t count, int64_t window_ms,
                                  int64_t cost) {
  int64_t now = limits::now_ms();
  int64_t id = now / window_ms;
  double remaining_time = static_cast<double>(window_ms - now % window_ms) / 1000.0;
  double window_s = static_cast<double>(window_ms) / 1000.0;
  return sliding_.with(key, [&](SlidingEntry& e, bool inserted) {
    if (inserted || e.window_ms != window_ms) {
      e = SlidingEntry{id, window_ms, 0, 0};
    } else if (e.window_id != id) {
      e.previous = e.window_id == id - 1 ? e.current : 0;
      e.current = 0;
      e.window_id = id;
    }
    Decision d;
    double last_rate = static_cast<double>(std::min(e.previous, count)) / window_s;
    double estimated_last = last_rate * remaining_time;
    if (e.current >= count) {
      d.reset_seconds = ceil2(remaining_time);
      return d;
    }
    if (estimated_last + static_cast<double>(e.current) >= static_cast<double>(count)) {
      double delay = remaining_time;
      if (last_rate > 0) {
        delay = std::max(0.0, remaining_time - static_cast<double>(count - e.current) / last_rate);
      }
      d.reset_seconds = ceil2(delay);
      return d;
    }
    e.current += cost;
    d.allowed = true;
    d.remaining = std::max<int64_t>(
        0,
        static_cast<int64_t>(std::floor(static_cast<double>(count - e.current) - estimated_last)));
    d.reset_seconds = ceil2(remaining_time);
    return d;
  });
}

}  // namespace torii::plugins::limit_count
