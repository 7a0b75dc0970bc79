#include "plugins/plugin_chain.h"

#include <boost/json/serialize.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "core/saturate.h"

namespace torii::plugins {

namespace json = boost::json;

bool PluginChain::contains(std::string_view name) const {
  return std::any_of(entries.begin(), entries.end(),
                     [&](const ChainEntry& e) { return e.info->name == name; });
}

namespace {

const json::object* meta_of(const json::value& conf) {
  if (!conf.is_object()) return nullptr;
  const auto* m = conf.get_object().if_contains("_meta");
  return m && m->is_object() ? &m->get_object() : nullptr;
}

bool disabled(const json::value& conf) {
  const auto* meta = meta_of(conf);
  if (!meta) return false;
  const auto* d = meta->if_contains("disable");
  return d && d->is_bool() && d->get_bool();
}

}  // namespace

core::Result<std::shared_ptr<const Plugin>> ChainBuilder::instance(const PluginInfo& info,
                                                                   const json::object& conf,
                                                                   const std::string& owner_key) {
  const auto meta = metadata_.find(info.name);
  const json::object* metadata = meta == metadata_.end() ? nullptr : &meta->second;
  std::string key = owner_key + "\n" + info.name + "\n" + json::serialize(conf);
  if (metadata) key += "\n" + json::serialize(*metadata);  // new metadata: a new instance
  if (auto it = cache_.find(key); it != cache_.end()) {
    auto live = it->second.plugin.lock();
    if (live && same_upstreams(it->second.upstreams)) return live;
  }
  if (!info.create) {
    return core::config_error("plugin " + info.name + " cannot run in this build");
  }
  PluginScope scope = scope_template_;
  scope.owner_key = owner_key;
  scope.metadata = metadata;
  // Record the upstreams create resolves: the instance holds what it found,
  // so it must be rebuilt when an id comes to name another object.
  std::vector<UpstreamUse> uses;
  if (scope_template_.find_upstream) {
    scope.find_upstream = [&uses, find = scope_template_.find_upstream](std::string_view id) {
      auto found = find(id);
      uses.push_back(UpstreamUse{std::string(id), found});
      return found;
    };
  }
  auto made = info.create(conf, scope);
  if (!made) return made.error();
  cache_[std::move(key)] = Cached{*made, std::move(uses)};
  return std::move(*made);
}

bool ChainBuilder::same_upstreams(const std::vector<UpstreamUse>& uses) const {
  for (const auto& use : uses) {
    const auto now =
        scope_template_.find_upstream ? scope_template_.find_upstream(use.id) : nullptr;
    if (now != use.found) return false;
  }
  return true;
}

core::Result<ChainEntry> ChainBuilder::make_entry(const std::string& name, const json::value& conf,
                                                  const PluginSource& source) {
  const PluginInfo* info = find_plugin(name);
  if (!info) return core::config_error("unknown plugin [" + name + "]");
  if (auto st = check_plugin_conf(name, conf, SchemaType::kRoute); !st) return st.error();
  ChainEntry e;
  e.info = info;
  e.priority = info->priority;
  e.source = source.kind;
  e.source_id = source.id;
  if (const auto* meta = meta_of(conf)) {
    if (const auto* p = meta->if_contains("priority"); p && p->is_number()) {
      e.priority = core::saturate<int>(p->to_number<double>());
    }
    if (const auto* f = meta->if_contains("filter")) {
      auto expr = router::Expr::compile(*f);
      if (!expr) {
        return core::config_error("failed to validate the 'filter' expression: " +
                                  expr.error().message);
      }
      e.filter = std::shared_ptr<const router::Expr>(std::move(*expr));
    }
    if (const auto* r = meta->if_contains("error_response")) {
      e.has_error_response = true;
      // core.response.exit: a string as it is, a table as JSON + "\n".
      e.error_response =
          r->is_string() ? std::string(r->get_string()) : json::serialize(*r) + "\n";
    }
  }
  auto plugin = instance(*info, conf.get_object(), source.owner_key);
  if (!plugin) {
    return core::config_error("failed to check the configuration of plugin " + name + " err: " +
                              plugin.error().message);
  }
  e.plugin = std::move(*plugin);
  e.phases = e.plugin->phases();
  return e;
}

std::shared_ptr<const PluginChain> ChainBuilder::finish(std::vector<ChainEntry> entries) {
  std::sort(entries.begin(), entries.end(), [](const ChainEntry& a, const ChainEntry& b) {
    return a.priority != b.priority ? a.priority > b.priority : a.info->name < b.info->name;
  });
  auto chain = std::make_shared<PluginChain>();
  for (const auto& e : entries) chain->phases |= e.phases;
  chain->entries = std::move(entries);
  return chain;
}

core::Result<std::shared_ptr<const PluginChain>> ChainBuilder::route_chain(
    const std::vector<PluginSource>& sources) {
  // name -> (conf, source); later sources win, except plugin_config over route.
  std::map<std::string, std::pair<const json::value*, const PluginSource*>> merged;
  for (const auto& src : sources) {
    if (!src.plugins) continue;
    for (const auto& [name, conf] : *src.plugins) {
      auto it = merged.find(std::string(name));
      if (it != merged.end() && src.kind == "plugin_config" && it->second.second->kind == "route") {
        continue;
      }
      merged[std::string(name)] = {&conf, &src};
    }
  }
  if (merged.empty()) return std::shared_ptr<const PluginChain>();
  std::vector<ChainEntry> entries;
  for (const auto& [name, pick] : merged) {
    if (disabled(*pick.first)) continue;
    auto e = make_entry(name, *pick.first, *pick.second);
    if (!e) return e.error();
    entries.push_back(std::move(*e));
  }
  if (entries.empty()) return std::shared_ptr<const PluginChain>();
  return finish(std::move(entries));
}

core::Result<std::shared_ptr<const PluginChain>> ChainBuilder::consumer_chain(
    const std::vector<PluginSource>& sources) {
  std::map<std::string, std::pair<const json::value*, const PluginSource*>> merged;
  for (const auto& src : sources) {
    if (!src.plugins) continue;
    for (const auto& [name, conf] : *src.plugins) {
      const PluginInfo* info = find_plugin(name);
      if (info && info->is_auth) continue;
      merged[std::string(name)] = {&conf, &src};
    }
  }
  std::vector<ChainEntry> entries;
  for (const auto& [name, pick] : merged) {
    if (disabled(*pick.first)) continue;
    auto e = make_entry(name, *pick.first, *pick.second);
    if (!e) return e.error();
    entries.push_back(std::move(*e));
  }
  if (entries.empty()) return std::shared_ptr<const PluginChain>();
  return finish(std::move(entries));
}

core::Result<std::shared_ptr<const PluginChain>> ChainBuilder::global_chain(
    const std::vector<PluginSource>& rules) {
  std::map<std::string, std::pair<const json::value*, const PluginSource*>> merged;
  std::map<std::string, std::string> dropped;
  for (const auto& rule : rules) {
    if (!rule.plugins) continue;
    for (const auto& [name, conf] : *rule.plugins) {
      const std::string n(name);
      if (dropped.count(n)) continue;
      if (auto it = merged.find(n); it != merged.end()) {
        spdlog::error("global rules {} and {} both configure plugin {}; it is removed from the "
                      "global rules",
                      it->second.second->id, rule.id, n);
        dropped[n] = rule.id;
        merged.erase(it);
        continue;
      }
      merged[n] = {&conf, &rule};
    }
  }
  std::vector<ChainEntry> entries;
  for (const auto& [name, pick] : merged) {
    if (disabled(*pick.first)) continue;
    auto e = make_entry(name, *pick.first, *pick.second);
    if (!e) return e.error();
    entries.push_back(std::move(*e));
  }
  if (entries.empty()) return std::shared_ptr<const PluginChain>();
  return finish(std::move(entries));
}

void ChainBuilder::collect_garbage() {
  std::erase_if(cache_, [](const auto& kv) { return kv.second.plugin.expired(); });
}

}  // namespace torii::plugins
