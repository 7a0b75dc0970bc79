// Router entry points: router-name parsing and the choice of implementation.
#include "router/router.h"

#include "router/router_impls.h"

namespace torii::router {

std::optional<RouterKind> parse_router_kind(std::string_view name) {
  if (name == "radixtree_host_uri") return RouterKind::kRadixtreeHostUri;
  if (name == "radixtree_uri") return RouterKind::kRadixtreeUri;
  if (name == "radixtree_uri_with_parameter") return RouterKind::kRadixtreeUriWithParameter;
  return std::nullopt;
}

core::Result<std::unique_ptr<Router>> Router::build(RouterKind kind,
                                                    std::span<const RouteSpec> routes) {
  switch (kind) {
    case RouterKind::kRadixtreeHostUri:
      return build_host_uri_router(routes);
    case RouterKind::kRadixtreeUri:
      return build_uri_router(routes, false);
    case RouterKind::kRadixtreeUriWithParameter:
      return build_uri_router(routes, true);
  }
  return core::config_error("unknown router kind");
}

}  // namespace torii::router
