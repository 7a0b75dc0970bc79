// ip-restriction (priority 3000): allows or denies a request by the client
// address, as APISIX's plugin.
//
// Phase: access. The address is the request's remote_addr as later phases
// see it, i.e. after real-ip. Exactly one of `whitelist` / `blacklist` (IPs
// and CIDRs, IPv4 and IPv6; an IPv4-mapped IPv6 client matches IPv4
// entries) is set; a refused request gets `response_code` (403 or 404) with
// {"message":"<message>"}.
//
// Security posture: the list is compiled once into hash sets keyed by
// prefix length (router::CidrSet), so a request costs one hash probe per
// distinct prefix length in the list, whatever its size: a 10,000-entry
// list costs what a 10-entry one does. A client address that does not
// parse matches nothing: refused by a whitelist, let through by a
// blacklist, as in APISIX.
#include <arpa/inet.h>

#include <array>
#include <boost/asio/ip/address.hpp>
#include <boost/json.hpp>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/saturate.h"
#include "plugins/plugin.h"
#include "plugins/plugin_registry.h"
#include "router/cidr_set.h"

namespace torii::plugins {
namespace {

namespace json = boost::json;

struct IpRestrictionConfig {
  std::string message = "Your IP address is not allowed";
  int response_code = 403;
  bool is_whitelist = false;  // else blacklist
  router::CidrSet matcher;
};

// `ip_def` is APISIX's core.schema.ip_def (schema_def.lua), the same text as
// the route `remote_addrs` schema.
constexpr std::string_view kSchema = R"json({
  "type": "object",
  "properties": {
    "message": {
      "type": "string",
      "minLength": 1,
      "maxLength": 1024,
      "default": "Your IP address is not allowed"
    },
    "response_code": {
      "type": "integer",
      "minimum": 403,
      "maximum": 404,
      "default": 403
    },
    "whitelist": {
      "type": "array",
      "items": {"anyOf": [
        {"title": "IPv4", "type": "string", "format": "ipv4"},
        {"title": "IPv4/CIDR", "type": "string",
         "pattern": "^([0-9]|[1-9][0-9]|1[0-9]{2}|2[0-4][0-9]|25[0-5])\\.([0-9]|[1-9][0-9]|1[0-9]{2}|2[0-4][0-9]|25[0-5])\\.([0-9]|[1-9][0-9]|1[0-9]{2}|2[0-4][0-9]|25[0-5])\\.([0-9]|[1-9][0-9]|1[0-9]{2}|2[0-4][0-9]|25[0-5])/([12]?[0-9]|3[0-2])$"},
        {"title": "IPv6", "type": "string", "format": "ipv6"},
        {"title": "IPv6/CIDR", "type": "string",
         "pattern": "^([a-fA-F0-9]{0,4}:){1,8}(:[a-fA-F0-9]{0,4}){0,8}([a-fA-F0-9]{0,4})?/[0-9]{1,3}$"}
      ]},
      "minItems": 1
    },
    "blacklist": {
      "type": "array",
      "items": {"anyOf": [
        {"title": "IPv4", "type": "string", "format": "ipv4"},
        {"title": "IPv4/CIDR", "type": "string",
         "pattern": "^([0-9]|[1-9][0-9]|1[0-9]{2}|2[0-4][0-9]|25[0-5])\\.([0-9]|[1-9][0-9]|1[0-9]{2}|2[0-4][0-9]|25[0-5])\\.([0-9]|[1-9][0-9]|1[0-9]{2}|2[0-4][0-9]|25[0-5])\\.([0-9]|[1-9][0-9]|1[0-9]{2}|2[0-4][0-9]|25[0-5])/([12]?[0-9]|3[0-2])$"},
        {"title": "IPv6", "type": "string", "format": "ipv6"},
        {"title": "IPv6/CIDR", "type": "string",
         "pattern": "^([a-fA-F0-9]{0,4}:){1,8}(:[a-fA-F0-9]{0,4}){0,8}([a-fA-F0-9]{0,4})?/[0-9]{1,3}$"}
      ]},
      "minItems": 1
    }
  },
  "oneOf": [
    {"required": ["whitelist"]},
    {"required": ["blacklist"]}
  ]
})json";

// Parses an IP literal without allocating (inet_pton on a stack copy).
std::optional<boost::asio::ip::address> parse_ip(std::string_view s) {
  std::array<char, INET6_ADDRSTRLEN + 1> buf{};
  if (s.empty() || s.size() >= buf.size()) return std::nullopt;
  std::memcpy(buf.data(), s.data(), s.size());
  in_addr a4{};
  if (inet_pton(AF_INET, buf.data(), &a4) == 1) {
    return boost::asio::ip::address_v4(ntohl(a4.s_addr));
  }
  in6_addr a6{};
  if (inet_pton(AF_INET6, buf.data(), &a6) == 1) {
    boost::asio::ip::address_v6::bytes_type bytes;
    std::memcpy(bytes.data(), a6.s6_addr, bytes.size());
    return boost::asio::ip::address_v6(bytes);
  }
  return std::nullopt;
}

class IpRestriction final : public Plugin {
 public:
  explicit IpRestriction(IpRestrictionConfig conf)
      : conf_(std::move(conf)), reject_(Exit::message(conf_.response_code, conf_.message)) {}

  uint8_t phases() const override { return bit(Phase::kAccess); }

  Step access(PluginContext& ctx) const override {
    auto addr = parse_ip(ctx.remote_addr());
    bool listed = addr && conf_.matcher.contains(*addr);
    bool block = conf_.is_whitelist ? !listed : listed;
    if (block) return reject_;
    return kContinue;
  }

 private:
  IpRestrictionConfig conf_;
  Exit reject_;  // serialised once
};

core::Result<std::shared_ptr<const Plugin>> create(const json::object& conf, const PluginScope&) {
  IpRestrictionConfig c;
  if (const auto* v = conf.if_contains("message"); v && v->is_string()) {
    c.message = std::string(v->get_string());
  }
  if (const auto* v = conf.if_contains("response_code"); v && v->is_number()) {
    c.response_code = core::saturate<int>(v->to_number<double>());
  }
  const json::value* list = conf.if_contains("whitelist");
  c.is_whitelist = list != nullptr;
  if (!list) list = conf.if_contains("blacklist");
  std::vector<std::string> entries;
  if (list && list->is_array()) {
    entries.reserve(list->get_array().size());
    for (const auto& item : list->get_array()) {
      if (item.is_string()) entries.emplace_back(item.get_string());
    }
  }
  // APISIX's post-schema check names the entry unquoted.
  for (const std::string& e : entries) {
    if (!router::CidrSet::parse(e)) return core::config_error("invalid ip address: " + e);
  }
  auto matcher = router::CidrSet::build(entries);
  if (!matcher) return matcher.error();
  c.matcher = std::move(*matcher);
  return std::shared_ptr<const Plugin>(std::make_shared<IpRestriction>(std::move(c)));
}

PluginInfo make_info() {
  PluginInfo info;
  info.name = "ip-restriction";
  info.priority = 3000;
  info.schema = json::parse(kSchema);
  info.create = create;
  return info;
}

}  // namespace

namespace {
const plugins::PluginRegistration kRegistration{make_info()};
}

}  // namespace torii::plugins
