// radixtree_host_uri: routes with hosts get one URI table per host, found
// through an exact-host map and a tree of reversed wildcard suffixes; routes
// without hosts share one more table, tried only when no host table matched.
#include <utility>
#include <vector>

#include "router/radix_tree.h"
#include "router/route_conditions.h"
#include "router/router_impls.h"
#include "router/string_map.h"
#include "router/uri_table.h"

namespace torii::router {
namespace {

class HostUriRouter final : public Router {
 public:
  // `routes[i]` is the compiled form of `specs[i]`.
  HostUriRouter(std::vector<RouteConditions> routes, std::span<const RouteSpec> specs)
      : routes_(std::move(routes)) {
    uint32_t order = 0;
    for (uint32_t slot = 0; slot < specs.size(); ++slot) {
      const RouteSpec& spec = specs[slot];
      const std::vector<HostPattern>& hosts = routes_[slot].hosts();
      // The sub-routers of radixtree_host_uri are built with no_param_match,
      // so ':' is literal here.
      if (hosts.empty()) {
        for (const std::string& uri : spec.uris) {
          hostless_.add(slot, uri, false, spec.priority, order++);
        }
        continue;
      }
      for (const HostPattern& host : hosts) {
        UriTable& table = table_for(host);
        for (const std::string& uri : spec.uris)
          table.add(slot, uri, false, spec.priority, order++);
      }
    }
    for (UriTable& t : tables_) t.finish();
    hostless_.finish();
    wildcard_hosts_.finish();
  }

  bool match(const MatchRequest& request, Match& out) const override {
    out.params.clear();
    // An exact host first, then wildcard suffixes longest first, then the
    // host-less routes: a host route always beats a host-less one.
    if (!exact_hosts_.empty()) {
      auto it = exact_hosts_.find(request.host);
      if (it != exact_hosts_.end() && tables_[it->second].match(request, routes_, false, out)) {
        return true;
      }
    }
    for (uint32_t node = wildcard_hosts_.longest_prefix(ReversedKey{request.host});
         node != RadixTree::kNone; node = wildcard_hosts_.shorter(node)) {
      if (tables_[wildcard_hosts_.value(node)].match(request, routes_, false, out)) return true;
    }
    return hostless_.match(request, routes_, false, out);
  }

 private:
  UriTable& table_for(const HostPattern& host) {
    uint32_t next = static_cast<uint32_t>(tables_.size());
    uint32_t slot;
    if (host.wildcard) {
      // "*.foo.com" -> key "moc.oof." in a tree walked over the reversed
      // request host; "*" -> the empty key, which matches every host.
      slot = wildcard_hosts_.insert(std::string(host.host.rbegin(), host.host.rend()), next);
    } else {
      slot = exact_hosts_.try_emplace(host.host, next).first->second;
    }
    if (slot == next) tables_.emplace_back();
    return tables_[slot];
  }

  std::vector<RouteConditions> routes_;
  StringMap<uint32_t> exact_hosts_;  // host -> tables_ slot
  RadixTree wildcard_hosts_;         // reversed suffix -> tables_ slot
  std::vector<UriTable> tables_;
  UriTable hostless_;
};

}  // namespace

core::Result<std::unique_ptr<Router>> build_host_uri_router(std::span<const RouteSpec> routes) {
  auto conditions = compile_routes(routes);
  if (!conditions) return conditions.error();
  return std::unique_ptr<Router>(
      std::make_unique<HostUriRouter>(std::move(conditions.value()), routes));
}

}  // namespace torii::router
