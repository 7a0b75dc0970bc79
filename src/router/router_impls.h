// Private to src/router: the concrete Router implementations behind
// Router::build, one per file (uri_router.cc, host_uri_router.cc).
#pragma once

#include <memory>
#include <span>

#include "core/result.h"
#include "router/router.h"

namespace torii::router {

// radixtree_uri (param_mode false) and radixtree_uri_with_parameter (true).
core::Result<std::unique_ptr<Router>> build_uri_router(std::span<const RouteSpec> routes,
                                                       bool param_mode);
// radixtree_host_uri.
core::Result<std::unique_ptr<Router>> build_host_uri_router(std::span<const RouteSpec> routes);

}  // namespace torii::router
