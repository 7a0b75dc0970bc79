// Lua's tostring() of a JSON value, as APISIX's Admin API uses it to compare
// ids ("1" == 1) and to print them in messages ("route [1]").
#pragma once

#include <boost/json/value.hpp>
#include <string>

namespace torii::admin {

// Strings as they are; numbers as LuaJIT prints them ("%.14g": 1.0 -> "1");
// true/false; anything else as its JSON text.
std::string lua_tostring(const boost::json::value& v);

}  // namespace torii::admin
