// YAML -> Boost.JSON with APISIX's environment substitution: `${{VAR}}` and
// `${{VAR:=default}}` are replaced in keys and scalar values. Plain (unquoted)
// scalars are typed after substitution (null, booleans, integers, floats);
// quoted scalars stay strings. Errors name the YAML line.
#pragma once

#include <boost/json/value.hpp>
#include <string>
#include <string_view>

#include "core/result.h"

namespace torii::config {

core::Result<boost::json::value> yaml_to_json(std::string_view yaml_text);

// Replaces every ${{VAR}} / ${{VAR:=default}} in `text`. An unset variable
// without a default is an error naming it.
core::Result<std::string> substitute_env(std::string_view text);

}  // namespace torii::config
