// Builds a snapshot's ConsumerDirectory (plugins/consumer.h) from the
// `consumers`, `credentials` and `consumer_groups` of a ResourceSet, as
// APISIX's consumer.lua reads them:
//   - a credential is stored under its consumer
//     (/apisix/consumers/{username}/credentials/{id}); in a ResourceSet it is
//     a `credentials` item with id "{username}/credentials/{id}" (also
//     accepted in `consumers`, the standalone file's form);
//   - every auth plugin conf of a consumer or credential becomes a
//     Credential indexed by the plugin's consumer_key_field;
//   - fields in a plugin's encrypt_fields are decrypted with the keyring
//     (a value that does not decrypt is kept as stored, as APISIX does);
//   - string fields `$env://NAME` are replaced by that environment
//     variable; a credential naming an unset variable is left out, so the
//     literal reference can never authenticate anyone;
//   - the consumer group's and the consumer's other plugins are compiled
//     into Consumer::plugins with `chains`.
// Items that cannot be used go through `bad`: it returns an error to fail
// the whole build (standalone file) or logs and returns ok to leave the item
// out (config store).
#pragma once

#include <functional>
#include <memory>

#include "config/data_encryption.h"
#include "config/resource_set.h"
#include "core/result.h"
#include "plugins/consumer.h"
#include "plugins/plugin_chain.h"

namespace torii::config {

using BadItem = std::function<core::Status(const core::Error&)>;

core::Result<std::shared_ptr<const plugins::ConsumerDirectory>> build_consumers(
    const ResourceSet& resources, const DataEncryption& encryption, plugins::ChainBuilder& chains,
    const BadItem& bad);

// Splits a credential id "{username}/credentials/{id}"; false for any other id.
bool split_credential_id(std::string_view full, std::string_view& username, std::string_view& id);

}  // namespace torii::config
