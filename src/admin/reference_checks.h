// The Admin API checks that read other resources from the store: on write,
// that referenced ids exist (upstream_id, service_id, plugin_config_id,
// group_id, tls.client_cert_id); on delete, that nothing still uses the
// resource. Messages are APISIX's (apisix/admin/*.lua).
//
// Both return ok, or an Error that is either
//   - the client's fault: source kConfig, kind kInvalid, `message` is the
//     error_msg to answer with 400; or
//   - a store failure: the store's error unchanged (source kInternal; the
//     Admin API answers 503).
#pragma once

#include <boost/json/object.hpp>
#include <string>

#include "admin/resource_kinds.h"
#include "core/result.h"
#include "net/io.h"
#include "store/config_store.h"

namespace torii::admin {

// `kind` points into the static kind table; `prefix` is the store key
// prefix ("/apisix"); `obj` is the resource about to be written.
net::Task<core::Status> check_write_references(store::ConfigStore& store, std::string prefix,
                                               const ResourceKind* kind, boost::json::object obj);

// Whether `id` of `kind` may be deleted (skipped by the caller on
// ?force=true). Kinds nothing refers to always pass.
net::Task<core::Status> check_delete_references(store::ConfigStore& store, std::string prefix,
                                                const ResourceKind* kind, std::string id);

}  // namespace torii::admin
