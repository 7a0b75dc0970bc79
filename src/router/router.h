// The HTTP router: APISIX's lua-resty-radixtree matching semantics in C++.
//
// Built once per config snapshot on the control thread from RouteSpecs, then
// only read (concurrently, from every worker) through match(). Lookup cost
// for exact and prefix paths does not grow with the number of routes: exact
// paths are a hash lookup, prefixes a walk down a radix tree whose depth is
// bounded by the request path length.
//
// Semantics (see ../shared/reference/apisix.md section 3.3):
// - "/a/b" is exact; a trailing '*' makes a prefix ("/a/*" matches "/a/x" but
//   not "/a"; "/a*" matches "/a", "/ab"); a '*' elsewhere matches anything.
// - exact candidates first, then prefixes from longest to shortest; within
//   one path key: priority desc, then original path length desc, then
//   insertion order.
// - per candidate, in order: methods, remote_addrs, hosts (uri routers
//   only), vars. The first candidate whose conditions all pass wins.
// - radixtree_host_uri: host routes first (exact host, then wildcard hosts
//   from longest suffix), then host-less routes.
// - radixtree_uri_with_parameter: ":name" matches one segment, "*name" the
//   rest; captures are returned in Match::params.
#pragma once

#include <boost/asio/ip/address.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"
#include "http/method.h"
#include "http/variables.h"

namespace torii::router {

enum class RouterKind : uint8_t {
  kRadixtreeHostUri,           // "radixtree_host_uri", the default
  kRadixtreeUri,               // "radixtree_uri"
  kRadixtreeUriWithParameter,  // "radixtree_uri_with_parameter"
};

// Parses the config.yaml name; nullopt for an unknown router.
std::optional<RouterKind> parse_router_kind(std::string_view name);

// What the router needs of one route. Built by the config compiler from an
// already schema-validated route (hosts may come from the route's service).
struct RouteSpec {
  uint32_t index = 0;                     // returned by match(); the snapshot's route slot
  std::vector<std::string> uris;          // at least one
  std::vector<std::string> hosts;         // empty = any host; "*.x" wildcard; "*" any
  uint32_t methods = 0;                   // OR of http::Method bits; 0 = any method
  std::vector<std::string> remote_addrs;  // IPv4/IPv6 with optional /prefix; empty = any
  boost::json::value vars;                // lua-resty-expr array, or null for none
  int priority = 0;
};

// One request's routing inputs. All views must outlive the match() call;
// `vars` is only consulted for routes that have `vars`.
struct MatchRequest {
  std::string_view path;  // decoded, normalised path, no query
  std::string_view host;  // lower-cased, no port
  std::string_view host_header;  // Host header as sent (with port), for
                                 // radixtree_uri routes whose host has ':'
  http::Method method = http::Method::kGet;
  boost::asio::ip::address remote_addr;
  const http::VarSource* vars = nullptr;
};

struct Match {
  uint32_t index = 0;  // RouteSpec::index of the winner
  // radixtree_uri_with_parameter captures, as views into MatchRequest::path.
  std::vector<std::pair<std::string_view, std::string_view>> params;
};

class Router {
 public:
  virtual ~Router() = default;

  // Builds a router. Fails (ErrorSource::kConfig) naming the route index and
  // field when a spec cannot be compiled: bad CIDR, bad vars expression,
  // a regex RE2 cannot run. Never throws.
  static core::Result<std::unique_ptr<Router>> build(RouterKind kind,
                                                     std::span<const RouteSpec> routes);

  // Finds the route for a request. Returns false when nothing matches; on
  // true, `out` holds the winner. Thread-safe: const and allocation-free
  // except for params captures.
  virtual bool match(const MatchRequest& request, Match& out) const = 0;
};

}  // namespace torii::router
