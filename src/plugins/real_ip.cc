// real-ip (priority 23000): replaces the client address with one the
// request carries (a header or a query argument), like nginx's realip
// module, as APISIX's plugin.
//
// Phase: rewrite, before almost everything, so ip-restriction, limit-*, the
// access log, X-Real-IP and X-Forwarded-For all see the replaced address.
// `source` is a variable name (http_x_forwarded_for, http_x_real_ip,
// arg_realip, ...). For http_x_forwarded_for the last X-Forwarded-For header
// is used, and in it the last address; with `recursive` (and
// trusted_addresses) the rightmost address that is not trusted, as nginx's
// real_ip_recursive. The value may carry a port ("1.2.3.4:80",
// "[::1]:80"). A missing or invalid value leaves the address unchanged.
//
// Security posture: without `trusted_addresses` ANY client can choose its
// address by sending the header, defeating ip-restriction and rate limits.
// Set trusted_addresses to your load balancers.
//
// Differences from APISIX: the port is validated but not applied (the plugin
// API has no remote-port setter; $remote_port keeps the peer's); an IPv6
// address without brackets and without port ("2001:db8::1") is accepted as
// is, where APISIX mistakes its last group for a port.
#include <arpa/inet.h>

#include <array>
#include <boost/asio/ip/address.hpp>
#include <boost/json.hpp>
#include <charconv>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "http/variables.h"
#include "plugins/plugin.h"
#include "plugins/plugin_registry.h"
#include "router/ip_matcher.h"

namespace torii::plugins {
namespace {

namespace json = boost::json;

struct RealIpConfig {
  http::VarRef source;
  bool x_forwarded_for = false;  // source is http_x_forwarded_for
  std::optional<router::IpMatcher> trusted;
  bool recursive = false;
};

constexpr std::string_view kSchema = R"json({
  "type": "object",
  "properties": {
    "trusted_addresses": {
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
    "source": {
      "type": "string",
      "minLength": 1
    },
    "recursive": {
      "type": "boolean",
      "default": false
    }
  },
  "required": ["source"]
})json";

// An IP literal (brackets not allowed), parsed without allocating.
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

std::string_view strip_spaces(std::string_view s) {
  constexpr std::string_view kSpace = " \t\n\v\f\r";
  size_t b = s.find_first_not_of(kSpace);
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(kSpace) - b + 1);
}

// core.utils.parse_addr + the plugin's checks: the IP to set (brackets
// removed), or nullopt when the value is not "ip", "ip:port", "[v6]" or
// "[v6]:port" with a valid IP and, if numeric, a port in 1..65535.
std::optional<std::string_view> address_of(std::string_view addr) {
  if (parse_ip(addr)) return addr;  // a bare IPv4 or IPv6
  std::string_view host = addr;
  std::optional<std::string_view> port;
  if (!addr.empty() && addr.front() == '[') {
    if (addr.back() != ']') {
      size_t colon = addr.rfind(':');
      if (colon != std::string_view::npos && colon > 0 && addr[colon - 1] == ']') {
        host = addr.substr(0, colon);
        port = addr.substr(colon + 1);
      }
    }
    if (host.size() < 2 || host.back() != ']') return std::nullopt;
    host = host.substr(1, host.size() - 2);
  } else if (size_t colon = addr.rfind(':'); colon != std::string_view::npos) {
    host = addr.substr(0, colon);
    port = addr.substr(colon + 1);
  }
  if (!parse_ip(host)) return std::nullopt;
  if (port) {
    // Lua tonumber(): a non-number is nil and ignored; a number must be a port.
    long long p = 0;
    auto [end, ec] = std::from_chars(port->data(), port->data() + port->size(), p);
    if (ec == std::errc() && end == port->data() + port->size() && (p < 1 || p > 65535)) {
      return std::nullopt;
    }
  }
  return host;
}

class RealIp final : public Plugin {
 public:
  explicit RealIp(RealIpConfig conf) : conf_(std::move(conf)) {}

  uint8_t phases() const override { return bit(Phase::kRewrite); }

  Step rewrite(PluginContext& ctx) const override {
    if (conf_.trusted) {
      auto peer = parse_ip(ctx.remote_addr());
      if (!peer || !conf_.trusted->contains(*peer)) return kContinue;
    }
    std::optional<std::string_view> value = source_value(ctx);
    if (!value) return kContinue;
    if (auto ip = address_of(*value)) ctx.set_remote_addr(std::string(*ip));
    return kContinue;
  }

 private:
  bool trusted(std::string_view addr) const {
    auto ip = parse_ip(addr);
    return ip && conf_.trusted->contains(*ip);
  }

  std::optional<std::string_view> source_value(PluginContext& ctx) const {
    if (!conf_.x_forwarded_for) return ctx.get(conf_.source);
    std::vector<std::string_view> headers = ctx.request_headers("X-Forwarded-For");
    if (headers.empty()) return std::nullopt;
    std::string_view addrs = headers.back();
    size_t last_comma = addrs.rfind(',');
    if (last_comma == std::string_view::npos) return addrs;
    if (conf_.recursive && conf_.trusted) {
      // Right to left, the first address not in trusted_addresses; all
      // trusted: the leftmost.
      std::string_view rest = addrs;
      while (true) {
        size_t comma = rest.rfind(',');
        if (comma == std::string_view::npos) return strip_spaces(rest);
        std::string_view item = strip_spaces(rest.substr(comma + 1));
        if (!trusted(item)) return item;
        rest = rest.substr(0, comma);
      }
    }
    std::string_view last = addrs.substr(last_comma + 1);
    while (!last.empty() && last.front() == ' ') last.remove_prefix(1);
    return last;
  }

  RealIpConfig conf_;
};

core::Result<std::shared_ptr<const Plugin>> create(const json::object& conf, const PluginScope&) {
  RealIpConfig c;
  std::string source;
  if (const auto* v = conf.if_contains("source"); v && v->is_string()) {
    source = std::string(v->get_string());
  }
  c.source = http::VarRef::parse(source);
  c.x_forwarded_for = source == "http_x_forwarded_for";
  if (const auto* v = conf.if_contains("recursive"); v && v->is_bool()) c.recursive = v->get_bool();
  if (const auto* v = conf.if_contains("trusted_addresses"); v && v->is_array()) {
    std::vector<std::string> entries;
    for (const auto& item : v->get_array()) {
      if (item.is_string()) entries.emplace_back(item.get_string());
    }
    for (const std::string& e : entries) {
      if (!router::IpMatcher::build(std::span<const std::string>(&e, 1))) {
        return core::config_error("invalid ip address: " + e);
      }
    }
    auto matcher = router::IpMatcher::build(entries);
    if (!matcher) return matcher.error();
    c.trusted = std::move(*matcher);
  }
  return std::shared_ptr<const Plugin>(std::make_shared<RealIp>(std::move(c)));
}

PluginInfo make_info() {
  PluginInfo info;
  info.name = "real-ip";
  info.priority = 23000;
  info.schema = json::parse(kSchema);
  info.create = create;
  return info;
}

}  // namespace

namespace {
const plugins::PluginRegistration kRegistration{make_info()};
}

}  // namespace torii::plugins
