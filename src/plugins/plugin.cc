#include "plugins/plugin.h"

#include <boost/json/serialize.hpp>

namespace torii::plugins {

Exit Exit::message(int status, std::string_view msg) {
  boost::json::object o;
  o["message"] = msg;
  return json(status, o);
}

Exit Exit::json(int status, const boost::json::object& body) {
  Exit e;
  e.status = status;
  e.body = boost::json::serialize(body);
  e.body.push_back('\n');  // ngx.say's newline, as APISIX sends it
  return e;
}

net::Task<Step> Plugin::rewrite_async(PluginContext& ctx) const { co_return rewrite(ctx); }
net::Task<Step> Plugin::access_async(PluginContext& ctx) const { co_return access(ctx); }

}  // namespace torii::plugins
