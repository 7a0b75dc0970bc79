// The plugin registry: every plugin registers itself here (a static
// PluginRegistration at the bottom of its own file), and everything that
// needs to know about plugins reads it from here: the Admin API (plugin
// list, schemas, validation of plugin confs), `torii validate`, the docs.
// There is no central list of plugins to edit.
//
// A registration holds a plugin's name, APISIX priority, type, JSON schemas
// and the factory that turns a validated conf into a Plugin (plugin.h).
//
// Threading: registration happens during static initialisation, before
// main(); afterwards the registry is read-only and safe from any thread.
#pragma once

#include <boost/json/value.hpp>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/json_schema.h"
#include "core/result.h"
#include "plugins/plugin.h"

namespace torii::plugins {

struct PluginInfo {
  std::string name;        // kebab-case, APISIX's name: "limit-count"
  int priority = 0;        // APISIX's default priority (higher runs first)
  bool is_auth = false;    // APISIX `type = 'auth'`: identifies a consumer
  bool stream = false;     // also runs in the stream subsystem
  // JSON schemas as APISIX publishes them (GET /apisix/admin/plugins/{name}).
  // `schema` validates the conf on routes, services, plugin_configs,
  // consumer_groups and global_rules; `consumer_schema` the conf on consumers
  // and credentials (auth plugins; null: use `schema`); `metadata_schema`
  // plugin_metadata (null: the plugin takes no metadata).
  boost::json::value schema;
  boost::json::value consumer_schema;
  boost::json::value metadata_schema;
  // Auth plugins: the consumer-conf field that identifies a credential
  // (APISIX utils.plugin_key_map: key-auth `key`, basic-auth `username`,
  // jwt-auth `key`, hmac-auth `key_id`); unique across consumers, checked
  // by the Admin API, indexed by ConsumerDirectory. Empty: none.
  std::string consumer_key_field;
  // Auth plugins: what verifying a credential needs, prepared once per
  // configuration from its consumer conf (decrypted, $env:// resolved) and
  // kept in Credential::prepared (jwt-auth parses the public key here).
  // An error names the field and leaves the credential out. Null: none.
  using PrepareCredential = std::function<core::Result<std::shared_ptr<const void>>(
      const boost::json::object& conf)>;
  PrepareCredential prepare_credential;
  // APISIX `encrypt_fields`: consumer-conf string fields stored encrypted
  // when apisix.data_encryption.enable_encrypt_fields is on, decrypted when
  // a snapshot is built.
  std::vector<std::string> encrypt_fields;
  // APISIX `run_policy = "prefer_route"` (prometheus): a global-rule copy is
  // skipped for requests whose route has its own enabled copy.
  bool prefer_route = false;
  // Builds an instance from a conf that passed `schema` (`_meta` included;
  // the runtime reads `_meta` itself). Called on the control thread. Errors
  // read like APISIX's check_schema messages and name the field.
  using Factory = std::function<core::Result<std::shared_ptr<const Plugin>>(
      const boost::json::object& conf, const PluginScope& scope)>;
  Factory create;
};

enum class SchemaType : uint8_t { kRoute, kConsumer, kMetadata };

// The enabled plugin called `name`, or nullptr (unknown or not enabled:
// APISIX does not load plugins missing from config.yaml's `plugins`).
const PluginInfo* find_plugin(std::string_view name);

// Every enabled plugin, sorted by name.
std::vector<const PluginInfo*> all_plugins();

// config.yaml `plugins`: only these are enabled (names not registered are
// returned, for a warning). Without a call, every registered plugin is
// enabled. Call before workers start; not thread-safe against readers.
std::vector<std::string> set_enabled_plugins(const std::vector<std::string>& names);
void enable_all_plugins();

// The schema of `type` for the plugin (as shown by the Admin API); null when
// the plugin has none of that type.
const boost::json::value& plugin_schema(const PluginInfo& plugin, SchemaType type);

// Checks one plugin conf as APISIX's Admin API does, returning APISIX's
// error_msg wording:
//   unknown plugin [foo]
//   invalid plugin conf "blah" for plugin [basic-auth]     (conf not an object)
//   failed to check the configuration of plugin limit-count err: <jsonschema msg>
// A conf whose `_meta.disable` is true skips the schema check (APISIX).
// `_meta` (disable, error_response, priority, filter) is allowed in every
// plugin's schema, as APISIX injects it; a `_meta.filter` that does not
// compile reads "failed to validate the 'filter' expression: <why>".
core::Status check_plugin_conf(std::string_view name, const boost::json::value& conf,
                               SchemaType type);

// Checks a whole `plugins` object (every entry, in key order).
core::Status check_plugins(const boost::json::value& plugins, SchemaType type);

// Registers a plugin; use one static instance per plugin file:
//   static const plugins::PluginRegistration kRegistration{make_info()};
// A duplicate name or a schema that does not compile aborts at start-up (a
// bug in our code, caught by any test run).
class PluginRegistration {
 public:
  explicit PluginRegistration(PluginInfo info);
};

}  // namespace torii::plugins
