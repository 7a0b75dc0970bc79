// The checks an Admin API write runs on a resource before anything is
// stored, short of reading the store: APISIX's forbidden-property rule, the
// resource schema and code rules (config::check_resource), the plugin confs
// (plugin registry) and the route `vars` expression (router::Expr). All
// messages are APISIX's `error_msg` wording.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "admin/resource_kinds.h"
#include "config/data_encryption.h"
#include "core/result.h"

namespace torii::admin {

// APISIX's check_forbidden_properties on PUT/POST: a client may not set
// create_time/update_time at the top level, in `upstream` or as a key of
// `plugins`. Returns the message ("the property is forbidden:  create_time",
// with APISIX's two spaces; "... upstream.update_time", "... plugins.create_time").
std::optional<std::string> forbidden_property(const boost::json::object& conf);

struct ValidateContext {
  // Decrypts SSL keys already encrypted at rest (PATCH) to check them.
  const config::DataEncryption* encryption = nullptr;
  // consumers: the username in the URL, which must equal the body's.
  std::optional<std::string_view> url_username;
};

// Validates a resource of `kind` as it will be stored (id already set):
// schema and code rules, then (consumers) the URL username, then plugins,
// then (routes) `vars`. Errors are core::config_error with APISIX's message.
// Not for plugin_metadata (see check_plugin_metadata).
core::Status validate_resource(const ResourceKind& kind, const boost::json::value& obj,
                               const ValidateContext& ctx);

// plugin_metadata/{name}: the plugin must exist ("invalid plugin name") and
// the body must satisfy its metadata schema ("invalid configuration: ...").
core::Status check_plugin_metadata(std::string_view name, const boost::json::value& obj);

}  // namespace torii::admin
