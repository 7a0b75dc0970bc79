// The per-route checks run on a path candidate, in lua-resty-radixtree's
// order: methods -> remote_addrs -> hosts (uri routers only) -> vars.
// Compiled once per snapshot from a RouteSpec.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/result.h"
#include "router/expr.h"
#include "router/ip_matcher.h"
#include "router/router.h"

namespace torii::router {

// One entry of a route's `hosts`, lower-cased. "*.x" and "*" are suffix
// matches on what follows the '*'; a host with ':' is compared with the Host
// header as sent (port included), like radixtree's http_host rule.
struct HostPattern {
  std::string host;  // without the leading '*'
  bool wildcard = false;
  bool with_port = false;

  static HostPattern parse(std::string_view written);
  bool matches(const MatchRequest& request) const;
};

class RouteConditions {
 public:
  // Errors name the field: `routes[3].remote_addrs: invalid ip address: "x"`.
  static core::Result<RouteConditions> compile(const RouteSpec& spec);

  uint32_t index() const { return index_; }
  const std::vector<HostPattern>& hosts() const { return hosts_; }

  // True when the request passes every condition; `check_hosts` is false
  // under radixtree_host_uri, where the host tree already chose the route.
  bool passes(const MatchRequest& request, bool check_hosts) const;

 private:
  uint32_t index_ = 0;
  uint32_t methods_ = 0;
  std::optional<IpMatcher> remote_addrs_;
  std::vector<HostPattern> hosts_;
  std::unique_ptr<Expr> vars_;
};

// Compiles every route, in order (slot i is routes[i]). Also refuses a route
// without uris, naming it: `routes[3].uris: at least one uri is required`.
core::Result<std::vector<RouteConditions>> compile_routes(std::span<const RouteSpec> routes);

}  // namespace torii::router
