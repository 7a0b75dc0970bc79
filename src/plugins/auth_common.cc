#include "plugins/auth_common.h"

#include "http/uri.h"
#include "plugins/consumer.h"

namespace torii::plugins {

std::string conf_string(const boost::json::object& conf, std::string_view key,
                        std::string fallback) {
  const auto* v = conf.if_contains(key);
  return v && v->is_string() ? std::string(v->get_string()) : fallback;
}

bool conf_bool(const boost::json::object& conf, std::string_view key, bool fallback) {
  const auto* v = conf.if_contains(key);
  return v && v->is_bool() ? v->get_bool() : fallback;
}

Step refuse_or_anonymous(PluginContext& ctx, const std::string& anonymous_consumer,
                         std::string_view message, const std::string& www_authenticate) {
  if (anonymous_consumer.empty()) {
    Exit e = Exit::message(401, message);
    e.headers.emplace_back("WWW-Authenticate", www_authenticate);
    return e;
  }
  auto anonymous = ctx.consumers().consumer(anonymous_consumer);
  if (!anonymous) return Exit::message(401, "Invalid user authorization");
  ctx.attach_consumer(std::move(anonymous), "");
  return kContinue;
}

void remove_query_credential(PluginContext& ctx, std::string_view name) {
  const std::string_view uri = ctx.request_uri();
  std::string target(uri.substr(0, uri.find('?')));
  const std::string rest = http::remove_query_arg(ctx.query(), name);
  if (!rest.empty()) target += "?" + rest;
  ctx.set_upstream_uri(std::move(target));
}

}  // namespace torii::plugins
