#include "admin/consumer_checks.h"

#include <boost/json.hpp>

#include "admin/resource_envelope.h"
#include "config/consumer_builder.h"
#include "plugins/plugin_registry.h"

namespace torii::admin {

namespace json = boost::json;

namespace {

const json::object* plugins_of(const json::object& o) {
  const auto* p = o.if_contains("plugins");
  return p && p->is_object() ? &p->get_object() : nullptr;
}

// The identifying value of one auth plugin conf, decrypted; empty: none.
std::string key_value(const plugins::PluginInfo& info, const json::value& conf,
                      const config::DataEncryption* encryption) {
  if (!conf.is_object()) return {};
  const auto* v = conf.get_object().if_contains(info.consumer_key_field);
  if (!v || !v->is_string()) return {};
  std::string value(v->get_string());
  const bool encrypted = std::find(info.encrypt_fields.begin(), info.encrypt_fields.end(),
                                   info.consumer_key_field) != info.encrypt_fields.end();
  if (encrypted && encryption && encryption->enabled()) {
    if (auto plain = encryption->decrypt(value)) value = std::move(*plain);
  }
  return value;
}

}  // namespace

net::Task<core::Status> check_duplicate_auth_keys(store::ConfigStore& store, std::string prefix,
                                                  const config::DataEncryption* encryption,
                                                  std::string username, std::string credential_id,
                                                  json::object conf) {
  const json::object* mine = plugins_of(conf);
  if (!mine) co_return core::ok_status();
  // plugin -> key this write claims
  std::vector<std::pair<const plugins::PluginInfo*, std::string>> claims;
  for (const auto& [name, plugin_conf] : *mine) {
    const plugins::PluginInfo* info = plugins::find_plugin(name);
    if (!info || !info->is_auth || info->consumer_key_field.empty()) continue;
    std::string key = key_value(*info, plugin_conf, nullptr);  // the body is plaintext
    if (!key.empty()) claims.emplace_back(info, std::move(key));
  }
  if (claims.empty()) co_return core::ok_status();

  const std::string base = prefix + "/consumers/";
  auto range = co_await store.range(base);
  if (!range) co_return range.error();
  for (const store::KeyValue& kv : range->kvs) {
    const std::string_view rest = std::string_view(kv.key).substr(base.size());
    std::string_view owner = rest, credential;
    if (rest.find('/') != std::string_view::npos &&
        !config::split_credential_id(rest, owner, credential)) {
      continue;
    }
    if (owner == username && credential == credential_id) continue;  // this very entry
    const json::value stored = parse_stored(kv.value);
    if (!stored.is_object()) continue;
    const json::object* theirs = plugins_of(stored.get_object());
    if (!theirs) continue;
    for (const auto& [info, key] : claims) {
      const auto* other = theirs->if_contains(info->name);
      if (!other) continue;
      if (key_value(*info, *other, encryption) != key) continue;
      // A consumer's write only clashes with other consumers (APISIX compares
      // usernames); a credential's with any other entry.
      if (credential_id.empty() && owner == username) continue;
      co_return core::config_error("duplicate key found with consumer: " + std::string(owner));
    }
  }
  co_return core::ok_status();
}

void encrypt_plugin_fields(json::object& conf, const config::DataEncryption& encryption) {
  if (!encryption.enabled()) return;
  auto* p = conf.if_contains("plugins");
  if (!p || !p->is_object()) return;
  for (auto& [name, plugin_conf] : p->get_object()) {
    const plugins::PluginInfo* info = plugins::find_plugin(name);
    if (!info || !plugin_conf.is_object()) continue;
    for (const std::string& field : info->encrypt_fields) {
      auto* v = plugin_conf.get_object().if_contains(field);
      if (v && v->is_string()) *v = json::string(encryption.encrypt(v->get_string()));
    }
  }
}

}  // namespace torii::admin
