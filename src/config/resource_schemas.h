// The APISIX 3.x schemas of the Admin API resources (apisix/schema_def.lua)
// and the checks APISIX runs in code after the schema (the `check_conf` of
// apisix/admin/routes.lua, services.lua and apisix/upstream.lua), so that a
// resource Torii accepts is one APISIX accepts, refused with the same words.
//
// Not checked here, because other parts own them: plugin configurations
// (only "plugins is an object" is checked; the plugin registry checks each
// conf), whether referenced ids exist (upstream_id, service_id, ...), the
// `vars` expression (the router compiles it), TLS certificate contents,
// and the Admin API's id and timestamp rules.
#pragma once

#include <boost/json/value.hpp>
#include <string_view>

#include "config/json_schema.h"
#include "core/result.h"

namespace torii::config {

// The compiled schema of a resource kind, named as in Admin API URLs:
// "routes", "services", "upstreams", "consumers", "consumer_groups",
// "plugin_configs", "global_rules". Returns nullptr for any other name.
// Compiled on first use and kept for the life of the process; safe to call
// and to use from any thread.
const JsonSchema* resource_schema(std::string_view resource);

// Checks `obj` as APISIX's Admin API checks a resource of that kind before
// storing it: the schema, then the cross-field rules. `obj` is the object as
// it will be stored (APISIX sets `id` from the URL before checking, and
// plugin_configs, consumer_groups and global_rules require it).
//
// On failure the message is exactly the `error_msg` APISIX returns, prefix
// included where APISIX has one: schema failures read
// "invalid configuration: <jsonschema message>", rules checked in code read
// as APISIX words them (e.g. "missing key"). Callers must not add a prefix.
// Fields Torii replaces rather than runs (`filter_func`, `script`: Lua) are
// refused with a message that names the alternative. An unknown resource
// kind fails with "Unsupported resource type: <name>".
core::Status check_resource(std::string_view resource, const boost::json::value& obj);

}  // namespace torii::config
