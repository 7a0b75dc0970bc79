// referer-restriction (priority 2990): allows or denies a request by the
// host of its Referer, as APISIX's plugin.
//
// Phase: access. Exactly one of `whitelist` / `blacklist` is set; entries are
// host names, and a leading '*' makes a suffix ("*.example.com" matches
// "a.example.com", not "example.com"). The Referer is parsed as
// lua-resty-http's parse_uri does: an optional "http:" / "https:" then "//"
// and a host (a bracketed IPv6 literal keeps its brackets). A missing or
// malformed Referer is refused unless `bypass_missing`. A refused request
// gets 403 with {"message":"<message>"}.
//
// Difference from APISIX: host names are compared case-insensitively (DNS
// names are), so "EVIL.example" cannot slip past a blacklist entry written
// in lower case.
//
// Security posture: the Referer is client-controlled and trivially forged;
// this plugin stops hot-linking by browsers, not a determined client.
#include <algorithm>
#include <boost/json.hpp>
#include <cctype>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "plugins/plugin.h"
#include "plugins/plugin_registry.h"

namespace torii::plugins {
namespace {

namespace json = boost::json;

char lower(char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }

// Host patterns, lower-cased once: exact names (sorted) and '*' suffixes.
struct HostMatcher {
  std::vector<std::string> exact;
  std::vector<std::string> suffixes;

  static HostMatcher build(const std::vector<std::string>& hosts) {
    HostMatcher m;
    for (std::string h : hosts) {
      std::transform(h.begin(), h.end(), h.begin(), lower);
      if (!h.empty() && h.front() == '*') {
        m.suffixes.push_back(h.substr(1));
      } else {
        m.exact.push_back(std::move(h));
      }
    }
    std::sort(m.exact.begin(), m.exact.end());
    return m;
  }

  // `host` as sent (any case); compared without allocating.
  bool matches(std::string_view host) const {
    auto less_ci = [](std::string_view a, std::string_view b) {
      return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(),
                                          [](char x, char y) { return lower(x) < lower(y); });
    };
    auto it =
        std::lower_bound(exact.begin(), exact.end(), host,
                         [&](const std::string& e, std::string_view h) { return less_ci(e, h); });
    if (it != exact.end() && !less_ci(host, *it)) return true;
    for (const std::string& s : suffixes) {
      if (host.size() < s.size()) continue;
      std::string_view tail = host.substr(host.size() - s.size());
      if (std::equal(tail.begin(), tail.end(), s.begin(),
                     [](char x, char y) { return lower(x) == y; })) {
        return true;
      }
    }
    return false;
  }
};

struct RefererRestrictionConfig {
  bool bypass_missing = false;
  bool is_whitelist = false;  // else blacklist
  HostMatcher hosts;
  std::string message = "Your referer host is not allowed";
};

// host_def is APISIX's core.schema.host_def (schema_def.lua).
constexpr std::string_view kSchema = R"json({
  "type": "object",
  "properties": {
    "bypass_missing": {
      "type": "boolean",
      "default": false
    },
    "whitelist": {
      "type": "array",
      "items": {"type": "string", "pattern": "^\\*?[0-9a-zA-Z-._\\[\\]:]+$"},
      "minItems": 1
    },
    "blacklist": {
      "type": "array",
      "items": {"type": "string", "pattern": "^\\*?[0-9a-zA-Z-._\\[\\]:]+$"},
      "minItems": 1
    },
    "message": {
      "type": "string",
      "minLength": 1,
      "maxLength": 1024,
      "default": "Your referer host is not allowed"
    }
  },
  "oneOf": [
    {"required": ["whitelist"]},
    {"required": ["blacklist"]}
  ]
})json";

// lua-resty-http parse_uri's host:
//   ^(?:(http[s]?):)?//((?:[^\[\]:/\?]+)|(?:\[.+\]))...
// nullopt when the Referer does not have that shape.
std::optional<std::string_view> referer_host(std::string_view r) {
  if (r.starts_with("https:")) {
    r.remove_prefix(6);
  } else if (r.starts_with("http:")) {
    r.remove_prefix(5);
  }
  if (!r.starts_with("//")) return std::nullopt;
  r.remove_prefix(2);
  if (!r.empty() && r.front() == '[') {
    // Greedy "\[.+\]": up to the last ']' of the whole value.
    size_t close = r.rfind(']');
    if (close == std::string_view::npos || close < 2) return std::nullopt;
    return r.substr(0, close + 1);
  }
  size_t end = r.find_first_of("[]:/?");
  std::string_view host = r.substr(0, end);
  if (host.empty()) return std::nullopt;
  return host;
}

class RefererRestriction final : public Plugin {
 public:
  explicit RefererRestriction(RefererRestrictionConfig conf)
      : conf_(std::move(conf)), reject_(Exit::message(403, conf_.message)) {}

  uint8_t phases() const override { return bit(Phase::kAccess); }

  Step access(PluginContext& ctx) const override {
    std::optional<std::string_view> host;
    if (auto referer = ctx.request_header("Referer")) host = referer_host(*referer);
    bool block;
    if (!host) {
      block = !conf_.bypass_missing;
    } else {
      bool listed = conf_.hosts.matches(*host);
      block = conf_.is_whitelist ? !listed : listed;
    }
    if (block) return reject_;
    return kContinue;
  }

 private:
  RefererRestrictionConfig conf_;
  Exit reject_;  // serialised once
};

core::Result<std::shared_ptr<const Plugin>> create(const json::object& conf, const PluginScope&) {
  RefererRestrictionConfig c;
  if (const auto* v = conf.if_contains("bypass_missing"); v && v->is_bool()) {
    c.bypass_missing = v->get_bool();
  }
  if (const auto* v = conf.if_contains("message"); v && v->is_string()) {
    c.message = std::string(v->get_string());
  }
  c.is_whitelist = conf.contains("whitelist");
  std::vector<std::string> hosts;
  if (const auto* v = conf.if_contains(c.is_whitelist ? "whitelist" : "blacklist");
      v && v->is_array()) {
    for (const auto& item : v->get_array()) {
      if (item.is_string()) hosts.emplace_back(item.get_string());
    }
  }
  c.hosts = HostMatcher::build(hosts);
  return std::shared_ptr<const Plugin>(std::make_shared<RefererRestriction>(std::move(c)));
}

PluginInfo make_info() {
  PluginInfo info;
  info.name = "referer-restriction";
  info.priority = 2990;
  info.schema = json::parse(kSchema);
  info.create = create;
  return info;
}

}  // namespace

namespace {
const plugins::PluginRegistration kRegistration{make_info()};
}

}  // namespace torii::plugins
