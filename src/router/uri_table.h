// One lua-resty-radixtree instance: the URI side of routing. Exact paths sit
// in a hash map, prefix paths in a radix tree walked longest first; each
// path key holds its candidates pre-sorted by priority desc, original path
// length desc, insertion order. Used alone by radixtree_uri(_with_parameter)
// and once per host (plus once for host-less routes) by radixtree_host_uri.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "router/path_pattern.h"
#include "router/radix_tree.h"
#include "router/route_conditions.h"
#include "router/router.h"
#include "router/string_map.h"

namespace torii::router {

class UriTable {
 public:
  // Adds one uri of route `route` (a slot in the caller's conditions
  // vector). With `param_mode`, ':' starts a parameter and ends the key.
  // `order` breaks full ties: lower was inserted first.
  void add(uint32_t route, std::string_view path, bool param_mode, int priority, uint32_t order);

  // Sorts candidate lists and links the tree. Call once, after the last add.
  void finish();

  // First candidate, exact keys before prefixes, whose conditions pass and
  // whose pattern (if any) matches. Fills out.index and appends captures.
  bool match(const MatchRequest& request, const std::vector<RouteConditions>& routes,
             bool check_hosts, Match& out) const;

  bool empty() const { return exact_.empty() && prefix_.empty(); }

 private:
  struct Candidate {
    uint32_t route = 0;
    int32_t pattern = -1;  // index into patterns_, -1 when the key decides
    int priority = 0;
    uint32_t path_length = 0;
    uint32_t order = 0;
  };
  using List = std::vector<Candidate>;

  List& list_for_exact(std::string_view key);
  List& list_for_prefix(std::string_view key);

  StringMap<uint32_t> exact_;  // path -> lists_ slot
  RadixTree prefix_;           // prefix -> lists_ slot
  std::vector<List> lists_;
  std::vector<PathPattern> patterns_;
};

}  // namespace torii::router
