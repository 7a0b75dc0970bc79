// limit-count's Redis stores (policy "redis" and "redis-cluster"): the
// counters live in Redis, so every node of a cluster shares them and admits
// exactly `count` requests per window together.
//
// One Lua script per request, run atomically by Redis (APISIX's fixed
// window from apisix/plugins/limit-count/util.lua, same stored value): the
// key holds what is left of the window and expires with it, so, as in
// APISIX, the count a window opened with stays in force until it ends (a
// count from a variable that changes within a window applies at the next).
// Unlike APISIX's script, a rejected request takes nothing from the window
// (the CountStore contract), which only matters when `cost` > 1. The key
// names the conf by a checksum where APISIX uses its conf_version, so Torii
// and APISIX nodes keep separate counters on one Redis.
//
// The factory registers itself with limit-count (limit_count_store.h); the
// header exposes it and the script for tests and benchmarks.
#pragma once

#include <boost/json/object.hpp>
#include <memory>

#include "core/result.h"
#include "net/redis_client.h"
#include "plugins/limit_count_store.h"

namespace torii::plugins::limit_count {

// APISIX's key prefix ("plugin-" .. plugin_name), put before the key the
// plugin passes.
inline constexpr std::string_view kRedisKeyPrefix = "plugin-limit-count";

// KEYS[1] = key; ARGV = count, window (s), cost. Returns {left, ttl}: left
// < 0 means rejected (nothing taken); ttl is the window's seconds left.
const net::redis::Script& redis_count_script();

// The factory registered for policies "redis" and "redis-cluster".
core::Result<std::unique_ptr<CountStore>> make_redis_count_store(const boost::json::object& conf);

// Reads the Redis fields of a "redis" conf (APISIX's names and defaults).
net::redis::Options redis_options_from_conf(const boost::json::object& conf);

}  // namespace torii::plugins::limit_count
