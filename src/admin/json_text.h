// JSON text as APISIX writes it (lua-cjson): like boost::json::serialize,
// except that floating-point numbers print with "%.14g" ("1.5", "3",
// "1e+30") instead of Boost's "1.5E0", so that stored values and responses
// read the same as APISIX's.
#pragma once

#include <boost/json/value.hpp>
#include <string>

namespace torii::admin {

std::string to_json(const boost::json::value& v);

}  // namespace torii::admin
