// YAML -> Boost.JSON with APISIX's environment substitution: `${{VAR}}` and
// `${{VAR:=default}}` are replaced in keys and scalar values, after parsing
// (a value cannot break the document's syntax). A scalar a substitution
// changed is typed as APISIX's resolve_conf_var does, quoted or not:
// "true" / "false" become booleans, what Lua's tonumber reads a number.
// Other plain (unquoted) scalars are typed as YAML (null, booleans,
// integers, floats); other quoted scalars stay strings. Errors name the
// YAML line.
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

// resolve_conf_var's typing of a value a substitution produced: "true" and
// "false" are booleans, a number Lua's tonumber reads ("8080", " 1.5 ",
// "0x1F", "1e3"; not "inf") is a number, anything else stays text.
boost::json::value substituted_value(std::string_view text);

// The substitution over a parsed JSON document (apisix.json): every string
// value and key; a value it changed is typed by substituted_value().
core::Status substitute_env_in(boost::json::value& v);

}  // namespace torii::config
