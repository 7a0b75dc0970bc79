// The v3 envelopes of resource responses and the mapping of check and store
// errors to status codes, shared by the read and write handlers.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "admin/admin_types.h"
#include "admin/resource_kinds.h"
#include "core/result.h"

namespace torii::admin {

// The value as clients see it: ssls lose `key` and `keys` (private keys are
// never sent back, encrypted or not); other kinds are returned unchanged.
boost::json::value public_value(const ResourceKind& kind, boost::json::value value);

// {"key": ..., "value": ..., "createdIndex": ..., "modifiedIndex": ...}
boost::json::object item_envelope(std::string_view key, boost::json::value value,
                                  int64_t created_index, int64_t modified_index);

// PUT/POST/PATCH: {"key": ..., "value": ...}
AdminResponse write_reply(int status, std::string_view key, boost::json::value value);

// A stored value read back: its JSON, or the raw text as a string when it is
// not JSON (written by something else).
boost::json::value parse_stored(std::string_view text);

// 503 {"error_msg": message}: the store failed.
AdminResponse store_failure(const core::Error& error);

// A check failed: 400 with its message when the client is at fault (source
// kConfig), 503 when the store failed underneath.
AdminResponse check_failure(const core::Error& error);

// ?ttl=<seconds>: nullopt when the argument is not a number (Lua tonumber);
// 0 when absent or not positive (no expiry).
std::optional<std::chrono::seconds> ttl_of(const std::string* arg);

}  // namespace torii::admin
