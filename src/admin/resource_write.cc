// ResourceApi's writes: PUT, POST and PATCH (apisix/admin/resource.lua
// put/post/patch and check_conf, utils.lua inject_timestamp,
// core/etcd.lua push/atomic_set).
#include <boost/json/object.hpp>

#include <cstdio>

#include "admin/admin_reply.h"
#include "admin/consumer_checks.h"
#include "admin/json_patch.h"
#include "admin/json_text.h"
#include "admin/lua_tostring.h"
#include "admin/reference_checks.h"
#include "admin/resource_api.h"
#include "admin/resource_checks.h"
#include "admin/resource_envelope.h"
#include "admin/resource_target.h"

namespace torii::admin {
namespace {

namespace json = boost::json;

// A PUT that loses a race re-reads and tries again: PUT is last-writer-wins,
// so concurrent PUTs never fail; a store that keeps moving under us fails
// the request after this many rounds.
constexpr int kPutAttempts = 5;

constexpr std::string_view kConflictMessage = "value changed before overwritten";

const std::string* query_arg(const AdminRequest& request, std::string_view name) {
  auto it = request.query.find(name);
  return it == request.query.end() ? nullptr : &it->second;
}

std::chrono::seconds ttl(const AdminRequest& request) {
  // Already checked to be a number by dispatch().
  return ttl_of(query_arg(request, "ttl")).value_or(std::chrono::seconds(0));
}

bool present(const json::object& obj, std::string_view field) {
  const auto* v = obj.if_contains(field);
  return v != nullptr && !v->is_null();
}

std::string kind_word(const ResourceKind& kind) { return std::string(kind.word); }

// The body of a PUT/POST must be an object.
std::optional<AdminResponse> require_object(const std::optional<json::value>& body) {
  if (!body) return error_reply(400, "missing configurations");
  if (!body->is_object()) {
    return error_reply(400, "invalid configuration: the request body must be a JSON object");
  }
  return std::nullopt;
}

}  // namespace

net::Task<AdminResponse> ResourceApi::put(Target target, AdminRequest request, Body body) {
  const ResourceKind& kind = *target.kind;
  if (auto bad = require_object(body)) co_return *bad;
  json::object conf = std::move(body->get_object());

  // The id: from the URL, else the body (APISIX check_conf).
  std::string id;
  ValidateContext ctx{options_.encryption, {}};
  switch (kind.id_source) {
    case IdSource::kUrlOrBody: {
      json::value id_value;
      if (target.id) {
        id_value = json::string(*target.id);
      } else if (present(conf, "id")) {
        id_value = conf["id"];
      } else {
        co_return error_reply(400, "missing " + kind_word(kind) + " id");
      }
      if (target.id && present(conf, "id") && lua_tostring(conf["id"]) != *target.id) {
        co_return error_reply(400, "wrong " + kind_word(kind) + " id");
      }
      id = lua_tostring(id_value);
      conf["id"] = std::move(id_value);
      break;
    }
    case IdSource::kUsername:
      if (target.id) ctx.url_username = *target.id;
      break;
    case IdSource::kPluginName:
      break;
  }

  if (auto forbidden = forbidden_property(conf)) co_return error_reply(400, *forbidden);

  if (kind.id_source == IdSource::kPluginName) {
    if (!target.id) co_return error_reply(400, "missing plugin name");
    if (auto st = check_plugin_metadata(*target.id, conf); !st) {
      co_return error_reply(400, st.error().message);
    }
    id = *target.id;
  } else {
    if (auto st = validate_resource(kind, conf, ctx); !st)
      co_return error_reply(400, st.error().message);
    if (kind.id_source == IdSource::kUsername) id = lua_tostring(conf["username"]);
  }

  if (kind.segment == "credentials") {
    auto consumer = co_await store_.get(options_.prefix + "/consumers/" + target.consumer);
    if (!consumer) co_return store_failure(consumer.error());
    if (!*consumer) co_return error_reply(404, "consumer not found");
  }

  if (auto st = co_await check_write_references(store_, options_.prefix, target.kind, conf); !st) {
    co_return check_failure(st.error());
  }
  if (kind.segment == "consumers" || kind.segment == "credentials") {
    // Arguments built before the co_await (GCC 12 and temporaries in awaits).
    const bool credential = kind.segment == "credentials";
    std::string owner = credential ? target.consumer : id;
    std::string credential_id = credential ? id : std::string();
    auto st = co_await check_duplicate_auth_keys(store_, options_.prefix, options_.encryption,
                                                 std::move(owner), std::move(credential_id), conf);
    if (!st) co_return check_failure(st.error());
    if (options_.encrypt_plugin_fields && options_.encryption != nullptr) {
      encrypt_plugin_fields(conf, *options_.encryption);
    }
  }

  if (kind.segment == "ssls" && options_.encryption != nullptr)
    options_.encryption->encrypt_ssl(conf);
  if (kind.id_source == IdSource::kPluginName) conf["id"] = id;

  const std::string key = item_key(target, id);
  for (int attempt = 0; attempt < kPutAttempts; ++attempt) {
    auto prev = co_await store_.get(key);
    if (!prev) co_return store_failure(prev.error());

    json::object stored = conf;
    if (kind.timestamps) {
      const int64_t now = options_.now();
      json::value create_time = now;
      if (*prev) {
        const json::value old = parse_stored((*prev)->value);
        const json::value* t =
            old.is_object() ? old.get_object().if_contains("create_time") : nullptr;
        if (t != nullptr && !t->is_null()) create_time = *t;
      }
      stored["create_time"] = std::move(create_time);
      stored["update_time"] = now;
    }

    const auto expect = *prev ? store::Expect::at((*prev)->mod_revision) : store::Expect::absent();
    auto written = co_await store_.put(key, to_json(stored), expect, ttl(request));
    if (!written) {
      if (written.error().kind == core::ErrorKind::kConflict) continue;
      co_return store_failure(written.error());
    }
    co_return write_reply(written->prev ? 200 : 201, key, public_value(kind, std::move(stored)));
  }
  co_return error_reply(503, kConflictMessage);
}

net::Task<AdminResponse> ResourceApi::post(Target target, AdminRequest request, Body body) {
  const ResourceKind& kind = *target.kind;
  if (auto bad = require_object(body)) co_return *bad;
  json::object conf = std::move(body->get_object());

  if (target.id || present(conf, "id")) {
    co_return error_reply(400, "wrong " + kind_word(kind) + " id, do not need it");
  }
  if (auto forbidden = forbidden_property(conf)) co_return error_reply(400, *forbidden);
  if (auto st = validate_resource(kind, conf, ValidateContext{options_.encryption, {}}); !st) {
    co_return error_reply(400, st.error().message);
  }
  if (auto st = co_await check_write_references(store_, options_.prefix, target.kind, conf); !st) {
    co_return check_failure(st.error());
  }
  if (kind.segment == "ssls" && options_.encryption != nullptr)
    options_.encryption->encrypt_ssl(conf);

  // The id is the revision of a write to gen_id (APISIX core/etcd.lua push).
  auto gen = co_await store_.put(options_.prefix + "/gen_id", "1", store::Expect::any(),
                                 std::chrono::seconds(0));
  if (!gen) co_return store_failure(gen.error());
  char id[32];
  std::snprintf(id, sizeof id, "%020lld", static_cast<long long>(gen->kv.mod_revision));

  conf["id"] = id;
  if (kind.timestamps) {
    const int64_t now = options_.now();
    conf["create_time"] = now;
    conf["update_time"] = now;
  }
  const std::string key = item_key(target, id);
  auto written = co_await store_.put(key, to_json(conf), store::Expect::any(), ttl(request));
  if (!written) co_return store_failure(written.error());
  co_return write_reply(201, key, public_value(kind, std::move(conf)));
}

net::Task<AdminResponse> ResourceApi::patch(Target target, AdminRequest request, Body body) {
  const ResourceKind& kind = *target.kind;
  if (!target.id) co_return error_reply(400, "missing " + kind_word(kind) + " id");
  if (!body) co_return error_reply(400, "missing new configuration");
  const bool whole = target.sub_path.empty();
  if (whole && !body->is_object()) co_return error_reply(400, "invalid configuration");

  const std::string key = item_key(target, *target.id);
  auto old = co_await store_.get(key);
  if (!old) co_return store_failure(old.error());
  if (!*old) co_return key_not_found();
  const int64_t mod_revision = (*old)->mod_revision;
  json::value old_value = parse_stored((*old)->value);
  json::object node = old_value.is_object() ? std::move(old_value.get_object()) : json::object();

  // New private keys are encrypted before they are merged in (APISIX).
  const config::DataEncryption* enc = options_.encryption;
  if (kind.segment == "ssls" && enc != nullptr) {
    if (whole) {
      enc->encrypt_ssl(body->get_object());
    } else if (target.sub_path == "key" && body->is_string()) {
      *body = json::string(enc->encrypt_ssl_key(body->get_string()));
    } else if (target.sub_path == "keys" && body->is_array()) {
      for (auto& k : body->get_array()) {
        if (k.is_string()) k = json::string(enc->encrypt_ssl_key(k.get_string()));
      }
    }
  }

  const int64_t now = options_.now();
  bool keep_update_time = false;
  if (whole) {
    keep_update_time = present(body->get_object(), "update_time");
    merge_patch(node, body->get_object());
  } else if (auto st = patch_sub_path(node, target.sub_path, std::move(*body)); !st) {
    co_return error_reply(400, st.error().message);
  }
  if (kind.timestamps) {
    if (!present(node, "create_time")) node["create_time"] = now;
    if (!keep_update_time) node["update_time"] = now;
  }

  // check_conf with the URL id (PATCH may carry create_time/update_time).
  if (kind.id_source == IdSource::kUrlOrBody) {
    if (present(node, "id") && lua_tostring(node["id"]) != *target.id) {
      co_return error_reply(400, "wrong " + kind_word(kind) + " id");
    }
    node["id"] = *target.id;
  }
  if (auto st = validate_resource(kind, node, ValidateContext{enc, {}}); !st) {
    co_return error_reply(400, st.error().message);
  }
  if (auto st = co_await check_write_references(store_, options_.prefix, target.kind, node); !st) {
    co_return check_failure(st.error());
  }

  auto written =
      co_await store_.put(key, to_json(node), store::Expect::at(mod_revision), ttl(request));
  if (!written) {
    if (written.error().kind == core::ErrorKind::kConflict)
      co_return error_reply(503, kConflictMessage);
    co_return store_failure(written.error());
  }
  co_return write_reply(200, key, public_value(kind, std::move(node)));
}

}  // namespace torii::admin
