// limit-count's Redis stores (policy "redis" and "redis-cluster"): the
// counters live in Redis, so every node of a cluster shares them and admits
// exactly `count` requests per window together.
//
// One Lua script per request, run atomically by Redis (APISIX's fixed
// window from apisix/plugins/limit-count/util.lua, same key layout and
// stored value, so a torii and an APISIX node can share one Redis): the key
// holds what is left of the window and expires with it. Unlike APISIX's
// script, a rejected request takes nothing from the window (the CountStore
// contract), which only matters when `cost` > 1.
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
