#include "config/snapshot_builder.h"

#include "config/consumer_builder.h"
#include "config/data_encryption.h"

#include <boost/json.hpp>
#include <charconv>
#include <cstdlib>
#include <limits>

#include "config/resource_schemas.h"
#include "config/standalone_file.h"
#include "core/config_duration.h"
#include "plugins/plugin_registry.h"
#include "core/saturate.h"

#include <spdlog/spdlog.h>

#include <set>

namespace torii::config {
namespace {

using core::config_error;
namespace json = boost::json;

std::string str(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

std::string id_of(const json::value* v) {
  if (!v) return {};
  if (v->is_string()) return std::string(v->get_string());
  if (v->is_int64()) return std::to_string(v->get_int64());
  if (v->is_uint64()) return std::to_string(v->get_uint64());
  return {};
}

double number(const json::value& v) {
  if (v.is_double()) return v.get_double();
  if (v.is_int64()) return static_cast<double>(v.get_int64());
  if (v.is_uint64()) return static_cast<double>(v.get_uint64());
  return 0;
}

// Most schemas bound these numbers only from below (a weight of 1e24 is a
// valid "integer"): narrowing goes through core::saturate.
using core::saturate;

// Timeouts are bounded from below only: core::duration_from_seconds caps
// them where now + timeout still fits the clock.
std::chrono::milliseconds seconds_to_ms(const json::value& v) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
      core::duration_from_seconds(number(v)));
}

upstream::Timeouts compile_timeouts(const json::object& t, upstream::Timeouts base) {
  if (const auto* c = t.if_contains("connect")) base.connect = seconds_to_ms(*c);
  if (const auto* s = t.if_contains("send")) base.send = seconds_to_ms(*s);
  if (const auto* r = t.if_contains("read")) base.read = seconds_to_ms(*r);
  return base;
}

uint16_t default_port(upstream::Scheme s) { return s == upstream::Scheme::kHttps ? 443 : 80; }

// "host:port", "[v6]:port", "host" -> host (no brackets), port (0 when absent).
bool split_host_port(std::string_view in, std::string& host, uint16_t& port) {
  port = 0;
  std::string_view port_text;
  if (!in.empty() && in.front() == '[') {
    const size_t close = in.find(']');
    if (close == std::string_view::npos) return false;
    host = std::string(in.substr(1, close - 1));
    if (close + 1 < in.size()) {
      if (in[close + 1] != ':') return false;
      port_text = in.substr(close + 2);
    }
  } else {
    const size_t colon = in.rfind(':');
    if (colon != std::string_view::npos && in.find(':') == colon) {
      host = std::string(in.substr(0, colon));
      port_text = in.substr(colon + 1);
    } else {
      host = std::string(in);  // a bare IPv6 literal or a host without port
    }
  }
  if (!port_text.empty()) {
    unsigned p = 0;
    auto [ptr, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), p);
    if (ec != std::errc() || ptr != port_text.data() + port_text.size() || p == 0 || p > 65535) {
      return false;
    }
    port = static_cast<uint16_t>(p);
  }
  return !host.empty();
}

core::Status add_node(upstream::Upstream& u, std::string host, uint16_t port, int weight,
                      int priority, const std::string& where) {
  upstream::Node n;
  if (port == 0) port = default_port(u.scheme);
  n.spec = upstream::NodeSpec{host, port, weight, priority};
  boost::system::error_code ec;
  auto addr = boost::asio::ip::make_address(host, ec);
  if (!ec) n.address = addr;
  const bool v6 = !ec && addr.is_v6();
  const std::string shown_host = v6 ? "[" + host + "]" : host;
  n.name = shown_host + ":" + std::to_string(port);
  n.host_header = port == default_port(u.scheme) ? shown_host : n.name;
  if (weight < 0) return config_error(where + ": weight must be >= 0");
  u.nodes.push_back(std::move(n));
  return core::ok_status();
}

// Splits "$host$remote_addr-x" into vars and the literal text around them.
void compile_combination(std::string_view tpl, upstream::Upstream& u) {
  std::string literal;
  size_t i = 0;
  while (i < tpl.size()) {
    if (tpl[i] == '$') {
      size_t j = i + 1;
      while (j < tpl.size() && (std::isalnum(static_cast<unsigned char>(tpl[j])) || tpl[j] == '_')) ++j;
      if (j > i + 1) {
        u.hash_literals.push_back(literal);
        literal.clear();
        u.hash_combo.push_back(http::VarRef::parse(tpl.substr(i + 1, j - i - 1)));
        i = j;
        continue;
      }
    }
    literal.push_back(tpl[i++]);
  }
  u.hash_literals.push_back(literal);
}

}  // namespace

core::Result<upstream::Upstream> compile_upstream_object(const json::object& o,
                                                         const std::string& where) {
  upstream::Upstream u;
  u.id = id_of(o.if_contains("id"));
  if (const auto* t = o.if_contains("type"); t && t->is_string()) {
    auto type = upstream::parse_balancer_type(t->get_string());
    if (!type) {
      return config_error(where + ".type: unknown load balancer \"" + std::string(t->get_string()) +
                          "\" (roundrobin, chash, least_conn, ewma)");
    }
    u.type = *type;
  }
  const std::string scheme = str(o, "scheme");
  if (scheme == "https") u.scheme = upstream::Scheme::kHttps;
  else if (!scheme.empty() && scheme != "http") {
    return config_error(where + ".scheme: \"" + scheme + "\" is not supported yet (http, https)");
  }
  if (o.contains("discovery_type") || o.contains("service_name")) {
    return config_error(where + ".discovery_type: service discovery is not available yet; list `nodes`");
  }
  if (const auto* nodes = o.if_contains("nodes")) {
    if (nodes->is_object()) {
      for (const auto& [key, w] : nodes->get_object()) {
        std::string host;
        uint16_t port = 0;
        const std::string nwhere = where + ".nodes[\"" + std::string(key) + "\"]";
        if (!split_host_port(key, host, port)) return config_error(nwhere + ": invalid host:port");
        auto st = add_node(u, host, port, saturate<int>(number(w)), 0, nwhere);
        if (!st) return st.error();
      }
    } else if (nodes->is_array()) {
      size_t i = 0;
      for (const auto& item : nodes->get_array()) {
        const std::string nwhere = where + ".nodes[" + std::to_string(++i) + "]";
        if (!item.is_object()) return config_error(nwhere + ": expected an object");
        const auto& n = item.get_object();
        std::string host = str(n, "host");
        uint16_t port = 0;
        if (const auto* p = n.if_contains("port")) port = saturate<uint16_t>(number(*p));
        if (!host.empty() && host.front() == '[' && host.back() == ']') {
          host = host.substr(1, host.size() - 2);
        }
        const int weight = n.contains("weight") ? saturate<int>(number(n.at("weight"))) : 1;
        const int priority = n.contains("priority") ? saturate<int>(number(n.at("priority"))) : 0;
        auto st = add_node(u, host, port, weight, priority, nwhere);
        if (!st) return st.error();
      }
    }
  }
  const std::string hash_on = str(o, "hash_on");
  const std::string key = str(o, "key");
  if (hash_on.empty() || hash_on == "vars") {
    u.hash_on = upstream::HashOn::kVars;
    u.hash_key = http::VarRef::parse(key.empty() ? "remote_addr" : key);
  } else if (hash_on == "header") {
    u.hash_on = upstream::HashOn::kHeader;
    u.hash_key = http::VarRef::parse("http_" + key);
  } else if (hash_on == "cookie") {
    u.hash_on = upstream::HashOn::kCookie;
    u.hash_key = http::VarRef::parse("cookie_" + key);
  } else if (hash_on == "consumer") {
    u.hash_on = upstream::HashOn::kConsumer;
  } else if (hash_on == "vars_combinations") {
    u.hash_on = upstream::HashOn::kVarsCombinations;
    compile_combination(key, u);
  }
  if (const auto* r = o.if_contains("retries")) u.retries = saturate<int>(number(*r));
  if (const auto* rt = o.if_contains("retry_timeout")) u.retry_timeout = seconds_to_ms(*rt);
  if (const auto* t = o.if_contains("timeout"); t && t->is_object()) {
    u.timeout = compile_timeouts(t->get_object(), u.timeout);
  }
  const std::string pass_host = str(o, "pass_host");
  if (pass_host == "node") u.pass_host = upstream::PassHost::kNode;
  else if (pass_host == "rewrite") u.pass_host = upstream::PassHost::kRewrite;
  u.upstream_host = str(o, "upstream_host");
  if (const auto* k = o.if_contains("keepalive_pool"); k && k->is_object()) {
    const auto& kp = k->get_object();
    if (const auto* s = kp.if_contains("size")) u.keepalive.size = saturate<uint32_t>(number(*s));
    if (const auto* i = kp.if_contains("idle_timeout")) u.keepalive.idle_timeout = seconds_to_ms(*i);
    if (const auto* r = kp.if_contains("requests")) {
      u.keepalive.requests = saturate<uint32_t>(number(*r));
    }
  }
  if (const auto* tls = o.if_contains("tls"); tls && tls->is_object()) {
    if (const auto* v = tls->get_object().if_contains("verify"); v && v->is_bool()) {
      u.tls_verify = v->get_bool();
    }
    // client_cert / client_cert_id: SnapshotBuilder::attach_client_cert.
  }
  return u;
}

core::Result<std::shared_ptr<const upstream::Upstream>> SnapshotBuilder::compile_upstream(
    const json::object& obj, const std::string& id, const std::string& where,
    const std::string& owner_key) {
  json::object keyed = obj;
  keyed["id"] = id;
  std::string cache_key = json::serialize(keyed);
  const json::value* checks = obj.if_contains("checks");
  if (checks != nullptr && !checks->is_object()) checks = nullptr;
  // Health states belong to their owner, as APISIX keeps a checker per
  // upstream's parent: the same inline upstream on two routes is checked
  // (and reported) twice.
  if (checks != nullptr) cache_key += "|" + owner_key;
  // A client certificate by id is part of what the upstream is: when that
  // ssl object changes, so does the compiled upstream.
  if (const auto* tls = obj.if_contains("tls"); tls != nullptr && tls->is_object()) {
    if (const auto* cid = tls->get_object().if_contains("client_cert_id")) {
      const auto* cert = certs_ ? certs_->client_by_id(id_of(cid)) : nullptr;
      if (cert != nullptr) cache_key += "|" + std::to_string((*cert)->generation);
    }
  }
  if (auto it = upstream_cache_.find(cache_key); it != upstream_cache_.end()) {
    if (auto live = it->second.lock()) return live;
  }
  auto u = compile_upstream_object(obj, where);
  if (!u) return u.error();
  u->id = id;
  if (auto st = attach_client_cert(obj, *u, where); !st) return st.error();
  if (checks != nullptr) attach_health_checker(checks->get_object(), owner_key, *u);
  auto shared = std::make_shared<const upstream::Upstream>(std::move(*u));
  upstream_cache_[std::move(cache_key)] = shared;
  return shared;
}

void SnapshotBuilder::attach_health_checker(const json::object& checks,
                                            const std::string& owner_key, upstream::Upstream& u) {
  std::vector<upstream::HealthChecker::Target> targets;
  targets.reserve(u.nodes.size());
  for (const upstream::Node& n : u.nodes) targets.push_back({n.spec, n.name});
  u.health = std::make_shared<upstream::HealthChecker>(
      owner_key, upstream::parse_health_checks(checks), std::move(targets));
  upstream::HealthCheckers::global().add(u.health);
}

core::Status SnapshotBuilder::attach_client_cert(const json::object& obj, upstream::Upstream& u,
                                                const std::string& where) {
  const auto* tls = obj.if_contains("tls");
  if (tls == nullptr || !tls->is_object()) return core::ok_status();
  const json::object& t = tls->get_object();
  if (const auto* cid = t.if_contains("client_cert_id")) {
    const std::string id = id_of(cid);
    const auto* cert = certs_ ? certs_->client_by_id(id) : nullptr;
    if (cert == nullptr) {
      return config_error(where + ".tls.client_cert_id: failed to fetch ssl info by ssl id [" + id +
                          "], or it is not of type client");
    }
    u.tls_client = (*cert)->ctx;
    return core::ok_status();
  }
  const auto* cert = t.if_contains("client_cert");
  const auto* key = t.if_contains("client_key");
  if (cert == nullptr || key == nullptr || !cert->is_string() || !key->is_string()) {
    return core::ok_status();
  }
  static const DataEncryption kPlain;
  auto ctx = tls::compile_client_context(cert->get_string(), key->get_string(),
                                         encryption_ ? *encryption_ : kPlain, trusted_ca_);
  if (!ctx) return config_error(where + ".tls: " + ctx.error().message);
  u.tls_client = std::move(*ctx);
  return core::ok_status();
}

core::Status SnapshotBuilder::build_certs(const ResourceSet& rs, const DataEncryption& enc,
                                          bool skip_invalid,
                                          const std::function<void(const core::Error&)>& skip) {
  certs_ = std::make_shared<tls::CertIndex>();
  std::map<std::string, CachedCert> next;
  size_t index = 0;
  for (const auto& item : rs.items("ssls")) {
    ++index;
    const std::string where = "ssls[" + std::to_string(index) + "] (id \"" + item.id + "\")";
    json::value checked(item.value);
    if (!checked.as_object().contains("id")) checked.as_object()["id"] = item.id;
    core::Status st = check_resource("ssls", checked);
    const json::object& o = item.value;
    if (const auto* status = o.if_contains("status");
        st && status != nullptr && status->is_int64() && status->get_int64() == 0) {
      continue;  // disabled: not served
    }
    const std::string text = json::serialize(o);
    const auto* type = o.if_contains("type");
    const bool client = type != nullptr && type->is_string() && type->get_string() == "client";
    if (st) {
      auto cached = ssl_cache_.find(item.id);
      if (cached != ssl_cache_.end() && cached->second.json == text) {
        if (cached->second.client) certs_->add_compiled_client(cached->second.client);
        if (cached->second.server) certs_->add_compiled(item.id, o, cached->second.server);
        next[item.id] = cached->second;
        continue;
      }
      CachedCert entry{text, nullptr, nullptr};
      if (client) {
        auto c = tls::compile_client_cert(item.id, o, enc, trusted_ca_);
        if (c) {
          entry.client = *c;
          certs_->add_compiled_client(*c);
        } else {
          st = c.error();
        }
      } else {
        auto c = tls::compile_server_cert(item.id, o, enc);
        if (c) {
          entry.server = *c;
          certs_->add_compiled(item.id, o, *c);
        } else {
          st = c.error();
        }
      }
      if (st) {
        next[item.id] = std::move(entry);
        continue;
      }
    }
    auto e = config_error(where + ": " + st.error().message);
    if (!skip_invalid) return e;
    skip(e);
  }
  ssl_cache_ = std::move(next);
  return core::ok_status();
}

core::Result<std::shared_ptr<const Snapshot>> SnapshotBuilder::build(const ResourceSet& rs,
                                                                     const ServerConfig& server,
                                                                     BuildMode mode) {
  const bool skip_invalid = mode == BuildMode::kSkipInvalid;
  // In kSkipInvalid mode an item that cannot be used is logged and left out;
  // in kRejectAll mode the first one fails the whole build.
  // Each ignored item is logged once, not again on every later rebuild.
  std::set<std::string> skipped;
  auto report = [&](const core::Error& e, std::string_view consequence) {
    if (!reported_skips_.count(e.message)) spdlog::error("config: {}; {}", e.message, consequence);
    skipped.insert(e.message);
  };
  auto skip = [&](const core::Error& e) { report(e, "item ignored"); };
  struct RememberSkips {
    std::set<std::string>& from;
    std::set<std::string>& to;
    ~RememberSkips() { to = std::move(from); }
  } remember{skipped, reported_skips_};
  // Forget upstreams no live snapshot uses any more, so the cache does not
  // grow with every distinct upstream ever configured.
  std::erase_if(upstream_cache_, [](const auto& kv) { return kv.second.expired(); });
  for (const auto& [collection, items] : rs.collections) {
    if (!skip_invalid && collection != "routes" && collection != "services" &&
        collection != "upstreams" && collection != "plugin_configs" &&
        collection != "global_rules" && collection != "consumers" &&
        collection != "consumer_groups" && collection != "credentials" &&
        collection != "plugin_metadata" && collection != "ssls" && !items.empty()) {
      return config_error(collection +
                          ": not supported yet (routes, services, upstreams, plugin_configs, "
                          "global_rules, consumers, consumer_groups, credentials, plugin_metadata, ssls)");
    }
  }
  auto check = [](std::string_view collection, const ResourceItem& item,
                  size_t index) -> core::Status {
    json::value checked(item.value);
    if (!checked.as_object().contains("id")) checked.as_object()["id"] = item.id;
    auto st = check_resource(collection, checked);
    if (!st) {
      return config_error(std::string(collection) + "[" + std::to_string(index) + "] (id \"" +
                          item.id + "\"): " + st.error().message);
    }
    return core::ok_status();
  };
  auto plugins_of = [](const json::object& o) -> const json::object* {
    const auto* p = o.if_contains("plugins");
    return p && p->is_object() ? &p->get_object() : nullptr;
  };
  const std::string prefix = "/apisix/";

  {
    auto encryption = DataEncryption::create(server.data_encryption_keyring);
    if (!encryption) return encryption.error();
    encryption_ = std::make_unique<DataEncryption>(std::move(*encryption));
  }
  trusted_ca_ = server.ssl.trusted_certificate;
  if (auto st = build_certs(rs, *encryption_, skip_invalid, skip); !st) return st.error();

  // Upstreams by id.
  std::map<std::string, std::shared_ptr<const upstream::Upstream>, std::less<>> upstreams;
  size_t index = 0;
  for (const auto& item : rs.items("upstreams")) {
    ++index;
    const std::string where = "upstreams[" + std::to_string(index) + "]";
    core::Result<std::shared_ptr<const upstream::Upstream>> u = core::Error{};
    if (auto st = check("upstreams", item, index); !st) {
      u = st.error();
    } else {
      u = compile_upstream(item.value, item.id, where, "/apisix/upstreams/" + item.id);
    }
    if (!u) {
      if (!skip_invalid) return u.error();
      skip(u.error());
      continue;
    }
    upstreams[item.id] = *u;
  }

  // `owner_key`: the resource key of `o` ("/apisix/routes/1"), the name of
  // its inline upstream's health checker.
  auto resolve_upstream = [&](const json::object& o, const std::string& where,
                              const std::string& owner_key)
      -> core::Result<std::shared_ptr<const upstream::Upstream>> {
    if (const auto* inline_up = o.if_contains("upstream"); inline_up && inline_up->is_object()) {
      return compile_upstream(inline_up->get_object(), "", where + ".upstream", owner_key);
    }
    if (const auto* uid = o.if_contains("upstream_id")) {
      const std::string id = id_of(uid);
      auto it = upstreams.find(id);
      if (it == upstreams.end()) {
        return config_error(where + ".upstream_id: failed to fetch upstream info by upstream id [" +
                            id + "]");
      }
      return it->second;
    }
    return std::shared_ptr<const upstream::Upstream>();
  };

  // Plugin instances may resolve upstream ids and compile inline upstreams
  // (traffic-split) while this build runs.
  plugins::PluginScope scope;
  scope.workers = static_cast<unsigned>(std::max(1, server.worker_processes));
  scope.find_upstream = [&upstreams](std::string_view id) -> std::shared_ptr<const upstream::Upstream> {
    auto it = upstreams.find(id);
    return it == upstreams.end() ? nullptr : it->second;
  };
  scope.compile_upstream = [this](const json::object& obj) {
    return compile_upstream(obj, "", "upstream", "");
  };
  chains_.set_scope_template(scope);
  chains_.collect_garbage();

  // plugin_metadata: one object per plugin name, checked with the plugin's
  // metadata schema, handed to its instances when they are built.
  std::map<std::string, json::object, std::less<>> metadata;
  index = 0;
  for (const auto& item : rs.items("plugin_metadata")) {
    ++index;
    json::object value = item.value;
    value.erase("id");
    auto st = plugins::check_plugin_conf(item.id, value, plugins::SchemaType::kMetadata);
    if (!st) {
      auto e = config_error("plugin_metadata[" + std::to_string(index) + "] (id \"" + item.id +
                            "\"): " + st.error().message);
      if (!skip_invalid) return e;
      skip(e);
      continue;
    }
    metadata[item.id] = std::move(value);
  }
  chains_.set_metadata(std::move(metadata));

  std::map<std::string, const json::object*, std::less<>> plugin_configs;
  index = 0;
  for (const auto& item : rs.items("plugin_configs")) {
    ++index;
    if (auto st = check("plugin_configs", item, index); !st) {
      if (!skip_invalid) return st.error();
      skip(st.error());
      continue;
    }
    plugin_configs[item.id] = plugins_of(item.value);
  }

  struct ServiceInfo {
    std::string id;
    const json::object* plugins = nullptr;
    std::string name;
    std::shared_ptr<const upstream::Upstream> upstream;
    std::vector<std::string> hosts;
    bool enable_websocket = false;
  };
  std::map<std::string, ServiceInfo, std::less<>> services;
  index = 0;
  for (const auto& item : rs.items("services")) {
    ++index;
    const std::string where = "services[" + std::to_string(index) + "]";
    ServiceInfo s;
    s.name = str(item.value, "name");
    core::Result<std::shared_ptr<const upstream::Upstream>> u = core::Error{};
    if (auto st = check("services", item, index); !st) {
      u = st.error();
    } else {
      u = resolve_upstream(item.value, where, "/apisix/services/" + item.id);
    }
    if (!u) {
      if (!skip_invalid) return u.error();
      skip(u.error());
      continue;
    }
    s.upstream = *u;
    if (const auto* h = item.value.if_contains("hosts"); h && h->is_array()) {
      for (const auto& x : h->get_array()) s.hosts.emplace_back(x.get_string());
    }
    if (const auto* ws = item.value.if_contains("enable_websocket"); ws && ws->is_bool()) {
      s.enable_websocket = ws->get_bool();
    }
    s.id = item.id;
    s.plugins = plugins_of(item.value);
    services[item.id] = std::move(s);
  }

  auto snap = std::make_shared<Snapshot>();
  snap->certs = certs_;
  snap->version = next_version_++;
  snap->http = std::make_shared<const HttpSettings>(server.http);
  snap->access_log_format =
      std::make_shared<const observability::LogFormat>(server.http.access_log_format);
  if (!server.http.trusted_addresses.empty()) {
    auto trusted = router::IpMatcher::build(server.http.trusted_addresses);
    if (!trusted) return config_error("apisix.trusted_addresses: " + trusted.error().message);
    snap->trusted_addresses = std::make_shared<const router::IpMatcher>(std::move(*trusted));
  }
  std::vector<plugins::PluginSource> rules;
  index = 0;
  for (const auto& item : rs.items("global_rules")) {
    ++index;
    if (auto st = check("global_rules", item, index); !st) {
      if (!skip_invalid) return st.error();
      skip(st.error());
      continue;
    }
    plugins::PluginSource rule{plugins_of(item.value), "global_rule", item.id,
                               prefix + "global_rules/" + item.id};
    // A rule whose plugins cannot be built (unknown to Torii, a bad conf) is
    // left out alone: the merged chain below would otherwise fail, and with
    // it every other rule (an ip-restriction rule would stop blocking).
    if (auto alone = chains_.global_chain({rule}); !alone) {
      auto e = config_error("global_rules[" + std::to_string(index) + "] (id \"" + item.id +
                            "\"): " + alone.error().message);
      if (!skip_invalid) return e;
      skip(e);
      continue;
    }
    rules.push_back(std::move(rule));
  }
  if (auto global = chains_.global_chain(rules); global) {
    snap->global_plugins = std::move(*global);
  } else {
    auto e = config_error("global_rules: " + global.error().message);
    if (!skip_invalid) return e;
    skip(e);
  }
  {
    auto consumers = build_consumers(rs, *encryption_, chains_, [&](const core::Error& e) {
      if (!skip_invalid) return core::Status(e);
      skip(e);
      return core::ok_status();
    });
    if (!consumers) return consumers.error();
    if (!(*consumers)->empty()) snap->consumers = std::move(*consumers);
  }
  std::vector<router::RouteSpec> specs;
  std::vector<std::string> spec_where;  // spec index -> "routes[N] (id \"x\")" in file terms
  index = 0;
  for (const auto& item : rs.items("routes")) {
    ++index;
    if (auto st = check("routes", item, index); !st) {
      if (!skip_invalid) return st.error();
      skip(st.error());
      continue;
    }
    const std::string where = "routes[" + std::to_string(index) + "]";
    const json::object& o = item.value;
    Route route;
    route.id = item.id;
    route.name = str(o, "name");
    // Skip mode: a reference or plugin that cannot be resolved makes the
    // route unusable (Route::unusable_status) rather than absent.
    auto unusable = [&](const core::Error& e, int status) -> core::Status {
      if (!skip_invalid) return e;
      report(e, "the route answers its requests with " + std::to_string(status));
      route.unusable_status = status;
      route.unusable_reason = e.message;
      return core::ok_status();
    };
    const ServiceInfo* service = nullptr;
    if (const auto* sid = o.if_contains("service_id")) {
      route.service_id = id_of(sid);
      auto it = services.find(route.service_id);
      if (it == services.end()) {
        auto e = config_error(where + ".service_id: failed to fetch service info by service id [" +
                              route.service_id + "]");
        if (auto st = unusable(e, 404); !st) return st.error();
      } else {
        service = &it->second;
        route.service_name = service->name;
      }
    }
    if (!route.unusable_status) {
      auto u = resolve_upstream(o, where, "/apisix/routes/" + route.id);
      if (!u) {
        if (auto st = unusable(u.error(), 502); !st) return st.error();
      } else {
        route.upstream = *u;
        if (!route.upstream && service) route.upstream = service->upstream;
      }
    }
    if (const auto* t = o.if_contains("timeout"); t && t->is_object()) {
      route.timeout = compile_timeouts(t->get_object(), upstream::Timeouts{});
    }
    if (const auto* ws = o.if_contains("enable_websocket"); ws && ws->is_bool()) {
      route.enable_websocket = ws->get_bool();
    } else if (service) {
      route.enable_websocket = service->enable_websocket;
    }
    // Without its service nothing else can be known; without its upstream
    // the plugins still run before the 502, as in APISIX.
    if (route.unusable_status == 0 || route.unusable_status == 502) {
      std::vector<plugins::PluginSource> sources;
      if (service) {
        sources.push_back({service->plugins, "service", service->id, prefix + "services/" + service->id});
      }
      bool sources_found = true;
      if (const auto* pc = o.if_contains("plugin_config_id")) {
        const std::string pc_id = id_of(pc);
        auto it = plugin_configs.find(pc_id);
        if (it == plugin_configs.end()) {
          auto e = config_error(where + ".plugin_config_id: failed to fetch plugin config info by "
                                "plugin config id [" + pc_id + "]");
          if (auto st = unusable(e, 503); !st) return st.error();
          sources_found = false;
        } else {
          sources.push_back({it->second, "plugin_config", pc_id, prefix + "plugin_configs/" + pc_id});
        }
      }
      if (sources_found) {
        sources.push_back({plugins_of(o), "route", item.id, prefix + "routes/" + item.id});
        auto chain = chains_.route_chain(sources);
        if (!chain) {
          auto e = config_error(where + " (id \"" + item.id + "\"): " + chain.error().message);
          if (auto st = unusable(e, 503); !st) return st.error();
        } else {
          route.plugins = std::move(*chain);
        }
      }
    }
    if (route.unusable_status != 0 && route.unusable_status != 502) route.plugins = nullptr;
    if (const auto* st = o.if_contains("status"); st && number(*st) == 0) continue;  // disabled

    router::RouteSpec spec;
    spec.index = static_cast<uint32_t>(snap->routes.size());
    if (const auto* uri = o.if_contains("uri"); uri && uri->is_string()) {
      spec.uris.emplace_back(uri->get_string());
    }
    if (const auto* uris = o.if_contains("uris"); uris && uris->is_array()) {
      for (const auto& x : uris->get_array()) spec.uris.emplace_back(x.get_string());
    }
    if (const auto* h = o.if_contains("host"); h && h->is_string()) {
      spec.hosts.emplace_back(h->get_string());
    }
    if (const auto* hs = o.if_contains("hosts"); hs && hs->is_array()) {
      for (const auto& x : hs->get_array()) spec.hosts.emplace_back(x.get_string());
    }
    if (spec.hosts.empty() && service) spec.hosts = service->hosts;
    for (auto& h : spec.hosts) {
      for (char& c : h) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    if (const auto* ms = o.if_contains("methods"); ms && ms->is_array()) {
      for (const auto& m : ms->get_array()) {
        if (auto method = http::parse_method(m.get_string())) {
          spec.methods |= static_cast<uint32_t>(*method);
        }
      }
    }
    if (const auto* ra = o.if_contains("remote_addr"); ra && ra->is_string()) {
      spec.remote_addrs.emplace_back(ra->get_string());
    }
    if (const auto* ras = o.if_contains("remote_addrs"); ras && ras->is_array()) {
      for (const auto& x : ras->get_array()) spec.remote_addrs.emplace_back(x.get_string());
    }
    if (const auto* vars = o.if_contains("vars")) spec.vars = *vars;
    if (const auto* p = o.if_contains("priority")) spec.priority = saturate<int>(number(*p));
    specs.push_back(std::move(spec));
    spec_where.push_back(where + " (id \"" + item.id + "\")");
    snap->routes.push_back(std::move(route));
  }
  // The router names a refused spec by its RouteSpec::index, the route's
  // slot in the snapshot ("routes[3].vars ..."). Once a spec was skipped
  // that is no longer its position in `specs`: look it up.
  const auto refused_spec = [&specs](const std::string& msg) -> size_t {
    if (msg.rfind("routes[", 0) != 0 || msg.find(']') == std::string::npos) return specs.size();
    const unsigned long index = std::strtoul(msg.c_str() + 7, nullptr, 10);
    for (size_t i = 0; i < specs.size(); ++i) {
      if (specs[i].index == index) return i;
    }
    return specs.size();
  };
  auto router = router::Router::build(server.router, specs);
  // Skip mode: drop the route the router refuses and build again.
  while (!router && skip_invalid) {
    const std::string& msg = router.error().message;
    const size_t slot = refused_spec(msg);
    if (slot >= specs.size()) break;
    skip(config_error(spec_where[slot] + ": " + msg.substr(msg.find(']') + 2)));
    specs.erase(specs.begin() + static_cast<std::ptrdiff_t>(slot));
    spec_where.erase(spec_where.begin() + static_cast<std::ptrdiff_t>(slot));
    router = router::Router::build(server.router, specs);
  }
  if (!router) {
    // Name the file's item rather than the snapshot slot.
    std::string msg = router.error().message;
    if (const size_t slot = refused_spec(msg); slot < specs.size()) {
      msg = spec_where[slot] + ": " + msg.substr(msg.find(']') + 2);
    }
    return config_error(msg);
  }
  snap->router = std::move(*router);
  return std::shared_ptr<const Snapshot>(std::move(snap));
}

std::vector<std::string> validate_standalone(const ServerConfig& server) {
  std::vector<std::string> errors;
  auto set = load_standalone_file(server.standalone_file);
  if (!set) {
    errors.push_back(set.error().message);
    return errors;
  }
  // Every item on its own first, so one run reports every schema error.
  for (const auto& [collection, items] : set->collections) {
    size_t index = 0;
    for (const auto& item : items) {
      ++index;
      json::value v(item.value);
      if (collection == "consumers") {
        // As the build checks them: a consumer is named by its username and
        // has no id field; a credential item ({user}/credentials/{id}) is
        // checked by the build below.
        std::string_view user, id;
        if (split_credential_id(item.id, user, id)) continue;
      } else if (!v.as_object().contains("id")) {
        v.as_object()["id"] = item.id;
      }
      if (auto st = check_resource(collection, v); !st) {
        errors.push_back(server.standalone_file + ": " + collection + "[" + std::to_string(index) +
                         "] (id \"" + item.id + "\"): " + st.error().message);
      }
    }
  }
  if (!errors.empty()) return errors;
  SnapshotBuilder builder;
  if (auto snap = builder.build(*set, server); !snap) {
    errors.push_back(server.standalone_file + ": " + snap.error().message);
  }
  return errors;
}

}  // namespace torii::config
