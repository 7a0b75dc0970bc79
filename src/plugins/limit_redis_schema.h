// APISIX's apisix/utils/redis-schema.lua: the extra fields a limit-count,
// limit-req or limit-conn conf takes with `policy` "redis" or
// "redis-cluster", as the schema fragments the plugins put under their
// if/then/else on `policy` (so GET /apisix/admin/plugins/<name> shows them
// as APISIX does). APISIX's limit-conn adds `key_ttl` to both fragments at
// load time, and since the tables are shared, every plugin's copy has it.
#pragma once

#include <boost/json/value.hpp>

namespace torii::plugins::limits {

// {"type":"object","properties":{...},"required":[...]} for each policy.
boost::json::value redis_policy_schema();          // policy "redis"
boost::json::value redis_cluster_policy_schema();  // policy "redis-cluster"

// The whole `if policy == redis then ... else if redis-cluster then ...`
// as three members ("if", "then", "else") to merge into a plugin schema;
// `sentinel` (limit-count only) adds a third branch for "redis-sentinel".
void add_redis_policy_branches(boost::json::object& schema, bool sentinel);

}  // namespace torii::plugins::limits
