// The table of Admin API resource kinds: URL segment, the word APISIX uses
// for the kind in its messages, which methods each kind refuses, and how its
// id and plugins are handled (apisix/admin/*.lua, `resource.new{...}`).
#pragma once

#include <cstdint>
#include <string_view>

#include "plugins/plugin_registry.h"

namespace torii::admin {

enum class Method : uint8_t { kGet, kPut, kPost, kPatch, kDelete };

// "GET" -> kGet ...; false for any other method name.
bool parse_method(std::string_view name, Method& out);
// "GET", "PUT", ... as APISIX prints it in "not supported `POST` method".
std::string_view method_name(Method m);

enum class IdSource : uint8_t {
  kUrlOrBody,   // id from the URL, else the body's `id` (most kinds)
  kUsername,    // consumers: the body's `username` is the key
  kPluginName,  // plugin_metadata: the URL names the plugin; stored id = name
};

struct ResourceKind {
  std::string_view segment;  // URL segment and key directory: "routes"
  std::string_view word;     // in messages: "route", "plugin config", ...
  IdSource id_source = IdSource::kUrlOrBody;
  uint8_t unsupported = 0;  // bit (1 << Method) per method answered with 405
  // How the `plugins` of this kind are checked (kConsumer also prefixes
  // errors with "invalid plugins configuration: ").
  plugins::SchemaType plugin_schema = plugins::SchemaType::kRoute;
  bool timestamps = true;  // create_time/update_time are injected on write

  bool supports(Method m) const { return (unsupported & (1u << static_cast<unsigned>(m))) == 0; }
};

// The kind whose URL segment is `segment` ("credentials" for the nested
// /consumers/{u}/credentials), or nullptr.
const ResourceKind* find_kind(std::string_view segment);

}  // namespace torii::admin
