// lua_tostring: ids and numbers printed the way APISIX's Lua prints them.
#include "admin/lua_tostring.h"

#include <boost/json/serialize.hpp>
#include <cstdio>

namespace torii::admin {

std::string lua_tostring(const boost::json::value& v) {
  switch (v.kind()) {
    case boost::json::kind::string:
      return std::string(v.get_string());
    case boost::json::kind::int64:
      return std::to_string(v.get_int64());
    case boost::json::kind::uint64:
      return std::to_string(v.get_uint64());
    case boost::json::kind::double_: {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.14g", v.get_double());
      return buf;
    }
    case boost::json::kind::bool_:
      return v.get_bool() ? "true" : "false";
    default:
      return boost::json::serialize(v);
  }
}

}  // namespace torii::admin
