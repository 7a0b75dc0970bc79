#include "plugins/plugin_registry.h"

#include <boost/json.hpp>
#include <cstdio>
#include <cstdlib>
#include <map>

namespace torii::plugins {
namespace {

namespace json = boost::json;

struct Entry {
  PluginInfo info;
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
  return it == registry().end() ? nullptr : &it->second;
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
  for (const auto& [name, e] : registry()) out.push_back(&e.info);
  return out;
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
