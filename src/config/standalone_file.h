// The standalone configuration file (APISIX's conf/apisix.yaml or
// apisix.json): top-level collections of resources. YAML files must end with
// a `#END` line (a guard against half-written files); `${{VAR}}` and
// `${{VAR:=default}}` are substituted; items without an id get `arr_<n>`
// (1-based position), consumers use `username`.
#pragma once

#include <string>
#include <string_view>

#include "config/resource_set.h"
#include "core/result.h"

namespace torii::config {

enum class FileFormat : uint8_t { kYaml, kJson };

// Parses file content. Errors name the collection and item:
// `routes[2]: expected an object`.
core::Result<ResourceSet> parse_standalone(std::string_view content, FileFormat format);

// Reads and parses `path` (format from its extension: .json is JSON).
core::Result<ResourceSet> load_standalone_file(const std::string& path);

}  // namespace torii::config
