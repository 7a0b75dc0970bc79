// What an Admin API URL names once routed: the resource kind, the item id,
// the owning consumer (credentials) and the PATCH sub-path.
#pragma once

#include <optional>
#include <string>

#include "admin/resource_api.h"
#include "admin/resource_kinds.h"

namespace torii::admin {

struct ResourceApi::Target {
  const ResourceKind* kind = nullptr;  // points into the static kind table
  // The id in the URL: /routes/{id}, /consumers/{username},
  // /consumers/{u}/credentials/{id}, /plugin_metadata/{plugin}.
  std::optional<std::string> id;
  std::string consumer;  // credentials: the {u} of /consumers/{u}/credentials
  std::string sub_path;  // what follows the id: "upstream/nodes"; "" for none
};

}  // namespace torii::admin
