// The plugin endpoints of the Admin API, read from the plugin registry.
#include "admin/plugins_api.h"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <algorithm>

#include "admin/admin_reply.h"
#include "plugins/plugin_registry.h"

namespace torii::admin {
namespace {

namespace json = boost::json;

std::string_view arg(const QueryArgs& query, std::string_view name, std::string_view fallback) {
  auto it = query.find(name);
  return it == query.end() ? fallback : std::string_view(it->second);
}

std::vector<const plugins::PluginInfo*> plugins_of(std::string_view subsystem) {
  auto all = plugins::all_plugins();
  if (subsystem == "stream") {
    std::erase_if(all, [](const plugins::PluginInfo* p) { return !p->stream; });
  }
  return all;
}

}  // namespace

AdminResponse list_plugins(const QueryArgs& query) {
  const std::string_view subsystem = arg(query, "subsystem", "http");
  if (subsystem != "http" && subsystem != "stream") {
    return plain_reply(400, "invalid subsystem passed");
  }
  auto list = plugins_of(subsystem);
  // all_plugins() is sorted by name, so ties keep name order.
  std::stable_sort(list.begin(), list.end(),
                   [](const auto* a, const auto* b) { return a->priority > b->priority; });
  json::array names;
  for (const auto* p : list) names.emplace_back(p->name);
  return json_reply(200, names);
}

AdminResponse get_plugin(std::string_view name, const QueryArgs& query) {
  const std::string_view subsystem = arg(query, "subsystem", "http");
  if (subsystem != "http" && subsystem != "stream") {
    return error_reply(400, "unsupported subsystem: " + std::string(subsystem));
  }

  if (arg(query, "all", "") == "true") {
    // Deprecated in APISIX but still served: every plugin's attributes.
    json::object all;
    for (const auto* p : plugins_of(subsystem)) {
      json::object attrs;
      attrs["priority"] = p->priority;
      attrs["schema"] = p->schema;
      if (p->is_auth) attrs["type"] = "auth";
      if (!p->consumer_schema.is_null()) attrs["consumer_schema"] = p->consumer_schema;
      if (!p->metadata_schema.is_null()) attrs["metadata_schema"] = p->metadata_schema;
      all[p->name] = std::move(attrs);
    }
    return json_reply(200, all);
  }

  const plugins::PluginInfo* plugin = name.empty() ? nullptr : plugins::find_plugin(name);
  if (plugin != nullptr && subsystem == "stream" && !plugin->stream) plugin = nullptr;
  if (plugin == nullptr) {
    return error_reply(404, "plugin not found in subsystem " + std::string(subsystem));
  }

  plugins::SchemaType type = plugins::SchemaType::kRoute;
  const std::string_view schema_type = arg(query, "schema_type", "");
  if (schema_type == "consumer") type = plugins::SchemaType::kConsumer;
  if (schema_type == "metadata") type = plugins::SchemaType::kMetadata;
  const json::value* schema = &plugins::plugin_schema(*plugin, type);
  // APISIX shows a consumer schema only when the plugin declares one.
  if (type == plugins::SchemaType::kConsumer && plugin->consumer_schema.is_null()) {
    schema = &plugin->consumer_schema;
  }
  if (schema->is_null()) return error_reply(400, "not found schema");
  return json_reply(200, *schema);
}

AdminResponse reload_plugins(std::string_view method) {
  if (method != "PUT") {
    return error_reply(405, "please use PUT method to reload the plugins, " + std::string(method) +
                                " method is not allowed.");
  }
  // Plugins are compiled in and registered before main(): there is nothing
  // to reload. The endpoint answers as APISIX does so that tooling calling
  // it keeps working.
  return plain_reply(200, "done");
}

}  // namespace torii::admin
