// What the auth plugins (key-auth, basic-auth, jwt-auth) share: reading
// their route conf, APISIX's answer when no credential matched (401 with
// WWW-Authenticate, or the anonymous consumer), and removing a credential
// from the query before the request goes upstream.
#pragma once

#include <boost/json/object.hpp>
#include <string>
#include <string_view>

#include "plugins/plugin.h"

namespace torii::plugins {

// conf[key] when it is a string, else `fallback`.
std::string conf_string(const boost::json::object& conf, std::string_view key,
                        std::string fallback = {});
// conf[key] when it is a boolean, else `fallback`.
bool conf_bool(const boost::json::object& conf, std::string_view key, bool fallback = false);

// No credential matched (APISIX's auth plugins): with `anonymous_consumer`
// empty, 401 {"message": <message>} with `WWW-Authenticate:
// <www_authenticate>`; otherwise that consumer is attached and the request
// goes on, or 401 {"message":"Invalid user authorization"} when it does
// not exist.
Step refuse_or_anonymous(PluginContext& ctx, const std::string& anonymous_consumer,
                         std::string_view message, const std::string& www_authenticate);

// Sends the request upstream without the query argument `name`
// (hide_credentials).
void remove_query_credential(PluginContext& ctx, std::string_view name);

}  // namespace torii::plugins
