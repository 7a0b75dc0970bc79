// /apisix/admin/plugins/...: the plugin list, plugin schemas and the reload
// endpoint (apisix/admin/plugins.lua and the plugin routes of
// apisix/admin/init.lua), answered from the plugin registry.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "admin/admin_types.h"

namespace torii::admin {

using QueryArgs = std::map<std::string, std::string, std::less<>>;

// GET /plugins/list[?subsystem=http|stream]: names sorted by priority,
// highest first (APISIX's order); stream: only plugins that run in stream.
AdminResponse list_plugins(const QueryArgs& query);

// GET /plugins/{name}[?subsystem=..][&schema_type=consumer|metadata] and
// GET /plugins?all=true. `name` empty: no name in the URL.
AdminResponse get_plugin(std::string_view name, const QueryArgs& query);

// /plugins/reload: PUT -> 200 "done"; any other method -> 405.
AdminResponse reload_plugins(std::string_view method);

}  // namespace torii::admin
