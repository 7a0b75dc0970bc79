// Response envelopes and error mapping of the resource handlers.
#include "admin/resource_envelope.h"

#include <boost/json/parse.hpp>

#include <cmath>

#include "admin/admin_reply.h"
#include "core/json_numbers.h"
#include "router/lua_number.h"

namespace torii::admin {

namespace json = boost::json;

json::value public_value(const ResourceKind& kind, json::value value) {
  if (kind.segment == "ssls" && value.is_object()) {
    value.get_object().stable_erase("key");
    value.get_object().stable_erase("keys");
  }
  return value;
}

json::object item_envelope(std::string_view key, json::value value, int64_t created_index,
                           int64_t modified_index) {
  json::object out;
  out["key"] = key;
  out["value"] = std::move(value);
  out["createdIndex"] = created_index;
  out["modifiedIndex"] = modified_index;
  return out;
}

AdminResponse write_reply(int status, std::string_view key, json::value value) {
  json::object out;
  out["key"] = key;
  out["value"] = std::move(value);
  return json_reply(status, out);
}

json::value parse_stored(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  // As text when unreadable, or when it would serialise to invalid JSON.
  if (ec || !core::json_numbers_finite(v)) return json::string(text);
  return v;
}

AdminResponse store_failure(const core::Error& error) { return error_reply(503, error.message); }

AdminResponse check_failure(const core::Error& error) {
  if (error.source == core::ErrorSource::kConfig) return error_reply(400, error.message);
  return store_failure(error);
}

std::optional<std::chrono::seconds> ttl_of(const std::string* arg) {
  if (arg == nullptr) return std::chrono::seconds(0);
  const auto n = router::lua_tonumber(*arg);
  if (!n) return std::nullopt;
  if (!(*n > 0)) return std::chrono::seconds(0);
  // A lease is whole seconds; cap far beyond any sane TTL so the cast is
  // defined (the store refuses what it cannot hold).
  const double capped = std::min(std::ceil(*n), 1e12);
  return std::chrono::seconds(static_cast<int64_t>(capped));
}

}  // namespace torii::admin
