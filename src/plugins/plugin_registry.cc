#include "plugins/plugin_registry.h"

#include <boost/json.hpp>
#include <cstdio>
#include <cstdlib>
#include <map>

#include "router/expr.h"

namespace torii::plugins {
namespace {

namespace json = boost::json;

struct Entry {
  PluginInfo info;
  bool enabled = true;
  std::unique_ptr<config::JsonSchema> schema;
  std::unique_ptr<config::JsonSchema> consumer_schema;
  std::unique_ptr<config::JsonSchema> metadata_schema;
};

// Function-local so registrations from any translation unit find it built.
std::map<std::string, Entry, std::less<>>& registry() {
  static std::map<std::string, Entry, std::less<>> plugins;
  return plugins;
}

std::unique_ptr<config::JsonSchema> compile_or_die(const std::string& plugin,
                                                   const json::value& schema,
                                                   const char* which) {
  if (schema.is_null()) return nullptr;
  auto compiled = config::JsonSchema::compile(schema);
  if (!compiled) {
    std::fprintf(stderr, "plugin %s: %s does not compile: %s\n", plugin.c_str(), which,
                 compiled.error().message.c_str());
    std::abort();
  }
  return std::move(*compiled);
}

const Entry* find_entry(std::string_view name) {
  auto it = registry().find(name);
  return it == registry().end() || !it->second.enabled ? nullptr : &it->second;
}

// APISIX's plugin_injected_schema: `_meta` is allowed in every plugin conf.
void inject_meta(json::value& schema) {
  if (!schema.is_object()) return;
  auto& props = schema.as_object()["properties"];
  if (!props.is_object()) props = json::object();
  props.as_object()["_meta"] = json::parse(R"({
      "type": "object",
      "properties": {
          "disable": {"type": "boolean"},
          "error_response": {"oneOf": [{"type": "string"}, {"type": "object"}]},
          "priority": {"description": "priority of plugins by customized order", "type": "integer"},
          "filter": {"description": "filter determines whether the plugin needs to be executed at runtime", "type": "array"},
          "pre_function": {"type": "string"}}})");
}

bool meta_disabled(const json::object& conf) {
  const auto* meta = conf.if_contains("_meta");
  if (!meta || !meta->is_object()) return false;
  const auto* disable = meta->get_object().if_contains("disable");
  return disable && disable->is_bool() && disable->get_bool();
}

}  // namespace

PluginRegistration::PluginRegistration(PluginInfo info) {
  if (registry().contains(info.name)) {
    std::fprintf(stderr, "plugin %s registered twice\n", info.name.c_str());
    std::abort();
  }
  Entry e;
  inject_meta(info.schema);
  if (!info.consumer_schema.is_null()) inject_meta(info.consumer_schema);
  e.schema = compile_or_die(info.name, info.schema, "schema");
  e.consumer_schema = compile_or_die(info.name, info.consumer_schema, "consumer_schema");
  e.metadata_schema = compile_or_die(info.name, info.metadata_schema, "metadata_schema");
  std::string name = info.name;
  e.info = std::move(info);
  registry().emplace(std::move(name), std::move(e));
}

const PluginInfo* find_plugin(std::string_view name) {
  const Entry* e = find_entry(name);
  return e ? &e->info : nullptr;
}

std::vector<const PluginInfo*> all_plugins() {
  std::vector<const PluginInfo*> out;
  out.reserve(registry().size());
  for (const auto& [name, e] : registry()) {
    if (e.enabled) out.push_back(&e.info);
  }
  return out;
}

std::vector<std::string> set_enabled_plugins(const std::vector<std::string>& names) {
  for (auto& [name, e] : registry()) e.enabled = false;
  std::vector<std::string> unknown;
  for (const auto& n : names) {
    auto it = registry().find(n);
    if (it == registry().end()) {
      unknown.push_back(n);
    } else {
      it->second.enabled = true;
    }
  }
  return unknown;
}

void enable_all_plugins() {
  for (auto& [name, e] : registry()) e.enabled = true;
}

const json::value& plugin_schema(const PluginInfo& plugin, SchemaType type) {
  switch (type) {
    case SchemaType::kRoute:
      return plugin.schema;
    case SchemaType::kConsumer:
      return plugin.consumer_schema.is_null() ? plugin.schema : plugin.consumer_schema;
    case SchemaType::kMetadata:
      return plugin.metadata_schema;
  }
  return plugin.schema;
}

core::Status check_plugin_conf(std::string_view name, const json::value& conf, SchemaType type) {
  const Entry* e = find_entry(name);
  if (!e) return core::config_error("unknown plugin [" + std::string(name) + "]");
  if (!conf.is_object()) {
    std::string shown = conf.is_string() ? std::string(conf.get_string()) : json::serialize(conf);
    return core::config_error("invalid plugin conf \"" + shown + "\" for plugin [" +
                              std::string(name) + "]");
  }
  if (type != SchemaType::kMetadata && meta_disabled(conf.get_object())) return core::ok_status();
  const config::JsonSchema* schema = nullptr;
  switch (type) {
    case SchemaType::kRoute:
      schema = e->schema.get();
      break;
    case SchemaType::kConsumer:
      schema = e->consumer_schema ? e->consumer_schema.get() : e->schema.get();
      break;
    case SchemaType::kMetadata:
      schema = e->metadata_schema.get();
      if (!schema) {
        return core::config_error("no metadata schema for plugin " + std::string(name));
      }
      break;
  }
  if (!schema) return core::ok_status();
  if (auto st = schema->validate(conf); !st) {
    return core::config_error("failed to check the configuration of plugin " + std::string(name) +
                              " err: " + st.error().message);
  }
  if (const auto* meta = conf.get_object().if_contains("_meta"); meta && meta->is_object()) {
    if (const auto* filter = meta->get_object().if_contains("filter")) {
      if (auto expr = router::Expr::compile(*filter); !expr) {
        return core::config_error("failed to validate the 'filter' expression: " +
                                  expr.error().message);
      }
    }
  }
  return core::ok_status();
}

core::Status check_plugins(const json::value& plugins, SchemaType type) {
  if (!plugins.is_object()) return core::ok_status();  // the resource schema reports the type
  for (const auto& [name, conf] : plugins.get_object()) {
    if (auto st = check_plugin_conf(name, conf, type); !st) return st;
  }
  return core::ok_status();
}

}  // namespace torii::plugins
