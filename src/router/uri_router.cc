// radixtree_uri and radixtree_uri_with_parameter: one URI table for all
// routes, with each route's hosts checked as a condition.
#include <utility>
#include <vector>

#include "router/route_conditions.h"
#include "router/router_impls.h"
#include "router/uri_table.h"

namespace torii::router {
namespace {

class UriRouter final : public Router {
 public:
  UriRouter(std::vector<RouteConditions> routes, UriTable table)
      : routes_(std::move(routes)), table_(std::move(table)) {}

  bool match(const MatchRequest& request, Match& out) const override {
    out.params.clear();
    return table_.match(request, routes_, /*check_hosts=*/true, out);
  }

 private:
  std::vector<RouteConditions> routes_;
  UriTable table_;
};

}  // namespace

core::Result<std::unique_ptr<Router>> build_uri_router(std::span<const RouteSpec> routes,
                                                       bool param_mode) {
  auto conditions = compile_routes(routes);
  if (!conditions) return conditions.error();
  UriTable table;
  uint32_t order = 0;
  for (uint32_t slot = 0; slot < routes.size(); ++slot) {
    for (const std::string& uri : routes[slot].uris) {
      table.add(slot, uri, param_mode, routes[slot].priority, order++);
    }
  }
  table.finish();
  return std::unique_ptr<Router>(
      std::make_unique<UriRouter>(std::move(conditions.value()), std::move(table)));
}

}  // namespace torii::router
