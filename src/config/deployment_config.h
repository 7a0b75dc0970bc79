// The `deployment` section of config.yaml (role, config provider, Admin API,
// etcd, sqlite) and `apisix.data_encryption`. Part of load_server_config().
#pragma once

#include <yaml-cpp/yaml.h>

#include "config/server_config.h"

namespace torii::config {

// Applies `deployment` (may be null) to `c`; errors name the key.
core::Status apply_deployment(const YAML::Node& deployment, ServerConfig& c);

// Applies `apisix.data_encryption` (may be null) to `c`.
core::Status apply_data_encryption(const YAML::Node& data_encryption, ServerConfig& c);

}  // namespace torii::config
