// The APISIX 3.x schemas of the Admin API resources (apisix/schema_def.lua)
// and the checks APISIX runs in code after the schema (the `check_conf` of
// apisix/admin/routes.lua, services.lua, stream_routes.lua, apisix/upstream.lua
// and apisix/ssl.lua check_ssl_conf), so that a resource Torii accepts is one
// APISIX accepts, refused with the same words.
//
// Kinds, named as in Admin API URLs: routes, services, upstreams, consumers,
// credentials, consumer_groups, plugin_configs, global_rules, ssls, protos,
// stream_routes, plugin_metadata. (secrets is not here: its schema is the
// secret manager's.)
//
// Not checked here, because other parts own them: plugin configurations
// (only "plugins is an object" is checked; the plugin registry checks each
// conf, and for credentials that the one plugin is an auth plugin), whether
// referenced ids exist (upstream_id, service_id, protocol.superior_id, ...),
// the `vars` expression (the router compiles it), a proto's `content` (the
// grpc-transcode plugin compiles it), a stream route's xRPC `protocol`
// beyond its schema, and the Admin API's id and timestamp rules.
//
// plugin_metadata: only the wrapper is checked here (an object whose `id`,
// the plugin name, is present: "missing plugin name" otherwise). The body
// itself is the plugin's metadata and is checked by the plugin registry,
// `plugins::check_plugin_conf(name, conf, SchemaType::kMetadata)`, with the
// `id` removed first since metadata schemas do not declare it.
//
// ssls: past the schema, `cert` (and each `certs[i]`, and `client.ca`) must
// parse as a PEM certificate chain and `key` (each `keys[i]`) as a PEM
// private key that belongs to the certificate; `$secret://` and `$env://`
// references are resolved at run time and not parsed, as in APISIX. The
// key-matches-cert check is Torii's own (APISIX has not written it yet, and nginx
// then fails every handshake); it fails with "key does not match cert".
#pragma once

#include <boost/json/value.hpp>
#include <string_view>

#include "config/json_schema.h"
#include "core/result.h"

namespace torii::config {

class DataEncryption;

// The compiled schema of a resource kind (one of the kinds listed above, as
// in Admin API URLs). Returns nullptr for any other name.
// Compiled on first use and kept for the life of the process; safe to call
// and to use from any thread.
const JsonSchema* resource_schema(std::string_view resource);

// Checks `obj` as APISIX's Admin API checks a resource of that kind before
// storing it: the schema, then the cross-field rules. `obj` is the object as
// it will be stored (APISIX sets `id` from the URL before checking, and
// plugin_configs, consumer_groups and global_rules require it).
//
// On failure the message is exactly the `error_msg` APISIX returns, prefix
// included where APISIX has one: schema failures read
// "invalid configuration: <jsonschema message>", rules checked in code read
// as APISIX words them (e.g. "missing key"). Callers must not add a prefix.
// Fields Torii replaces rather than runs (`filter_func`, `script`: Lua) are
// refused with a message that names the alternative. An unknown resource
// kind fails with "Unsupported resource type: <name>".
//
// `encryption` matters only for ssls whose `key`/`keys[i]` is not PEM (does
// not start with "---"), i.e. is encrypted at rest: with it the key is
// decrypted as APISIX does before parsing ("failed to decrypt previous
// encrypted key" when that fails; an empty keyring parses the value as is);
// without it (nullptr) such a key is not parsed, only its certificate is.
// Plaintext PEM keys are always parsed and matched against the certificate.
core::Status check_resource(std::string_view resource, const boost::json::value& obj,
                            const DataEncryption* encryption = nullptr);

}  // namespace torii::config
