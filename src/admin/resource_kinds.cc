// The resource kinds, as APISIX 3.14 declares them in apisix/admin/*.lua.
#include "admin/resource_kinds.h"

#include <array>

namespace torii::admin {
namespace {

constexpr uint8_t bit(Method m) { return static_cast<uint8_t>(1u << static_cast<unsigned>(m)); }

using plugins::SchemaType;

constexpr std::array<ResourceKind, 12> kKinds = {{
    {"routes", "route"},
    {"services", "service"},
    {"upstreams", "upstream"},
    {"consumers", "consumer", IdSource::kUsername, bit(Method::kPost) | bit(Method::kPatch),
     SchemaType::kConsumer},
    {"credentials", "credential", IdSource::kUrlOrBody, bit(Method::kPost) | bit(Method::kPatch),
     SchemaType::kConsumer},
    {"ssls", "ssl"},
    {"global_rules", "global rule", IdSource::kUrlOrBody, bit(Method::kPost)},
    {"plugin_configs", "plugin config", IdSource::kUrlOrBody, bit(Method::kPost)},
    {"consumer_groups", "consumer group", IdSource::kUrlOrBody, bit(Method::kPost)},
    {"stream_routes", "stream route", IdSource::kUrlOrBody, bit(Method::kPatch)},
    {"protos", "proto", IdSource::kUrlOrBody, bit(Method::kPatch)},
    // APISIX writes plugin metadata without create_time/update_time.
    {"plugin_metadata", "plugin_metadata", IdSource::kPluginName,
     bit(Method::kPost) | bit(Method::kPatch), SchemaType::kMetadata, false},
}};

}  // namespace

bool parse_method(std::string_view name, Method& out) {
  if (name == "GET")
    out = Method::kGet;
  else if (name == "PUT")
    out = Method::kPut;
  else if (name == "POST")
    out = Method::kPost;
  else if (name == "PATCH")
    out = Method::kPatch;
  else if (name == "DELETE")
    out = Method::kDelete;
  else
    return false;
  return true;
}

std::string_view method_name(Method m) {
  switch (m) {
    case Method::kGet:
      return "GET";
    case Method::kPut:
      return "PUT";
    case Method::kPost:
      return "POST";
    case Method::kPatch:
      return "PATCH";
    case Method::kDelete:
      return "DELETE";
  }
  return "GET";
}

const ResourceKind* find_kind(std::string_view segment) {
  for (const auto& kind : kKinds) {
    if (kind.segment == segment) return &kind;
  }
  return nullptr;
}

}  // namespace torii::admin
