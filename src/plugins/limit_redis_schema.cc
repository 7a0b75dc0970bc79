#include "plugins/limit_redis_schema.h"

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>

namespace torii::plugins::limits {

namespace json = boost::json;

json::value redis_policy_schema() {
  return json::parse(R"json({
    "properties": {
      "redis_host": {"type": "string", "minLength": 2},
      "redis_port": {"type": "integer", "minimum": 1, "default": 6379},
      "redis_username": {"type": "string", "minLength": 1},
      "redis_password": {"type": "string", "minLength": 0},
      "redis_database": {"type": "integer", "minimum": 0, "default": 0},
      "redis_timeout": {"type": "integer", "minimum": 1, "default": 1000},
      "redis_ssl": {"type": "boolean", "default": false},
      "redis_ssl_verify": {"type": "boolean", "default": false},
      "redis_keepalive_timeout": {"type": "integer", "minimum": 1000, "default": 10000},
      "redis_keepalive_pool": {"type": "integer", "minimum": 1, "default": 100},
      "key_ttl": {"type": "integer", "default": 3600}
    },
    "required": ["redis_host"]
  })json");
}

json::value redis_cluster_policy_schema() {
  return json::parse(R"json({
    "properties": {
      "redis_cluster_nodes": {
        "type": "array", "minItems": 1,
        "items": {"type": "string", "minLength": 2, "maxLength": 100}
      },
      "redis_password": {"type": "string", "minLength": 0},
      "redis_timeout": {"type": "integer", "minimum": 1, "default": 1000},
      "redis_cluster_name": {"type": "string"},
      "redis_cluster_ssl": {"type": "boolean", "default": false},
      "redis_cluster_ssl_verify": {"type": "boolean", "default": false},
      "redis_keepalive_timeout": {"type": "integer", "minimum": 1000, "default": 10000},
      "redis_keepalive_pool": {"type": "integer", "minimum": 1, "default": 100},
      "key_ttl": {"type": "integer", "default": 3600}
    },
    "required": ["redis_cluster_nodes", "redis_cluster_name"]
  })json");
}

namespace {

json::value sentinel_policy_schema() {
  return json::parse(R"json({
    "properties": {
      "redis_sentinels": {
        "type": "array", "minItems": 1,
        "items": {
          "type": "object",
          "properties": {
            "host": {"type": "string", "minLength": 2},
            "port": {"type": "integer", "minimum": 1, "maximum": 65535}
          },
          "required": ["host", "port"],
          "additionalProperties": false
        }
      },
      "redis_master_name": {"type": "string", "minLength": 1},
      "redis_role": {"type": "string", "enum": ["master", "slave"], "default": "master"},
      "redis_connect_timeout": {"type": "integer", "minimum": 1, "default": 1000},
      "redis_read_timeout": {"type": "integer", "minimum": 1, "default": 1000},
      "redis_keepalive_timeout": {"type": "integer", "minimum": 1, "default": 60000},
      "redis_database": {"type": "integer", "minimum": 0, "default": 0},
      "redis_username": {"type": "string", "minLength": 1},
      "redis_password": {"type": "string", "minLength": 0},
      "sentinel_username": {"type": "string", "minLength": 1},
      "sentinel_password": {"type": "string", "minLength": 0}
    },
    "required": ["redis_sentinels", "redis_master_name"]
  })json");
}

json::object policy_is(const char* policy) {
  json::object cond;
  cond["properties"] = json::object{{"policy", json::object{{"enum", json::array{policy}}}}};
  return cond;
}

}  // namespace

void add_redis_policy_branches(json::object& schema, bool sentinel) {
  schema["if"] = policy_is("redis");
  schema["then"] = redis_policy_schema();
  json::object otherwise;
  otherwise["if"] = policy_is("redis-cluster");
  otherwise["then"] = redis_cluster_policy_schema();
  if (sentinel) {
    json::object third;
    third["if"] = policy_is("redis-sentinel");
    third["then"] = sentinel_policy_schema();
    otherwise["else"] = std::move(third);
  }
  schema["else"] = std::move(otherwise);
}

}  // namespace torii::plugins::limits
