// The Admin API resource handlers: everything below /apisix/admin that
// reads or writes resources (routes, services, upstreams, consumers and
// their credentials, ssls, global_rules, plugin_configs, consumer_groups,
// stream_routes, protos, plugin_metadata), plus /plugins and
// /schema/validate. Compatible with APISIX 3.14+ Admin API v3: same status
// codes, envelopes and error messages (reference/apisix.md section 2).
//
// Not here: HTTP framing, allow_admin, API keys, CORS and body limits
// (admin_server), which run before handle().
//
// Choices where Torii answers differently from APISIX, on purpose:
//   - ssls `key`/`keys` never appear in any response. APISIX strips `key`
//     from GET but echoes the stored (encrypted) value in PUT/POST/PATCH
//     responses; a client has no use for the ciphertext, and without a
//     keyring it would be the private key itself.
//   - stream_routes: with stream mode off only writes are refused; APISIX
//     refuses every method, which leaves stored stream routes unreadable.
//   - /schema/validate runs, after APISIX's schema-only check (same bare
//     message), the checks a write runs without the store: code rules,
//     plugins and `vars`, so a body it accepts is one a PUT accepts.
//   - an invalid JSON body is described by Boost.JSON ("syntax error"),
//     not by lua-cjson; JSON text does not escape '/' as cjson does.
#pragma once

#include <boost/json/value.hpp>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "admin/admin_types.h"
#include "config/data_encryption.h"
#include "net/io.h"
#include "store/config_store.h"

namespace torii::admin {

struct ResourceApiOptions {
  std::string prefix = "/apisix";  // store key prefix (deployment.etcd.prefix)
  // Encrypts ssls `key`/`keys` at rest when enabled; null: no encryption.
  const config::DataEncryption* encryption = nullptr;
  // apisix.data_encryption.enable_encrypt_fields: plugins' encrypt_fields in
  // consumers and credentials are stored encrypted with `encryption`.
  bool encrypt_plugin_fields = true;
  // Non-empty: every PUT/POST/PATCH/DELETE on a resource answers
  // 400 {"error_msg": read_only_reason} and writes nothing (standalone file
  // mode). GETs, /plugins and /schema/validate keep working.
  std::string read_only_reason;
  // false: writes to stream_routes answer 400 "stream mode is disabled, can
  // not add stream routes"; GET and DELETE still work.
  bool stream_enabled = false;
  // Unix seconds for create_time/update_time; injectable for tests.
  std::function<int64_t()> now = default_now;

  static int64_t default_now();
};

class ResourceApi {
 public:
  // `store` and `options.encryption` must outlive this object.
  ResourceApi(store::ConfigStore& store, ResourceApiOptions options);

  // Handles one request below /apisix/admin (the listener has authenticated
  // it). Never throws: store failures become 503 {"error_msg": "..."}.
  // Runs on the store's executor.
  net::Task<AdminResponse> handle(AdminRequest request);

 private:
  struct Target;  // the parsed URL: kind, ids, sub-path

  // The request body: nullopt when the request had none.
  using Body = std::optional<boost::json::value>;

  net::Task<AdminResponse> dispatch(AdminRequest request);
  net::Task<AdminResponse> get(Target target, AdminRequest request);
  net::Task<AdminResponse> put(Target target, AdminRequest request, Body body);
  net::Task<AdminResponse> post(Target target, AdminRequest request, Body body);
  net::Task<AdminResponse> patch(Target target, AdminRequest request, Body body);
  net::Task<AdminResponse> remove(Target target, AdminRequest request);
  AdminResponse validate_schema(std::string_view resource, const Body& body) const;

  // The store key of an item: prefix + "/routes/1",
  // prefix + "/consumers/jack/credentials/a".
  std::string item_key(const Target& target, std::string_view id) const;
  // The key directory listing a collection, with its trailing '/'.
  std::string collection_key(const Target& target) const;

  store::ConfigStore& store_;
  ResourceApiOptions options_;
};

}  // namespace torii::admin
