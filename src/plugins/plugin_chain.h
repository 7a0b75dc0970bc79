// The ordered list of plugin instances a request runs, computed once per
// snapshot (never per request), with APISIX's merge rules:
//   route chain   = service plugins, overlaid by plugin_config plugins the
//                   route does not set, overlaid by the route's own (one
//                   instance per plugin name; the route wins, then the
//                   plugin_config, then the service);
//   global chain  = the plugins of every global rule (a plugin present in
//                   two global rules is dropped, with an error, as APISIX
//                   3.18 does); global and route copies of one plugin both
//                   run, except prefer_route plugins (prometheus).
// Each chain is sorted by descending priority (`_meta.priority` overrides a
// plugin's default), ties by name. `_meta.disable` removes the entry.
//
// ChainBuilder keeps the instances of the previous snapshots: an instance
// whose owner and conf are unchanged, and whose upstream ids (looked up at
// create through PluginScope::find_upstream) still name the same upstream
// objects, is reused (its state survives the rebuild); a changed conf or a
// changed upstream it resolved gets a fresh instance (state reset, as
// APISIX). Instances that resolve no upstream ignore upstream edits.
#pragma once

#include <boost/json/object.hpp>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/result.h"
#include "plugins/plugin.h"
#include "plugins/plugin_registry.h"
#include "router/expr.h"

namespace torii::plugins {

struct ChainEntry {
  std::shared_ptr<const Plugin> plugin;
  const PluginInfo* info = nullptr;
  int priority = 0;
  uint8_t phases = 0;                          // Plugin::phases()
  std::string source;                          // "route", "service", "plugin_config", "global_rule"
  std::string source_id;                       // the owning resource's id
  std::shared_ptr<const router::Expr> filter;  // _meta.filter; null: always runs
  // _meta.error_response, ready to send: replaces the body of an Exit with
  // status >= 400 from this plugin. Empty: keep the plugin's body.
  std::string error_response;
  bool has_error_response = false;
};

struct PluginChain {
  std::vector<ChainEntry> entries;
  uint8_t phases = 0;  // union of the entries' phases
  bool empty() const { return entries.empty(); }
  bool has(Phase p) const { return (phases & Plugin::bit(p)) != 0; }
  // True when an entry of that plugin name is present (prefer_route).
  bool contains(std::string_view name) const;
};

// One source of plugin confs for a chain.
struct PluginSource {
  const boost::json::object* plugins = nullptr;  // the resource's `plugins`
  std::string kind;                              // "route", "service", ...
  std::string id;
  std::string owner_key;                         // "/apisix/routes/1"
};

class ChainBuilder {
 public:
  // Scope settings shared by every instance of the next build (workers,
  // upstream lookups). Set before building each snapshot.
  void set_scope_template(PluginScope scope) { scope_template_ = std::move(scope); }
  // plugin_metadata by plugin name, for the next build (PluginScope::metadata).
  void set_metadata(std::map<std::string, boost::json::object, std::less<>> metadata) {
    metadata_ = std::move(metadata);
  }

  // Route chain: `sources` in increasing precedence (service, plugin_config,
  // route); a later source's plugin replaces an earlier one's, except that a
  // plugin_config entry never replaces the route's (callers pass
  // plugin_config before route).
  core::Result<std::shared_ptr<const PluginChain>> route_chain(const std::vector<PluginSource>& sources);
  // Consumer chain: `sources` are the consumer_group then the consumer (the
  // consumer's conf wins). Auth plugins are left out: on a consumer they
  // identify it (consumer schema), they do not run.
  core::Result<std::shared_ptr<const PluginChain>> consumer_chain(
      const std::vector<PluginSource>& sources);
  // Global chain from every global rule.
  core::Result<std::shared_ptr<const PluginChain>> global_chain(const std::vector<PluginSource>& rules);
  // Drops instances no live snapshot uses. Call once per build.
  void collect_garbage();

 private:
  core::Result<ChainEntry> make_entry(const std::string& name, const boost::json::value& conf,
                                      const PluginSource& source);
  core::Result<std::shared_ptr<const Plugin>> instance(const PluginInfo& info,
                                                       const boost::json::object& conf,
                                                       const std::string& owner_key);
  static std::shared_ptr<const PluginChain> finish(std::vector<ChainEntry> entries);

  // An upstream id an instance looked up at create, and what it found
  // (null: no such upstream). Held so the comparison is by identity: the
  // snapshot builder gives an unchanged upstream the same object.
  struct UpstreamUse {
    std::string id;
    std::shared_ptr<const upstream::Upstream> found;
  };
  struct Cached {
    std::weak_ptr<const Plugin> plugin;
    std::vector<UpstreamUse> upstreams;
  };
  // True when every id in `uses` still resolves to the object recorded.
  bool same_upstreams(const std::vector<UpstreamUse>& uses) const;

  PluginScope scope_template_;
  std::map<std::string, boost::json::object, std::less<>> metadata_;
  std::map<std::string, Cached> cache_;  // owner + name + conf -> instance
};

}  // namespace torii::plugins
