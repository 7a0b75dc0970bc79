// The response bodies every Admin API handler builds: JSON values,
// {"error_msg": ...} errors, plain-string bodies and etcd's "Key not found".
#pragma once

#include <boost/json/value.hpp>
#include <string>
#include <string_view>

#include "admin/admin_types.h"

namespace torii::admin {

AdminResponse json_reply(int status, const boost::json::value& body);
// {"error_msg": message}
AdminResponse error_reply(int status, std::string_view message);
// The body as given: APISIX answers a few cases with a bare string
// ("page_size must be between 10 and 500", "done").
AdminResponse plain_reply(int status, std::string body);
// 404 {"message":"Key not found"}: what etcd says of a missing key.
AdminResponse key_not_found();

}  // namespace torii::admin
