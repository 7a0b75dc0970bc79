// config.yaml `torii.client_limits` (a Torii addition): the listener's abuse
// limits, read into net::ClientLimitSettings. Part of load_server_config().
#pragma once

#include <yaml-cpp/yaml.h>

#include "config/server_config.h"

namespace torii::config {

// Applies `torii.client_limits` (`block` may be null) to c.client_limits;
// errors name the key: `config.yaml: torii.client_limits.burst: ...`.
core::Status apply_client_limits(const YAML::Node& block, ServerConfig& c);

}  // namespace torii::config
