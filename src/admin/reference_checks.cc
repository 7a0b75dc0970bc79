// Store look-ups behind the Admin API's reference checks: referenced ids on
// write (apisix/admin/routes.lua, services.lua, stream_routes.lua,
// consumers.lua, apisix/upstream.lua check_upstream_conf) and users of a
// resource on delete (each kind's delete_checker).
#include "admin/reference_checks.h"

#include <boost/json/parse.hpp>

#include <vector>

#include "admin/lua_tostring.h"

namespace torii::admin {
namespace {

namespace json = boost::json;

core::Error refused(std::string message) { return core::config_error(std::move(message)); }

const json::object* object_at(const json::object& obj, std::string_view field) {
  const auto* v = obj.if_contains(field);
  return v != nullptr && v->is_object() ? &v->get_object() : nullptr;
}

bool same_id(const json::value* v, std::string_view id) {
  return v != nullptr && !v->is_null() && lua_tostring(*v) == id;
}

std::optional<json::object> parse_object(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return std::nullopt;
  return std::move(v.get_object());
}

// `<what> id [X]` must name an existing key under `dir`.
net::Task<core::Status> expect_exists(store::ConfigStore& store, std::string prefix,
                                      std::string dir, std::string what, std::string id) {
  auto found = co_await store.get(prefix + "/" + dir + "/" + id);
  if (!found) co_return found.error();
  if (!*found) {
    co_return refused("failed to fetch " + what + " info by " + what + " id [" + id +
                      "], response code: 404");
  }
  co_return core::ok_status();
}

// apisix/upstream.lua: an upstream's tls.client_cert_id must be an ssl of
// type client.
net::Task<core::Status> check_client_cert(store::ConfigStore& store, std::string prefix,
                                          const json::object* upstream) {
  if (upstream == nullptr) co_return core::ok_status();
  const json::object* tls = object_at(*upstream, "tls");
  const json::value* cert_id = tls != nullptr ? tls->if_contains("client_cert_id") : nullptr;
  if (cert_id == nullptr || cert_id->is_null()) co_return core::ok_status();

  const std::string id = lua_tostring(*cert_id);
  auto found = co_await store.get(prefix + "/ssls/" + id);
  if (!found) co_return found.error();
  if (!*found) {
    co_return refused("failed to fetch ssl info by ssl id [" + id + "], response code: 404");
  }
  const auto ssl = parse_object((*found)->value);
  const json::value* type = ssl ? ssl->if_contains("type") : nullptr;
  if (type == nullptr || !type->is_string() || type->get_string() != "client") {
    co_return refused("failed to fetch ssl info by ssl id [" + id + "], wrong ssl type");
  }
  co_return core::ok_status();
}

struct Stored {
  std::string name;  // as APISIX prints it in "route [1]": the id, or a consumer's username
  json::object value;
};

// Every resource stored under `dir`, parsed; values that are not JSON
// objects (APISIX's "init_dir" markers) are skipped, as are credentials
// when listing consumers.
net::Task<core::Result<std::vector<Stored>>> load(store::ConfigStore& store, std::string prefix,
                                                  std::string dir) {
  const std::string base = prefix + "/" + dir + "/";
  auto range = co_await store.range(base);
  if (!range) co_return range.error();
  std::vector<Stored> out;
  for (auto& kv : range->kvs) {
    const std::string_view rest = std::string_view(kv.key).substr(base.size());
    if (rest.empty() || rest.find('/') != std::string_view::npos) continue;
    auto value = parse_object(kv.value);
    if (!value) continue;
    const json::value* id = value->if_contains(dir == "consumers" ? "username" : "id");
    std::string name = id != nullptr && !id->is_null() ? lua_tostring(*id) : std::string(rest);
    out.push_back(Stored{std::move(name), std::move(*value)});
  }
  co_return std::move(out);
}

// traffic-split's weighted_upstreams naming `upstream_id`.
bool traffic_split_uses(const json::object& resource, std::string_view upstream_id) {
  const json::object* plugins = object_at(resource, "plugins");
  const json::object* split = plugins != nullptr ? object_at(*plugins, "traffic-split") : nullptr;
  const json::value* rules = split != nullptr ? split->if_contains("rules") : nullptr;
  if (rules == nullptr || !rules->is_array()) return false;
  for (const auto& rule : rules->get_array()) {
    if (!rule.is_object()) continue;
    const json::value* weighted = rule.get_object().if_contains("weighted_upstreams");
    if (weighted == nullptr || !weighted->is_array()) continue;
    for (const auto& up : weighted->get_array()) {
      if (up.is_object() && same_id(up.get_object().if_contains("upstream_id"), upstream_id)) {
        return true;
      }
    }
  }
  return false;
}

bool grpc_transcode_uses(const json::object& resource, std::string_view proto_id) {
  const json::object* plugins = object_at(resource, "plugins");
  const json::object* conf = plugins != nullptr ? object_at(*plugins, "grpc-transcode") : nullptr;
  return conf != nullptr && same_id(conf->if_contains("proto_id"), proto_id);
}

net::Task<core::Status> upstream_in_use(store::ConfigStore& store, std::string prefix,
                                        std::string id) {
  // {dir, name in messages, whether a direct upstream_id counts}
  struct Users {
    const char* dir;
    const char* name;
    bool direct;
  };
  static constexpr Users kUsers[] = {
      {"routes", "route", true},
      {"services", "service", true},
      {"plugin_configs", "plugin_config", false},
      {"consumers", "consumer", false},
      {"consumer_groups", "consumer_group", false},
      {"global_rules", "global_rules", false},
  };
  for (const auto& users : kUsers) {
    auto items = co_await load(store, prefix, users.dir);
    if (!items) co_return items.error();
    for (const auto& item : *items) {
      if (traffic_split_uses(item.value, id)) {
        co_return refused("can not delete this upstream, plugin in " + std::string(users.name) +
                          " [" + item.name + "] is still using it now");
      }
      if (users.direct && same_id(item.value.if_contains("upstream_id"), id)) {
        co_return refused("can not delete this upstream, " + std::string(users.name) + " [" +
                          item.name + "] is still using it now");
      }
    }
  }
  co_return core::ok_status();
}

// The first resource under `dir` whose `field` names `id`, as "<name> [X]".
net::Task<core::Result<std::optional<std::string>>> first_user(store::ConfigStore& store,
                                                               std::string prefix, std::string dir,
                                                               std::string field, std::string id) {
  auto items = co_await load(store, prefix, dir);
  if (!items) co_return items.error();
  for (const auto& item : *items) {
    if (same_id(item.value.if_contains(field), id)) co_return std::optional(item.name);
  }
  co_return std::optional<std::string>();
}

}  // namespace

net::Task<core::Status> check_write_references(store::ConfigStore& store, std::string prefix,
                                               const ResourceKind* kind, json::object obj) {
  const std::string_view seg = kind->segment;
  const bool has_upstream = seg == "routes" || seg == "services" || seg == "stream_routes";
  if (seg == "upstreams" || has_upstream) {
    const json::object* upstream = seg == "upstreams" ? &obj : object_at(obj, "upstream");
    if (auto st = co_await check_client_cert(store, prefix, upstream); !st) co_return st;
  }

  struct Reference {
    const char* field;
    const char* dir;
    const char* what;
  };
  std::vector<Reference> refs;
  if (has_upstream) refs.push_back({"upstream_id", "upstreams", "upstream"});
  if (seg == "routes" || seg == "stream_routes")
    refs.push_back({"service_id", "services", "service"});
  if (seg == "routes") refs.push_back({"plugin_config_id", "plugin_configs", "plugin config"});
  if (seg == "consumers") refs.push_back({"group_id", "consumer_groups", "consumer group"});
  for (const auto& ref : refs) {
    const json::value* id = obj.if_contains(ref.field);
    if (id == nullptr || id->is_null()) continue;
    if (auto st = co_await expect_exists(store, prefix, ref.dir, ref.what, lua_tostring(*id));
        !st) {
      co_return st;
    }
  }

  if (seg == "stream_routes") {
    // xRPC: a subordinate route's superior must exist and speak its protocol.
    const json::object* protocol = object_at(obj, "protocol");
    const json::value* superior = protocol ? protocol->if_contains("superior_id") : nullptr;
    if (superior != nullptr && !superior->is_null()) {
      const std::string id = lua_tostring(*superior);
      auto found = co_await store.get(prefix + "/stream_routes/" + id);
      if (!found) co_return found.error();
      if (!*found) {
        co_return refused("failed to fetch stream routes[" + id + "], response code: 404");
      }
      const auto route = parse_object((*found)->value);
      const json::object* their = route ? object_at(*route, "protocol") : nullptr;
      const json::value* their_name = their ? their->if_contains("name") : nullptr;
      const json::value* our_name = protocol->if_contains("name");
      if (their_name != nullptr && our_name != nullptr && *their_name != *our_name) {
        co_return refused("protocol mismatch: subordinate protocol [" + lua_tostring(*our_name) +
                          "] does not match superior protocol [" + lua_tostring(*their_name) + "]");
      }
    }
  }
  co_return core::ok_status();
}

net::Task<core::Status> check_delete_references(store::ConfigStore& store, std::string prefix,
                                                const ResourceKind* kind, std::string id) {
  const std::string_view seg = kind->segment;
  if (seg == "upstreams") co_return co_await upstream_in_use(store, prefix, id);

  if (seg == "services") {
    auto route = co_await first_user(store, prefix, "routes", "service_id", id);
    if (!route) co_return route.error();
    if (*route) {
      co_return refused("can not delete this service directly, route [" + **route +
                        "] is still using it now");
    }
    auto stream = co_await first_user(store, prefix, "stream_routes", "service_id", id);
    if (!stream) co_return stream.error();
    if (*stream) {
      co_return refused("can not delete this service directly, stream_route [" + **stream +
                        "] is still using it now");
    }
  }

  if (seg == "plugin_configs") {
    auto route = co_await first_user(store, prefix, "routes", "plugin_config_id", id);
    if (!route) co_return route.error();
    if (*route) {
      co_return refused("can not delete this plugin config, route [" + **route +
                        "] is still using it now");
    }
  }

  if (seg == "consumer_groups") {
    auto consumer = co_await first_user(store, prefix, "consumers", "group_id", id);
    if (!consumer) co_return consumer.error();
    if (*consumer) {
      co_return refused("can not delete this consumer group, consumer [" + **consumer +
                        "] is still using it now");
    }
  }

  if (seg == "protos") {
    for (const auto& [dir, name] :
         {std::pair{"routes", "route"}, std::pair{"services", "service"}}) {
      auto items = co_await load(store, prefix, dir);
      if (!items) co_return items.error();
      for (const auto& item : *items) {
        if (grpc_transcode_uses(item.value, id)) {
          co_return refused("can not delete this proto, " + std::string(name) + " [" + item.name +
                            "] is still using it now");
        }
      }
    }
  }

  if (seg == "stream_routes") {
    auto items = co_await load(store, prefix, "stream_routes");
    if (!items) co_return items.error();
    for (const auto& item : *items) {
      const json::object* protocol = object_at(item.value, "protocol");
      if (protocol != nullptr && same_id(protocol->if_contains("superior_id"), id)) {
        co_return refused("can not delete this stream route directly, stream route [" + item.name +
                          "] is still using it as superior_id");
      }
    }
  }
  co_return core::ok_status();
}

}  // namespace torii::admin
