#include "config/consumer_builder.h"

#include <spdlog/spdlog.h>

#include <cstdlib>
#include <map>

#include "config/resource_schemas.h"
#include "plugins/plugin_registry.h"

namespace torii::config {

namespace json = boost::json;
using core::config_error;

bool split_credential_id(std::string_view full, std::string_view& username, std::string_view& id) {
  constexpr std::string_view kMid = "/credentials/";
  const size_t at = full.find(kMid);
  if (at == std::string_view::npos || at == 0) return false;
  username = full.substr(0, at);
  id = full.substr(at + kMid.size());
  return !id.empty() && id.find('/') == std::string_view::npos &&
         username.find('/') == std::string_view::npos;
}

namespace {

const json::object* plugins_of(const json::object& o) {
  const auto* p = o.if_contains("plugins");
  return p && p->is_object() ? &p->get_object() : nullptr;
}

std::string string_field(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

// Decrypts encrypt_fields and resolves $env:// references in one auth
// plugin's consumer conf. Fails only for an unset environment variable.
core::Status prepare_auth_conf(const plugins::PluginInfo& info, json::object& conf,
                               const DataEncryption& encryption) {
  for (const std::string& field : info.encrypt_fields) {
    auto* v = conf.if_contains(field);
    if (!v || !v->is_string() || !encryption.enabled()) continue;
    auto plain = encryption.decrypt(v->get_string());
    if (plain) *v = json::string(*plain);  // else: stored in clear, kept (APISIX)
  }
  for (auto& [name, value] : conf) {
    if (!value.is_string()) continue;
    std::string_view s = value.get_string();
    constexpr std::string_view kEnv = "$env://";
    if (s.substr(0, kEnv.size()) != kEnv) continue;
    const std::string var(s.substr(kEnv.size()));
    const char* env = std::getenv(var.c_str());
    if (!env) {
      return config_error("plugin " + info.name + " field " + std::string(name) +
                          ": environment variable " + var + " is not set");
    }
    value = json::string(env);
  }
  return core::ok_status();
}

struct Pending {
  std::string username;
  std::string credential_id;  // empty: the consumer's own plugins
  const json::object* plugins;
  std::string where;
};

}  // namespace

core::Result<std::shared_ptr<const plugins::ConsumerDirectory>> build_consumers(
    const ResourceSet& rs, const DataEncryption& encryption, plugins::ChainBuilder& chains,
    const BadItem& bad) {
  auto dir = std::make_shared<plugins::ConsumerDirectory>();
  const std::string prefix = "/apisix/";

  std::map<std::string, const json::object*, std::less<>> groups;
  size_t index = 0;
  for (const auto& item : rs.items("consumer_groups")) {
    ++index;
    json::value checked(item.value);
    if (!checked.as_object().contains("id")) checked.as_object()["id"] = item.id;
    if (auto st = check_resource("consumer_groups", checked); !st) {
      auto e = config_error("consumer_groups[" + std::to_string(index) + "] (id \"" + item.id +
                            "\"): " + st.error().message);
      if (auto b = bad(e); !b) return b.error();
      continue;
    }
    groups[item.id] = plugins_of(item.value);
  }

  std::vector<Pending> credentials;
  std::map<std::string, std::shared_ptr<plugins::Consumer>, std::less<>> consumers;
  auto add_credential_item = [&](const ResourceItem& item, const std::string& where) -> core::Status {
    std::string_view user, id;
    split_credential_id(item.id, user, id);
    json::value checked(item.value);
    checked.as_object()["id"] = std::string(id);
    if (auto st = check_resource("credentials", checked); !st) {
      return bad(config_error(where + " (id \"" + item.id + "\"): " + st.error().message));
    }
    if (const auto* p = plugins_of(item.value)) {
      credentials.push_back({std::string(user), std::string(id), p, where});
    }
    return core::ok_status();
  };

  index = 0;
  for (const auto& item : rs.items("consumers")) {
    ++index;
    const std::string where = "consumers[" + std::to_string(index) + "]";
    std::string_view user, id;
    if (split_credential_id(item.id, user, id)) {
      if (auto st = add_credential_item(item, where); !st) return st.error();
      continue;
    }
    json::value checked(item.value);
    if (auto st = check_resource("consumers", checked); !st) {
      auto e = config_error(where + " (username \"" + item.id + "\"): " + st.error().message);
      if (auto b = bad(e); !b) return b.error();
      continue;
    }
    auto c = std::make_shared<plugins::Consumer>();
    c->username = string_field(item.value, "username");
    if (c->username.empty()) c->username = item.id;
    c->group_id = string_field(item.value, "group_id");
    if (const auto* labels = item.value.if_contains("labels"); labels && labels->is_object()) {
      c->custom_id = string_field(labels->get_object(), "custom_id");
    }
    std::vector<plugins::PluginSource> sources;
    if (!c->group_id.empty()) {
      auto g = groups.find(c->group_id);
      if (g == groups.end()) {
        auto e = config_error(where + " (username \"" + c->username + "\"): consumer group " +
                              c->group_id + " not found");
        if (auto b = bad(e); !b) return b.error();
        continue;
      }
      sources.push_back({g->second, "consumer_group", c->group_id,
                         prefix + "consumer_groups/" + c->group_id});
    }
    sources.push_back({plugins_of(item.value), "consumer", c->username,
                       prefix + "consumers/" + c->username});
    auto chain = chains.consumer_chain(sources);
    if (!chain) {
      auto e = config_error(where + " (username \"" + c->username + "\"): " +
                            chain.error().message);
      if (auto b = bad(e); !b) return b.error();
      continue;
    }
    c->plugins = std::move(*chain);
    if (const auto* p = plugins_of(item.value)) {
      credentials.push_back({c->username, "", p, where});
    }
    consumers[c->username] = std::move(c);
  }
  index = 0;
  for (const auto& item : rs.items("credentials")) {
    ++index;
    const std::string where = "credentials[" + std::to_string(index) + "]";
    std::string_view user, id;
    if (!split_credential_id(item.id, user, id)) {
      if (auto b = bad(config_error(where + ": id \"" + item.id +
                                    "\" is not {username}/credentials/{id}"));
          !b) {
        return b.error();
      }
      continue;
    }
    if (auto st = add_credential_item(item, where); !st) return st.error();
  }

  for (const auto& [name, c] : consumers) dir->add_consumer(c);
  for (const Pending& p : credentials) {
    auto owner = consumers.find(p.username);
    if (owner == consumers.end()) {
      auto e = config_error(p.where + ": credential " + p.credential_id + " of consumer " +
                            p.username + ": the consumer does not exist");
      if (auto b = bad(e); !b) return b.error();
      continue;
    }
    for (const auto& [plugin_name, conf] : *p.plugins) {
      const plugins::PluginInfo* info = plugins::find_plugin(plugin_name);
      if (!info || !info->is_auth || info->consumer_key_field.empty() || !conf.is_object()) continue;
      plugins::Credential cred;
      cred.consumer = owner->second;
      cred.id = p.credential_id;
      cred.conf = conf.get_object();
      if (auto st = prepare_auth_conf(*info, cred.conf, encryption); !st) {
        auto e = config_error(p.where + " (consumer \"" + p.username + "\"): " +
                              st.error().message);
        if (auto b = bad(e); !b) return b.error();
        continue;
      }
      if (info->prepare_credential) {
        auto prepared = info->prepare_credential(cred.conf);
        if (!prepared) {
          auto e = config_error(p.where + " (consumer \"" + p.username + "\"): plugin " +
                                info->name + ": " + prepared.error().message);
          if (auto b = bad(e); !b) return b.error();
          continue;
        }
        cred.prepared = std::move(*prepared);
      }
      const std::string key = string_field(cred.conf, info->consumer_key_field);
      if (key.empty()) continue;
      if (!dir->add_credential(info->name, key, std::move(cred))) {
        auto e = config_error(p.where + " (consumer \"" + p.username + "\"): duplicate " +
                              info->name + " " + info->consumer_key_field +
                              "; the first one is kept");
        if (auto b = bad(e); !b) return b.error();
      }
    }
  }
  return std::shared_ptr<const plugins::ConsumerDirectory>(std::move(dir));
}

}  // namespace torii::config
