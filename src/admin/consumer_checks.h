// Admin API rules for the secrets in consumers and credentials (APISIX
// apisix/admin/consumers.lua and credentials.lua):
//   - an auth plugin's identifying field (PluginInfo::consumer_key_field:
//     key-auth `key`, basic-auth `username`, ...) may belong to one consumer
//     only: "duplicate key found with consumer: <username>";
//   - the fields a plugin lists in encrypt_fields are stored encrypted
//     (apisix.data_encryption.enable_encrypt_fields).
#pragma once

#include <boost/json/object.hpp>
#include <string>

#include "config/data_encryption.h"
#include "core/result.h"
#include "net/io.h"
#include "store/config_store.h"

namespace torii::admin {

// Checks `conf` (a consumer's or a credential's body, plaintext) against
// every consumer and credential stored under `prefix`/consumers/, values
// decrypted with `encryption` (may be null). `username` owns the write;
// `credential_id` is empty for a consumer. A stored entry of the same owner
// (the consumer itself, or the same credential) is not a duplicate.
// Errors: the client's (kConfig, kInvalid, the message to answer with 400)
// or the store's, unchanged (503).
net::Task<core::Status> check_duplicate_auth_keys(store::ConfigStore& store, std::string prefix,
                                                  const config::DataEncryption* encryption,
                                                  std::string username, std::string credential_id,
                                                  boost::json::object conf);

// Encrypts, in place, every encrypt_fields string of the plugins in
// conf.plugins (consumer confs). No-op when `encryption` is disabled.
void encrypt_plugin_fields(boost::json::object& conf, const config::DataEncryption& encryption);

}  // namespace torii::admin
