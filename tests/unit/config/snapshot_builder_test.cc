// SnapshotBuilder: a ResourceSet compiled into routes, services and
// upstreams with APISIX's inheritance and defaults; reference and plugin
// errors; upstream objects reused across builds while their JSON is
// unchanged (so worker balancer and pool state survives a reload); and
// compile_upstream_object's field handling.
#include "config/snapshot_builder.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>

#include "config/standalone_file.h"

namespace torii::config {
namespace {

namespace json = boost::json;
using std::chrono::milliseconds;

ResourceSet resources(std::string_view json_text) {
  auto r = parse_standalone(json_text, FileFormat::kJson);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return r.ok() ? std::move(*r) : ResourceSet{};
}

core::Result<std::shared_ptr<const Snapshot>> build(SnapshotBuilder& b, std::string_view text,
                                                    const ServerConfig& server = ServerConfig{}) {
  return b.build(resources(text), server);
}

std::shared_ptr<const Snapshot> build_ok(SnapshotBuilder& b, std::string_view text,
                                         const ServerConfig& server = ServerConfig{}) {
  auto s = build(b, text, server);
  EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().message);
  return s.ok() ? *s : nullptr;
}

std::string build_error(std::string_view text) {
  SnapshotBuilder b;
  auto s = build(b, text);
  EXPECT_FALSE(s.ok()) << text;
  return s.ok() ? std::string() : s.error().message;
}

const Route* route_by_id(const Snapshot& s, std::string_view id) {
  for (const Route& r : s.routes) {
    if (r.id == id) return &r;
  }
  return nullptr;
}

// The route a request for (host, path) is routed to, or "" when none.
std::string routed(const Snapshot& s, std::string_view host, std::string_view path) {
  router::MatchRequest req;
  req.path = path;
  req.host = host;
  req.host_header = host;
  req.remote_addr = boost::asio::ip::make_address("127.0.0.1");
  router::Match m;
  if (!s.router->match(req, m)) return "";
  return s.routes.at(m.index).id;
}

upstream::Upstream compile(std::string_view text) {
  auto u = compile_upstream_object(json::parse(text).as_object(), "upstreams[1]");
  EXPECT_TRUE(u.ok()) << text << ": " << (u.ok() ? "" : u.error().message);
  return u.ok() ? std::move(*u) : upstream::Upstream{};
}

constexpr std::string_view kBasic = R"({
  "upstreams": [{"id": "u1", "nodes": {"127.0.0.1:8001": 1}, "type": "roundrobin"}],
  "services": [{"id": "s1", "name": "svc", "upstream_id": "u1", "hosts": ["Svc.Example"]}],
  "routes": [
    {"id": "r1", "uri": "/direct", "upstream_id": "u1", "name": "direct"},
    {"id": "r2", "uri": "/via-service", "service_id": "s1"},
    {"id": "r3", "uri": "/inline", "upstream": {"nodes": {"127.0.0.1:8003": 1}, "type": "roundrobin"}},
    {"id": "r4", "uri": "/none", "plugins": {}}
  ]
})";

TEST(ConfigSnapshotBuilderTest, builds_routes_services_and_upstreams) {
  SnapshotBuilder b;
  auto s = build_ok(b, kBasic);
  ASSERT_NE(s, nullptr);
  ASSERT_EQ(s->routes.size(), 4u);
  ASSERT_NE(s->router, nullptr);
  ASSERT_NE(s->http, nullptr);
  ASSERT_NE(s->access_log_format, nullptr);

  const Route* r1 = route_by_id(*s, "r1");
  ASSERT_NE(r1, nullptr);
  EXPECT_EQ(r1->name, "direct");
  ASSERT_NE(r1->upstream, nullptr);
  EXPECT_EQ(r1->upstream->id, "u1");
  ASSERT_EQ(r1->upstream->nodes.size(), 1u);
  EXPECT_EQ(r1->upstream->nodes[0].name, "127.0.0.1:8001");

  const Route* r3 = route_by_id(*s, "r3");
  ASSERT_NE(r3->upstream, nullptr);
  EXPECT_EQ(r3->upstream->id, "");
  EXPECT_EQ(r3->upstream->nodes[0].spec.port, 8003);

  EXPECT_EQ(route_by_id(*s, "r4")->upstream, nullptr);
  EXPECT_EQ(routed(*s, "any", "/direct"), "r1");
  EXPECT_EQ(routed(*s, "any", "/inline"), "r3");
  EXPECT_EQ(routed(*s, "any", "/nothing"), "");
}

TEST(ConfigSnapshotBuilderTest, routes_share_one_upstream_object) {
  SnapshotBuilder b;
  auto s = build_ok(b, kBasic);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(route_by_id(*s, "r1")->upstream, route_by_id(*s, "r2")->upstream);
}

TEST(ConfigSnapshotBuilderTest, service_upstream_and_hosts_are_inherited) {
  SnapshotBuilder b;
  auto s = build_ok(b, kBasic);
  ASSERT_NE(s, nullptr);
  const Route* r2 = route_by_id(*s, "r2");
  ASSERT_NE(r2, nullptr);
  EXPECT_EQ(r2->service_id, "s1");
  EXPECT_EQ(r2->service_name, "svc");
  ASSERT_NE(r2->upstream, nullptr);
  EXPECT_EQ(r2->upstream->id, "u1");
  // The service's hosts apply (lower-cased) to its routes.
  EXPECT_EQ(routed(*s, "svc.example", "/via-service"), "r2");
  EXPECT_EQ(routed(*s, "other.example", "/via-service"), "");
}

TEST(ConfigSnapshotBuilderTest, route_upstream_and_hosts_override_the_service) {
  SnapshotBuilder b;
  auto s = build_ok(b, R"({
    "upstreams": [{"id": "u1", "nodes": {"127.0.0.1:8001": 1}, "type": "roundrobin"},
                  {"id": "u2", "nodes": {"127.0.0.1:8002": 1}, "type": "roundrobin"}],
    "services": [{"id": "s1", "upstream_id": "u1", "hosts": ["svc.example"], "enable_websocket": true}],
    "routes": [{"id": "r", "uri": "/x", "service_id": "s1", "upstream_id": "u2", "host": "own.example"},
               {"id": "w", "uri": "/w", "service_id": "s1"},
               {"id": "w2", "uri": "/w2", "service_id": "s1", "enable_websocket": false}]
  })");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(route_by_id(*s, "r")->upstream->id, "u2");
  EXPECT_EQ(routed(*s, "own.example", "/x"), "r");
  EXPECT_EQ(routed(*s, "svc.example", "/x"), "");
  EXPECT_TRUE(route_by_id(*s, "w")->enable_websocket);
  EXPECT_FALSE(route_by_id(*s, "w2")->enable_websocket);
}

TEST(ConfigSnapshotBuilderTest, service_with_inline_upstream) {
  SnapshotBuilder b;
  auto s = build_ok(b, R"({
    "services": [{"id": "s1", "upstream": {"nodes": {"127.0.0.1:8009": 1}, "type": "roundrobin"}}],
    "routes": [{"id": "r", "uri": "/x", "service_id": "s1"}]
  })");
  ASSERT_NE(s, nullptr);
  ASSERT_NE(route_by_id(*s, "r")->upstream, nullptr);
  EXPECT_EQ(route_by_id(*s, "r")->upstream->nodes[0].spec.port, 8009);
}

TEST(ConfigSnapshotBuilderTest, unknown_upstream_id_is_an_error) {
  const std::string msg = build_error(R"({
    "routes": [{"id": "a", "uri": "/a", "plugins": {}}, {"id": "b", "uri": "/b", "upstream_id": "nope"}]
  })");
  EXPECT_EQ(msg, "routes[2].upstream_id: failed to fetch upstream info by upstream id [nope]");
}

TEST(ConfigSnapshotBuilderTest, unknown_service_id_is_an_error) {
  const std::string msg = build_error(R"({"routes": [{"id": "a", "uri": "/a", "service_id": "s9"}]})");
  EXPECT_NE(msg.find("routes[1].service_id"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[s9]"), std::string::npos) << msg;
}

TEST(ConfigSnapshotBuilderTest, service_with_unknown_upstream_id_is_an_error) {
  const std::string msg = build_error(R"({"services": [{"id": "s", "upstream_id": "u404"}]})");
  EXPECT_EQ(msg, "services[1].upstream_id: failed to fetch upstream info by upstream id [u404]");
}

TEST(ConfigSnapshotBuilderTest, disabled_routes_are_skipped) {
  SnapshotBuilder b;
  auto s = build_ok(b, R"({"routes": [
    {"id": "off", "uri": "/x", "status": 0, "priority": 10, "plugins": {}},
    {"id": "on", "uri": "/x", "status": 1, "plugins": {}}
  ]})");
  ASSERT_NE(s, nullptr);
  ASSERT_EQ(s->routes.size(), 1u);
  EXPECT_EQ(s->routes[0].id, "on");
  EXPECT_EQ(routed(*s, "h", "/x"), "on");
}

TEST(ConfigSnapshotBuilderTest, unknown_plugins_are_refused) {
  const std::string msg = build_error(R"({"routes": [
    {"id": "r1", "uri": "/x", "plugins": {"no-such-plugin": {"count": 1}}}
  ]})");
  EXPECT_NE(msg.find("unknown plugin [no-such-plugin]"), std::string::npos) << msg;
  EXPECT_NE(msg.find("routes[1] (id \"r1\")"), std::string::npos) << msg;
}

TEST(ConfigSnapshotBuilderTest, empty_plugins_object_is_fine) {
  SnapshotBuilder b;
  EXPECT_NE(build_ok(b, R"({"routes": [{"id": "r1", "uri": "/x", "plugins": {}}]})"), nullptr);
}

TEST(ConfigSnapshotBuilderTest, unsupported_collections_are_refused) {
  const std::string msg = build_error(R"({"protos": [{"id": "p", "content": "syntax = \"proto3\";"}]})");
  EXPECT_EQ(msg.rfind("protos: not supported yet", 0), 0u) << msg;
}

TEST(ConfigSnapshotBuilderTest, schema_errors_name_the_item) {
  const std::string msg = build_error(R"({"routes": [{"id": "a", "uri": "/a", "plugins": {}}, {"id": "b", "plugins": {}}]})");
  EXPECT_EQ(msg.rfind("routes[2] (id \"b\"): ", 0), 0u) << msg;
}

TEST(ConfigSnapshotBuilderTest, unchanged_upstream_is_the_same_object_next_build) {
  SnapshotBuilder b;
  auto first = build_ok(b, kBasic);
  ASSERT_NE(first, nullptr);
  auto second = build_ok(b, kBasic);
  ASSERT_NE(second, nullptr);
  EXPECT_GT(second->version, first->version);
  EXPECT_EQ(route_by_id(*first, "r1")->upstream, route_by_id(*second, "r1")->upstream);
  EXPECT_EQ(route_by_id(*first, "r3")->upstream, route_by_id(*second, "r3")->upstream);
}

TEST(ConfigSnapshotBuilderTest, changed_upstream_is_a_new_object) {
  SnapshotBuilder b;
  auto first = build_ok(b, R"({
    "upstreams": [{"id": "u1", "nodes": {"127.0.0.1:8001": 1}, "type": "roundrobin"},
                  {"id": "u2", "nodes": {"127.0.0.1:8002": 1}, "type": "roundrobin"}],
    "routes": [{"id": "r1", "uri": "/1", "upstream_id": "u1"},
               {"id": "r2", "uri": "/2", "upstream_id": "u2"}]})");
  auto second = build_ok(b, R"({
    "upstreams": [{"id": "u1", "nodes": {"127.0.0.1:8001": 5}, "type": "roundrobin"},
                  {"id": "u2", "nodes": {"127.0.0.1:8002": 1}, "type": "roundrobin"}],
    "routes": [{"id": "r1", "uri": "/1", "upstream_id": "u1"},
               {"id": "r2", "uri": "/2", "upstream_id": "u2"}]})");
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  EXPECT_NE(route_by_id(*first, "r1")->upstream, route_by_id(*second, "r1")->upstream);
  EXPECT_EQ(route_by_id(*second, "r1")->upstream->nodes[0].spec.weight, 5);
  EXPECT_EQ(route_by_id(*first, "r2")->upstream, route_by_id(*second, "r2")->upstream);
}

TEST(ConfigSnapshotBuilderTest, same_upstream_json_under_another_id_is_another_object) {
  SnapshotBuilder b;
  auto s = build_ok(b, R"({
    "upstreams": [{"id": "a", "nodes": {"127.0.0.1:8001": 1}, "type": "roundrobin"},
                  {"id": "b", "nodes": {"127.0.0.1:8001": 1}, "type": "roundrobin"}],
    "routes": [{"id": "r1", "uri": "/1", "upstream_id": "a"},
               {"id": "r2", "uri": "/2", "upstream_id": "b"}]})");
  ASSERT_NE(s, nullptr);
  EXPECT_NE(route_by_id(*s, "r1")->upstream, route_by_id(*s, "r2")->upstream);
  EXPECT_EQ(route_by_id(*s, "r2")->upstream->id, "b");
}

// Plugin instances are reused while their owner and conf are unchanged (so
// counters survive unrelated edits); traffic-split resolved its upstream_id
// at create, so its instance is rebuilt when that upstream changes, and
// only then.
TEST(ConfigSnapshotBuilderTest, plugin_instances_follow_the_upstreams_they_resolved) {
  auto config = [](int u1_weight, int u2_weight) {
    return R"({"upstreams": [{"id": "u1", "nodes": {"127.0.0.1:8001": )" +
           std::to_string(u1_weight) +
           R"(}, "type": "roundrobin"},
                    {"id": "u2", "nodes": {"127.0.0.1:8002": )" +
           std::to_string(u2_weight) + R"(}, "type": "roundrobin"}],
      "routes": [
        {"id": "split", "uri": "/s", "upstream_id": "u2", "plugins": {"traffic-split":
          {"rules": [{"weighted_upstreams": [{"upstream_id": "u1"}]}]}}},
        {"id": "limit", "uri": "/l", "upstream_id": "u2", "plugins": {"limit-count":
          {"count": 5, "time_window": 60}}}]})";
  };
  auto plugin = [](const Snapshot& s, std::string_view route) {
    const Route* r = route_by_id(s, route);
    return r && r->plugins ? r->plugins->entries.at(0).plugin.get() : nullptr;
  };
  SnapshotBuilder b;
  auto first = build_ok(b, config(1, 1));
  ASSERT_NE(first, nullptr);
  ASSERT_NE(plugin(*first, "split"), nullptr);
  // u2 changes: the route-level upstreams of both routes, not what the split resolved.
  auto second = build_ok(b, config(1, 2));
  ASSERT_NE(second, nullptr);
  EXPECT_EQ(plugin(*second, "split"), plugin(*first, "split"));
  EXPECT_EQ(plugin(*second, "limit"), plugin(*first, "limit"));
  // u1 changes: the split must route to the new object; the counter stays.
  auto third = build_ok(b, config(3, 2));
  ASSERT_NE(third, nullptr);
  EXPECT_NE(plugin(*third, "split"), plugin(*second, "split"));
  EXPECT_EQ(plugin(*third, "limit"), plugin(*first, "limit"));
  // Nothing changes: the rebuilt instance is the one reused.
  auto fourth = build_ok(b, config(3, 2));
  ASSERT_NE(fourth, nullptr);
  EXPECT_EQ(plugin(*fourth, "split"), plugin(*third, "split"));
  // An id that named nothing and now names an upstream is a change too.
  auto missing = build_ok(b, R"({"routes": [{"id": "split", "uri": "/s", "plugins":
      {"traffic-split": {"rules": [{"weighted_upstreams": [{"upstream_id": "u1"}]}]}},
      "upstream": {"nodes": {"127.0.0.1:8002": 1}, "type": "roundrobin"}}]})");
  ASSERT_NE(missing, nullptr);
  auto found = build_ok(b, R"({"upstreams": [{"id": "u1", "nodes": {"127.0.0.1:8001": 1},
      "type": "roundrobin"}], "routes": [{"id": "split", "uri": "/s", "plugins":
      {"traffic-split": {"rules": [{"weighted_upstreams": [{"upstream_id": "u1"}]}]}},
      "upstream": {"nodes": {"127.0.0.1:8002": 1}, "type": "roundrobin"}}]})");
  ASSERT_NE(found, nullptr);
  EXPECT_NE(plugin(*found, "split"), plugin(*missing, "split"));
}

TEST(ConfigSnapshotBuilderTest, failed_build_does_not_disturb_the_next) {
  SnapshotBuilder b;
  auto first = build_ok(b, kBasic);
  EXPECT_FALSE(build(b, R"({"routes": [{"id": "x", "uri": "/x", "upstream_id": "gone"}]})").ok());
  auto third = build_ok(b, kBasic);
  ASSERT_NE(first, nullptr);
  ASSERT_NE(third, nullptr);
  EXPECT_EQ(route_by_id(*first, "r1")->upstream, route_by_id(*third, "r1")->upstream);
}

TEST(ConfigSnapshotBuilderTest, route_timeout_is_in_seconds) {
  SnapshotBuilder b;
  auto s = build_ok(b, R"({"routes": [
    {"id": "r", "uri": "/x", "timeout": {"connect": 1.5, "send": 2, "read": 3}, "plugins": {}},
    {"id": "plain", "uri": "/y", "plugins": {}}]})");
  ASSERT_NE(s, nullptr);
  const Route* r = route_by_id(*s, "r");
  ASSERT_TRUE(r->timeout.has_value());
  EXPECT_EQ(r->timeout->connect, milliseconds(1500));
  EXPECT_EQ(r->timeout->send, milliseconds(2000));
  EXPECT_EQ(r->timeout->read, milliseconds(3000));
  EXPECT_FALSE(route_by_id(*s, "plain")->timeout.has_value());
}

TEST(ConfigSnapshotBuilderTest, router_error_names_the_file_item) {
  const std::string msg = build_error(R"({"routes": [
    {"id": "a", "uri": "/a", "plugins": {}},
    {"id": "x", "uri": "/b", "plugins": {}, "vars": [["arg_k", "no-such-operator", "v"]]}]})");
  EXPECT_EQ(msg.rfind("routes[2] (id \"x\"): ", 0), 0u) << msg;
}

TEST(ConfigSnapshotBuilderTest, router_error_names_the_file_item_after_a_disabled_route) {
  // The router only sees enabled routes; the message must still use file positions.
  const std::string msg = build_error(R"({"routes": [
    {"id": "off", "uri": "/a", "status": 0, "plugins": {}},
    {"id": "ok", "uri": "/b", "plugins": {}},
    {"id": "bad", "uri": "/c", "plugins": {}, "vars": [["arg_k", "no-such-operator", "v"]]}]})");
  EXPECT_EQ(msg.rfind("routes[3] (id \"bad\"): ", 0), 0u) << msg;
}

TEST(ConfigSnapshotBuilderTest, router_kind_comes_from_server_config) {
  ServerConfig server;
  server.router = router::RouterKind::kRadixtreeUriWithParameter;
  SnapshotBuilder b;
  auto s = build_ok(b, R"({"routes": [{"id": "p", "uri": "/user/:name", "plugins": {}}]})", server);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(routed(*s, "h", "/user/jack"), "p");
}

TEST(ConfigSnapshotBuilderTest, http_settings_come_from_server_config) {
  ServerConfig server;
  server.http.keepalive_requests = 7;
  SnapshotBuilder b;
  auto s = build_ok(b, R"({"routes": []})", server);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->http->keepalive_requests, 7u);
}

// compile_upstream_object

TEST(ConfigCompileUpstreamTest, map_nodes_with_default_ports) {
  const auto u = compile(R"({"nodes": {"10.0.0.1": 2, "example.com:8080": 3}, "type": "roundrobin"})");
  ASSERT_EQ(u.nodes.size(), 2u);
  const upstream::Node* ip = nullptr;
  const upstream::Node* dns = nullptr;
  for (const auto& n : u.nodes) (n.spec.host == "10.0.0.1" ? ip : dns) = &n;
  ASSERT_NE(ip, nullptr);
  ASSERT_NE(dns, nullptr);
  EXPECT_EQ(ip->spec.port, 80);
  EXPECT_EQ(ip->spec.weight, 2);
  EXPECT_TRUE(ip->address.has_value());
  EXPECT_EQ(ip->name, "10.0.0.1:80");
  EXPECT_EQ(ip->host_header, "10.0.0.1");
  EXPECT_EQ(dns->spec.host, "example.com");
  EXPECT_EQ(dns->spec.port, 8080);
  EXPECT_EQ(dns->spec.weight, 3);
  EXPECT_FALSE(dns->address.has_value());
  EXPECT_EQ(dns->host_header, "example.com:8080");
}

TEST(ConfigCompileUpstreamTest, https_default_port_is_443) {
  const auto u = compile(R"({"scheme": "https", "nodes": {"example.com": 1, "b.example:443": 1}})");
  EXPECT_EQ(u.scheme, upstream::Scheme::kHttps);
  ASSERT_EQ(u.nodes.size(), 2u);
  for (const auto& n : u.nodes) {
    EXPECT_EQ(n.spec.port, 443) << n.spec.host;
    EXPECT_EQ(n.host_header, n.spec.host);
  }
}

TEST(ConfigCompileUpstreamTest, ipv6_nodes) {
  const auto u = compile(R"({"nodes": {"[::1]:8080": 1, "[::2]": 1}})");
  ASSERT_EQ(u.nodes.size(), 2u);
  for (const auto& n : u.nodes) {
    ASSERT_TRUE(n.address.has_value()) << n.spec.host;
    EXPECT_TRUE(n.address->is_v6());
    if (n.spec.host == "::1") {
      EXPECT_EQ(n.spec.port, 8080);
      EXPECT_EQ(n.name, "[::1]:8080");
      EXPECT_EQ(n.host_header, "[::1]:8080");
    } else {
      EXPECT_EQ(n.spec.host, "::2");
      EXPECT_EQ(n.spec.port, 80);
      EXPECT_EQ(n.name, "[::2]:80");
      EXPECT_EQ(n.host_header, "[::2]");
    }
  }
}

TEST(ConfigCompileUpstreamTest, list_nodes_with_weight_and_priority) {
  const auto u = compile(R"({"nodes": [
    {"host": "127.0.0.1", "port": 8001, "weight": 5, "priority": 1},
    {"host": "[::1]", "port": 8002, "weight": 0},
    {"host": "backup.example", "port": 80, "weight": 1, "priority": -1}]})");
  ASSERT_EQ(u.nodes.size(), 3u);
  EXPECT_EQ(u.nodes[0].spec.host, "127.0.0.1");
  EXPECT_EQ(u.nodes[0].spec.port, 8001);
  EXPECT_EQ(u.nodes[0].spec.weight, 5);
  EXPECT_EQ(u.nodes[0].spec.priority, 1);
  EXPECT_EQ(u.nodes[1].spec.host, "::1");
  EXPECT_EQ(u.nodes[1].name, "[::1]:8002");
  EXPECT_EQ(u.nodes[1].spec.weight, 0);
  EXPECT_EQ(u.nodes[1].spec.priority, 0);
  EXPECT_EQ(u.nodes[2].spec.priority, -1);
  EXPECT_EQ(u.nodes[2].host_header, "backup.example");
}

TEST(ConfigCompileUpstreamTest, list_node_without_port_uses_the_scheme_default) {
  const auto u = compile(R"({"scheme": "https", "nodes": [{"host": "a.example", "weight": 1}]})");
  ASSERT_EQ(u.nodes.size(), 1u);
  EXPECT_EQ(u.nodes[0].spec.port, 443);
}

TEST(ConfigCompileUpstreamTest, invalid_node_address_names_the_node) {
  auto u = compile_upstream_object(json::parse(R"({"nodes": {"a.example:99999": 1}})").as_object(),
                                   "upstreams[3]");
  ASSERT_FALSE(u.ok());
  EXPECT_NE(u.error().message.find("upstreams[3].nodes[\"a.example:99999\"]"), std::string::npos)
      << u.error().message;
}

TEST(ConfigCompileUpstreamTest, defaults) {
  const auto u = compile(R"({"nodes": {"127.0.0.1:80": 1}})");
  EXPECT_EQ(u.type, upstream::BalancerType::kRoundRobin);
  EXPECT_EQ(u.scheme, upstream::Scheme::kHttp);
  EXPECT_EQ(u.pass_host, upstream::PassHost::kPass);
  EXPECT_EQ(u.retries, -1);
  EXPECT_EQ(u.timeout.connect, milliseconds(60000));
  EXPECT_EQ(u.timeout.read, milliseconds(60000));
  EXPECT_EQ(u.keepalive.size, 320u);
  EXPECT_EQ(u.keepalive.idle_timeout, milliseconds(60000));
  EXPECT_EQ(u.keepalive.requests, 1000u);
  EXPECT_EQ(u.hash_on, upstream::HashOn::kVars);
  EXPECT_EQ(u.hash_key.original, "remote_addr");
}

TEST(ConfigCompileUpstreamTest, pass_host_and_upstream_host) {
  EXPECT_EQ(compile(R"({"nodes": {}, "pass_host": "node"})").pass_host, upstream::PassHost::kNode);
  EXPECT_EQ(compile(R"({"nodes": {}, "pass_host": "pass"})").pass_host, upstream::PassHost::kPass);
  const auto r = compile(R"({"nodes": {}, "pass_host": "rewrite", "upstream_host": "h.example"})");
  EXPECT_EQ(r.pass_host, upstream::PassHost::kRewrite);
  EXPECT_EQ(r.upstream_host, "h.example");
}

TEST(ConfigCompileUpstreamTest, timeouts_in_seconds_become_milliseconds) {
  const auto u = compile(R"({"nodes": {}, "timeout": {"connect": 0.5, "send": 2, "read": 30},
                            "retries": 2, "retry_timeout": 1.25})");
  EXPECT_EQ(u.timeout.connect, milliseconds(500));
  EXPECT_EQ(u.timeout.send, milliseconds(2000));
  EXPECT_EQ(u.timeout.read, milliseconds(30000));
  EXPECT_EQ(u.retries, 2);
  EXPECT_EQ(u.retry_timeout, milliseconds(1250));
}

TEST(ConfigCompileUpstreamTest, partial_timeout_keeps_other_defaults) {
  const auto u = compile(R"({"nodes": {}, "timeout": {"read": 5}})");
  EXPECT_EQ(u.timeout.connect, milliseconds(60000));
  EXPECT_EQ(u.timeout.read, milliseconds(5000));
}

TEST(ConfigCompileUpstreamTest, keepalive_pool) {
  const auto u = compile(
      R"({"nodes": {}, "keepalive_pool": {"size": 8, "idle_timeout": 1.5, "requests": 50}})");
  EXPECT_EQ(u.keepalive.size, 8u);
  EXPECT_EQ(u.keepalive.idle_timeout, milliseconds(1500));
  EXPECT_EQ(u.keepalive.requests, 50u);
}

TEST(ConfigCompileUpstreamTest, hash_on_kinds) {
  const auto vars = compile(R"({"nodes": {}, "type": "chash", "key": "arg_user"})");
  EXPECT_EQ(vars.type, upstream::BalancerType::kChash);
  EXPECT_EQ(vars.hash_on, upstream::HashOn::kVars);
  EXPECT_EQ(vars.hash_key.kind, http::VarRef::Kind::kArg);
  EXPECT_EQ(vars.hash_key.name, "user");

  const auto header = compile(R"({"nodes": {}, "type": "chash", "hash_on": "header", "key": "X_User_Id"})");
  EXPECT_EQ(header.hash_on, upstream::HashOn::kHeader);
  EXPECT_EQ(header.hash_key.kind, http::VarRef::Kind::kHeader);
  EXPECT_EQ(header.hash_key.name, "x-user-id");

  const auto cookie = compile(R"({"nodes": {}, "type": "chash", "hash_on": "cookie", "key": "sid"})");
  EXPECT_EQ(cookie.hash_on, upstream::HashOn::kCookie);
  EXPECT_EQ(cookie.hash_key.kind, http::VarRef::Kind::kCookie);
  EXPECT_EQ(cookie.hash_key.name, "sid");

  const auto consumer = compile(R"({"nodes": {}, "type": "chash", "hash_on": "consumer"})");
  EXPECT_EQ(consumer.hash_on, upstream::HashOn::kConsumer);

  const auto combo = compile(
      R"({"nodes": {}, "type": "chash", "hash_on": "vars_combinations", "key": "$host-$arg_a:x"})");
  EXPECT_EQ(combo.hash_on, upstream::HashOn::kVarsCombinations);
  ASSERT_EQ(combo.hash_combo.size(), 2u);
  EXPECT_EQ(combo.hash_combo[0].original, "host");
  EXPECT_EQ(combo.hash_combo[1].original, "arg_a");
  ASSERT_EQ(combo.hash_literals.size(), 3u);
  EXPECT_EQ(combo.hash_literals[0], "");
  EXPECT_EQ(combo.hash_literals[1], "-");
  EXPECT_EQ(combo.hash_literals[2], ":x");
}

TEST(ConfigCompileUpstreamTest, balancer_types) {
  EXPECT_EQ(compile(R"({"nodes": {}, "type": "least_conn"})").type, upstream::BalancerType::kLeastConn);
  EXPECT_EQ(compile(R"({"nodes": {}, "type": "ewma"})").type, upstream::BalancerType::kEwma);
  auto bad = compile_upstream_object(json::parse(R"({"nodes": {}, "type": "random"})").as_object(),
                                     "upstreams[1]");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("upstreams[1].type"), std::string::npos);
}

TEST(ConfigCompileUpstreamTest, unsupported_features_are_refused_naming_the_field) {
  const std::pair<const char*, const char*> cases[] = {
      {R"({"nodes": {}, "scheme": "grpc"})", "upstreams[1].scheme"},
      {R"({"service_name": "svc", "discovery_type": "dns"})", "upstreams[1].discovery_type"},
  };
  for (const auto& [text, field] : cases) {
    auto u = compile_upstream_object(json::parse(text).as_object(), "upstreams[1]");
    ASSERT_FALSE(u.ok()) << text;
    EXPECT_NE(u.error().message.find(field), std::string::npos) << u.error().message;
  }
}

TEST(ConfigCompileUpstreamTest, tls_verify) {
  EXPECT_TRUE(compile(R"({"nodes": {}, "scheme": "https", "tls": {"verify": true}})").tls_verify);
  EXPECT_FALSE(compile(R"({"nodes": {}, "scheme": "https"})").tls_verify);
}

TEST(ConfigCompileUpstreamTest, effective_retries_default_is_nodes_minus_one) {
  EXPECT_EQ(compile(R"({"nodes": {"127.0.0.1:1": 1, "127.0.0.1:2": 1, "127.0.0.1:3": 1}})")
                .effective_retries(),
            2);
  EXPECT_EQ(compile(R"({"nodes": {}})").effective_retries(), 0);
  EXPECT_EQ(compile(R"({"nodes": {"127.0.0.1:1": 1}, "retries": 0})").effective_retries(), 0);
}

}  // namespace
}  // namespace torii::config

namespace torii::config {
namespace {

// A config store may hold items another writer stored (an APISIX node on
// the same etcd): in kSkipInvalid mode the ones Torii cannot use are left
// out and the rest serves.
TEST(ConfigSnapshotBuilderSkipInvalid, bad_items_are_left_out_and_the_rest_serves) {
  SnapshotBuilder b;
  auto set = resources(R"({
    "upstreams": [{"id": "u1", "nodes": {"127.0.0.1:1": 1}},
                  {"id": "bad", "nodes": {"127.0.0.1:1": 1}, "type": "nope"}],
    "routes": [{"id": "ok", "uri": "/ok", "upstream_id": "u1"},
               {"id": "schema", "uri": 5, "upstream_id": "u1"},
               {"id": "dangling", "uri": "/d", "upstream_id": "missing"},
               {"id": "via-bad", "uri": "/b", "upstream_id": "bad"},
               {"id": "vars", "uri": "/v", "upstream_id": "u1", "vars": [["arg_a", "??", "1"]]},
               {"id": "ok2", "uri": "/ok2", "upstream_id": "u1"}],
    "consumers": [{"username": "jack"}]
  })");
  auto snap = b.build(set, ServerConfig{}, BuildMode::kSkipInvalid);
  ASSERT_TRUE(snap.ok()) << snap.error().message;
  std::vector<std::string> ids;
  for (const auto& r : (*snap)->routes) ids.push_back(r.id);
  // "vars" is compiled by the router: its Route stays in the table, unreachable.
  EXPECT_EQ(ids, (std::vector<std::string>{"ok", "dangling", "via-bad", "vars", "ok2"}));
  // A route whose upstream cannot be found still takes its requests and
  // answers 502 (APISIX's answer), so they cannot fall through to a broader route.
  EXPECT_EQ(routed(**snap, "", "/d"), "dangling");
  EXPECT_EQ((*snap)->routes[1].unusable_status, 502);
  EXPECT_EQ((*snap)->routes[2].unusable_status, 502);
  EXPECT_EQ((*snap)->routes[0].unusable_status, 0);

  auto strict = b.build(set, ServerConfig{}, BuildMode::kRejectAll);
  EXPECT_FALSE(strict.ok());
}

// Two routes the router refuses: both are left out, and only they (the
// router names a route by its snapshot slot, which stops being its position
// in the spec list after a skip: the second skip dropped a good route, then
// failed the whole build).
TEST(ConfigSnapshotBuilderSkipInvalid, every_route_the_router_refuses_is_left_out_alone) {
  SnapshotBuilder b;
  auto set = resources(R"({
    "upstreams": [{"id": "u1", "nodes": {"127.0.0.1:1": 1}}],
    "routes": [{"id": "r1", "uri": "/*", "upstream_id": "u1"},
               {"id": "r2", "uri": "/a/*", "upstream_id": "u1", "vars": [["arg_a", "??", "1"]]},
               {"id": "r3", "uri": "/three", "upstream_id": "u1"},
               {"id": "r4", "uri": "/b/*", "upstream_id": "u1", "vars": [["arg_b", "??", "1"]]},
               {"id": "r5", "uri": "/five", "upstream_id": "u1"}]
  })");
  auto snap = b.build(set, ServerConfig{}, BuildMode::kSkipInvalid);
  ASSERT_TRUE(snap.ok()) << snap.error().message;
  EXPECT_EQ(routed(**snap, "", "/three"), "r3");
  EXPECT_EQ(routed(**snap, "", "/five"), "r5");
  EXPECT_EQ(routed(**snap, "", "/a/x"), "r1");
  EXPECT_EQ(routed(**snap, "", "/b/x"), "r1");
}

// Routes with a reference or plugin that cannot be resolved keep matching
// and answer with APISIX's status for the case: a catch-all route must not
// take their requests (it may lack their authentication).
TEST(ConfigSnapshotBuilderSkipInvalid, a_route_with_a_broken_reference_keeps_its_requests) {
  SnapshotBuilder b;
  auto set = resources(R"({
    "upstreams": [{"id": "u1", "nodes": {"127.0.0.1:1": 1}}],
    "routes": [{"id": "all", "uri": "/*", "upstream_id": "u1"},
               {"id": "svc", "uri": "/svc/*", "service_id": "gone"},
               {"id": "pc", "uri": "/pc/*", "upstream_id": "u1", "plugin_config_id": "gone"},
               {"id": "plug", "uri": "/plug/*", "upstream_id": "u1",
                "plugins": {"serverless-pre-function": {"functions": ["return 1"]}}},
               {"id": "up", "uri": "/up/*", "upstream_id": "gone",
                "plugins": {"key-auth": {}}}]
  })");
  auto snap = b.build(set, ServerConfig{}, BuildMode::kSkipInvalid);
  ASSERT_TRUE(snap.ok()) << snap.error().message;
  const auto status_of = [&](std::string_view path) {
    const std::string id = routed(**snap, "", path);
    for (const auto& r : (*snap)->routes) {
      if (r.id == id) return std::pair<std::string, int>(id, r.unusable_status);
    }
    return std::pair<std::string, int>("", -1);
  };
  EXPECT_EQ(status_of("/svc/x"), (std::pair<std::string, int>("svc", 404)));
  EXPECT_EQ(status_of("/pc/x"), (std::pair<std::string, int>("pc", 503)));
  EXPECT_EQ(status_of("/plug/x"), (std::pair<std::string, int>("plug", 503)));
  EXPECT_EQ(status_of("/up/x"), (std::pair<std::string, int>("up", 502)));
  EXPECT_EQ(status_of("/other"), (std::pair<std::string, int>("all", 0)));
  // Without its upstream the route's plugins still run first (key-auth's 401).
  for (const auto& r : (*snap)->routes) {
    if (r.id == "up") {
      EXPECT_TRUE(r.plugins && r.plugins->contains("key-auth"));
    } else if (r.id == "pc" || r.id == "plug" || r.id == "svc") {
      EXPECT_FALSE(r.plugins) << r.id;
    }
  }
  EXPECT_FALSE(b.build(set, ServerConfig{}, BuildMode::kRejectAll).ok());
}

// A global rule with a plugin Torii cannot build (an APISIX node on the same
// etcd wrote serverless-pre-function) is left out alone: the other rules
// keep running, so a blocking rule does not fail open.
TEST(ConfigSnapshotBuilderSkipInvalid, a_global_rule_that_cannot_be_built_leaves_the_others_running) {
  SnapshotBuilder b;
  auto set = resources(R"({
    "global_rules": [
      {"id": "g1", "plugins": {"ip-restriction": {"blacklist": ["127.0.0.1"]}}},
      {"id": "g2", "plugins": {"serverless-pre-function": {"phase": "rewrite",
                                                           "functions": ["return function() end"]}}},
      {"id": "g3", "plugins": {"request-id": {}}}]
  })");
  auto snap = b.build(set, ServerConfig{}, BuildMode::kSkipInvalid);
  ASSERT_TRUE(snap.ok()) << snap.error().message;
  ASSERT_TRUE((*snap)->global_plugins);
  EXPECT_TRUE((*snap)->global_plugins->contains("ip-restriction"));
  EXPECT_TRUE((*snap)->global_plugins->contains("request-id"));
  EXPECT_EQ((*snap)->global_plugins->entries.size(), 2u);
  EXPECT_FALSE(b.build(set, ServerConfig{}, BuildMode::kRejectAll).ok());
}

}  // namespace
}  // namespace torii::config
