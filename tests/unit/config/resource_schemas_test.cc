// Resource schemas and post-schema checks: APISIX documentation examples are
// accepted, and typical mistakes are refused with the `error_msg` APISIX's
// Admin API returns (expected strings taken from apisix t/admin/*.t where
// they exist).
#include "config/resource_schemas.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <string>

namespace torii::config {
namespace {

namespace json = boost::json;

// "" when accepted, else the message.
std::string check(std::string_view resource, std::string_view body) {
  auto st = check_resource(resource, json::parse(body));
  return st ? std::string() : st.error().message;
}

// A PEM-sized placeholder: the schema only checks lengths.
std::string filler(std::size_t n) { return std::string(n, 'A'); }

TEST(ResourceSchemaTest, every_admin_resource_kind_has_a_schema) {
  for (const char* kind :
       {"routes", "services", "upstreams", "consumers", "credentials", "consumer_groups",
        "plugin_configs", "global_rules", "ssls", "protos", "stream_routes", "plugin_metadata"}) {
    EXPECT_NE(resource_schema(kind), nullptr) << kind;
  }
}

TEST(ResourceSchemaTest, unknown_resource_kind_is_refused_without_crashing) {
  EXPECT_EQ(resource_schema("widgets"), nullptr);
  EXPECT_EQ(check("widgets", "{}"), "Unsupported resource type: widgets");
  EXPECT_EQ(check("secrets", "{}"), "Unsupported resource type: secrets");
}

// --- routes: accepted ------------------------------------------------------

TEST(ResourceSchemaTest, route_with_inline_upstream_nodes_map_is_accepted) {
  EXPECT_EQ(check("routes", R"({"uri":"/hello","methods":["GET"],"upstream":{"type":"roundrobin",)"
                            R"("nodes":{"127.0.0.1:1980":1,"127.0.0.1:1981":2},"retries":1,)"
                            R"("timeout":{"connect":3,"send":3,"read":3}}})"),
            "");
}

TEST(ResourceSchemaTest, route_with_array_nodes_priority_and_optional_port_is_accepted) {
  EXPECT_EQ(check("routes", R"({"uri":"/hello","upstream":{"nodes":[)"
                            R"({"host":"127.0.0.1","port":1980,"weight":1,"priority":10},)"
                            R"({"host":"backup.example.com","weight":1,"priority":-1},)"
                            R"({"host":"127.0.0.1:1981","weight":0,"metadata":{"zone":"a"}}]}})"),
            "");
}

TEST(ResourceSchemaTest, route_matching_conditions_from_the_docs_are_accepted) {
  EXPECT_EQ(
      check("routes", R"({"id":"r-1.a_b","name":"demo","desc":"a route","uris":["/a","/b/*"],)"
                      R"("hosts":["*.example.com","foo.com","[::1]:8080"],)"
                      R"("remote_addrs":["127.0.0.1","10.0.0.0/8","::1","fe80::/10"],)"
                      R"("methods":["GET","POST","PURGE"],"priority":10,)"
                      R"("vars":[["arg_name","==","json"],["arg_age",">",18]],)"
                      R"("timeout":{"connect":0.5,"send":3,"read":3},"enable_websocket":true,)"
                      R"("labels":{"env":"prod","version":"v1"},"status":0,"upstream_id":"1"})"),
      "");
  EXPECT_EQ(
      check("routes", R"({"uri":"/*","host":"*","remote_addr":"192.168.1.0/24","service_id":1})"),
      "");
}

TEST(ResourceSchemaTest, route_with_only_plugins_or_only_a_reference_is_accepted) {
  EXPECT_EQ(check("routes", R"({"uri":"/old","plugins":{"redirect":{"uri":"/new"}}})"), "");
  EXPECT_EQ(check("routes", R"({"uri":"/s","service_id":"svc"})"), "");
  EXPECT_EQ(check("routes", R"({"uri":"/u","upstream_id":7,"plugin_config_id":"pc"})"), "");
}

TEST(ResourceSchemaTest, route_with_timestamps_as_stored_is_accepted) {
  EXPECT_EQ(
      check(
          "routes",
          R"({"id":"1","uri":"/","upstream_id":"1","create_time":1735689600,"update_time":1735689600})"),
      "");
}

TEST(ResourceSchemaTest, empty_plugins_array_is_accepted_as_apisix_does) {
  EXPECT_EQ(check("routes", R"({"uri":"/","plugins":[]})"), "");
}

// --- routes: refused -------------------------------------------------------

TEST(ResourceSchemaTest, route_uri_of_wrong_type) {
  EXPECT_EQ(
      check("routes", R"({"uri":666,"upstream_id":"1"})"),
      R"(invalid configuration: property "uri" validation failed: wrong type: expected string, got number)");
}

TEST(ResourceSchemaTest, route_empty_uri_and_bad_uris) {
  EXPECT_EQ(
      check("routes", R"({"uri":"","upstream_id":"1"})"),
      R"(invalid configuration: property "uri" validation failed: string too short, expected at least 1, got 0)");
  EXPECT_EQ(
      check("routes", R"({"uris":"foobar","upstream_id":"1"})"),
      R"(invalid configuration: property "uris" validation failed: wrong type: expected array, got string)");
  EXPECT_EQ(
      check("routes", R"({"uris":["/foo","/foo"],"upstream_id":"1"})"),
      R"(invalid configuration: property "uris" validation failed: expected unique items but items 1 and 2 are equal)");
}

TEST(ResourceSchemaTest, route_unknown_method) {
  EXPECT_EQ(
      check("routes", R"({"uri":"/","methods":["invalid_method"],"upstream_id":"1"})"),
      R"(invalid configuration: property "methods" validation failed: failed to validate item 1: matches none of the enum values)");
}

TEST(ResourceSchemaTest, route_unknown_field) {
  EXPECT_EQ(check("routes", R"({"uri":"/","upstream_id":"1","invalid_property":"/index.html"})"),
            "invalid configuration: additional properties forbidden, found invalid_property");
}

TEST(ResourceSchemaTest, route_without_uri_or_uris) {
  EXPECT_EQ(
      check(
          "routes",
          R"({"methods":["GET"],"upstream":{"nodes":{"127.0.0.1:8080":1},"type":"roundrobin"},"desc":"new route"})"),
      "invalid configuration: allOf 1 failed: value should match only one schema, but matches "
      "none");
}

TEST(ResourceSchemaTest, route_with_nothing_to_do) {
  EXPECT_EQ(
      check("routes", R"({"uri":"/"})"),
      R"(invalid configuration: object matches none of the required: ["plugins","uri"] or ["upstream","uri"] or )"
      R"(["upstream_id","uri"] or ["service_id","uri"] or ["plugins","uris"] or ["upstream","uris"] or )"
      R"(["upstream_id","uris"] or ["service_id","uris"] or ["script","uri"] or ["script","uris"])");
}

TEST(ResourceSchemaTest, route_with_host_and_hosts) {
  EXPECT_EQ(check("routes", R"({"uri":"/","host":"a.com","hosts":["b.com"],"upstream_id":"1"})"),
            "invalid configuration: allOf 2 failed: value should match only one schema, but "
            "matches both schemas 2 and 3");
}

TEST(ResourceSchemaTest, route_with_remote_addr_and_remote_addrs) {
  EXPECT_EQ(
      check(
          "routes",
          R"({"uri":"/","remote_addr":"127.0.0.1","remote_addrs":["127.0.0.2"],"upstream_id":"1"})"),
      "invalid configuration: allOf 3 failed: value should match only one schema, but matches both "
      "schemas 2 and 3");
}

TEST(ResourceSchemaTest, route_bad_host_and_remote_addr) {
  EXPECT_EQ(
      check("routes", R"({"uri":"/","host":"a b","upstream_id":"1"})"),
      R"(invalid configuration: property "host" validation failed: failed to match pattern "^\\*$|^\\*?[0-9a-zA-Z-._\\[\\]:]+$" with "a b")");
  EXPECT_EQ(
      check("routes", R"({"uri":"/","remote_addr":"127.0.0.999","upstream_id":"1"})"),
      R"(invalid configuration: property "remote_addr" validation failed: object matches none of the required)");
  EXPECT_EQ(
      check("routes", R"({"uri":"/","hosts":[],"upstream_id":"1"})"),
      R"(invalid configuration: property "hosts" validation failed: expect array to have at least 1 items)");
}

TEST(ResourceSchemaTest, route_timeout_must_be_positive_and_complete) {
  EXPECT_EQ(
      check("routes", R"({"uri":"/","upstream_id":"1","timeout":{"connect":0,"send":1,"read":1}})"),
      R"(invalid configuration: property "timeout" validation failed: property "connect" validation failed: expected 0 to be greater than 0)");
  EXPECT_EQ(
      check("routes", R"({"uri":"/","upstream_id":"1","timeout":{"connect":1,"send":1}})"),
      R"(invalid configuration: property "timeout" validation failed: property "read" is required)");
}

TEST(ResourceSchemaTest, route_bad_ids_status_and_labels) {
  EXPECT_EQ(
      check("routes", R"({"uri":"/","plugin_config_id":"@@@@@@@@@@@@@@@@","upstream_id":"1"})"),
      R"(invalid configuration: property "plugin_config_id" validation failed: object matches none of the required)");
  EXPECT_EQ(
      check("routes", R"({"uri":"/","upstream_id":0})"),
      R"(invalid configuration: property "upstream_id" validation failed: object matches none of the required)");
  EXPECT_EQ(
      check("routes", R"({"uri":"/foo","status":3,"upstream_id":"1"})"),
      R"(invalid configuration: property "status" validation failed: matches none of the enum values)");
  EXPECT_EQ(
      check("routes", R"({"uri":"/","upstream_id":"1","labels":{"env":"a b"}})"),
      R"(invalid configuration: property "labels" validation failed: failed to validate env (matching ".*"): failed to match pattern "^\\S+$" with "a b")");
  EXPECT_EQ(
      check("routes", R"({"uri":"/","upstream_id":"1","plugins":"x"})"),
      R"(invalid configuration: property "plugins" validation failed: wrong type: expected object, got string)");
}

TEST(ResourceSchemaTest, route_filter_func_is_refused_with_the_vars_alternative) {
  EXPECT_EQ(
      check("routes",
            R"({"uri":"/","upstream_id":"1","filter_func":"function(vars) return true end"})"),
      "'filter_func' is not supported: Torii does not run Lua; express the condition with 'vars'");
}

TEST(ResourceSchemaTest, route_script_is_refused_and_cannot_mix_with_plugins) {
  EXPECT_EQ(check("routes", R"({"uri":"/","script":"local _M = {} return _M"})"),
            "'script' is not supported: Torii does not run Lua; configure the route with 'plugins' "
            "or 'plugin_config_id'");
  EXPECT_EQ(check("routes", R"({"uri":"/","script":"local _M = {} return _M","plugins":{}})"),
            "invalid configuration: value wasn't supposed to match schema");
}

TEST(ResourceSchemaTest, route_inline_upstream_gets_the_upstream_rules) {
  EXPECT_EQ(check("routes", R"({"uri":"/","upstream":{"nodes":{"a:80":1},"pass_host":"rewrite"}})"),
            "`upstream_host` can't be empty when `pass_host` is `rewrite`");
  EXPECT_EQ(
      check("routes", R"({"uri":"/","upstream":{"nodes":{"a:80":1},"bad":1}})"),
      R"(invalid configuration: property "upstream" validation failed: additional properties forbidden, found bad)");
}

// --- upstreams ---------------------------------------------------------------

TEST(ResourceSchemaTest, upstream_full_example_is_accepted) {
  const std::string body =
      R"({"id":"1","name":"demo-up","desc":"d","type":"chash","hash_on":"header","key":"X-User",)"
      R"("nodes":{"127.0.0.1:1980":1,"[::1]:1981":2,"example.com":3},"retries":2,"retry_timeout":1.5,)"
      R"("timeout":{"connect":3,"send":3,"read":3},"scheme":"https","pass_host":"rewrite",)"
      R"("upstream_host":"backend.example.com","keepalive_pool":{"size":320,"idle_timeout":60,"requests":1000},)"
      R"("tls":{"client_cert":")" +
      filler(200) + R"(","client_key":")" + filler(100) +
      R"("},)"
      R"("checks":{"active":{"type":"http","http_path":"/status","host":"foo.com","port":8080,"timeout":1,)"
      R"("healthy":{"interval":2,"successes":1,"http_statuses":[200,302]},)"
      R"("unhealthy":{"interval":1,"http_failures":2,"tcp_failures":2,"timeouts":3,"http_statuses":[500]},)"
      R"("req_headers":["User-Agent: curl/7.29.0"]},)"
      R"("passive":{"healthy":{"http_statuses":[200,201],"successes":3},)"
      R"("unhealthy":{"http_statuses":[500],"http_failures":3,"tcp_failures":0}}},)"
      R"("labels":{"team":"edge"}})";
  EXPECT_EQ(check("upstreams", body), "");
}

TEST(ResourceSchemaTest, upstream_with_service_discovery_is_accepted) {
  EXPECT_EQ(check("upstreams",
                  R"({"service_name":"APISIX-NACOS","discovery_type":"nacos",)"
                  R"("discovery_args":{"namespace_id":"test_ns","group_name":"test_group"}})"),
            "");
}

TEST(ResourceSchemaTest, upstream_chash_on_consumer_needs_no_key) {
  EXPECT_EQ(check("upstreams", R"({"type":"chash","hash_on":"consumer","nodes":{"a:80":1}})"), "");
  EXPECT_EQ(check("upstreams", R"({"type":"chash","key":"arg_device_id","nodes":{"a:80":1}})"), "");
  EXPECT_EQ(
      check(
          "upstreams",
          R"({"type":"chash","hash_on":"vars_combinations","key":"$host$remote_addr","nodes":{"a:80":1}})"),
      "");
  EXPECT_EQ(
      check("upstreams", R"({"type":"least_conn","tls":{"client_cert_id":"ssl-1"},"nodes":[]})"),
      "");
}

TEST(ResourceSchemaTest, upstream_chash_key_rules) {
  EXPECT_EQ(check("upstreams", R"({"type":"chash","nodes":{"a:80":1}})"), "missing key");
  EXPECT_EQ(
      check("upstreams", R"({"type":"chash","key":"not_support","nodes":{"a:80":1}})"),
      R"(invalid configuration: failed to match pattern "^((uri|server_name|server_addr|request_uri|remote_port|remote_addr|query_string|host|hostname|mqtt_client_id)|arg_[0-9a-zA-z_-]+)$" with "not_support")");
  EXPECT_EQ(
      check("upstreams", R"({"type":"chash","hash_on":"cookie","key":"a b","nodes":{"a:80":1}})"),
      R"(invalid configuration: failed to match pattern "^[a-zA-Z0-9-_]+$" with "a b")");
  EXPECT_EQ(
      check("upstreams", R"({"type":"chash","hash_on":"body","key":"x","nodes":{"a:80":1}})"),
      R"(invalid configuration: property "hash_on" validation failed: matches none of the enum values)");
}

TEST(ResourceSchemaTest, upstream_pass_host_rewrite_needs_upstream_host) {
  EXPECT_EQ(check("upstreams", R"({"nodes":{"a:80":1},"pass_host":"rewrite"})"),
            "`upstream_host` can't be empty when `pass_host` is `rewrite`");
  EXPECT_EQ(
      check("upstreams", R"({"nodes":{"a:80":1},"pass_host":"rewrite","upstream_host":""})"),
      R"(invalid configuration: property "upstream_host" validation failed: failed to match pattern "^\\*$|^\\*?[0-9a-zA-Z-._\\[\\]:]+$" with "")");
}

TEST(ResourceSchemaTest, upstream_node_port_out_of_range) {
  EXPECT_EQ(check("upstreams", R"({"nodes":{"127.0.0.1:65536":1}})"), "invalid port 65536");
  EXPECT_EQ(check("upstreams", R"({"nodes":{"127.0.0.1:0":1}})"), "invalid port 0");
  EXPECT_EQ(check("upstreams", R"({"nodes":{"[::1]:70000":1}})"), "invalid port 70000");
  EXPECT_EQ(
      check("upstreams",
            R"({"nodes":[{"port":65536,"host":"127.0.0.1","weight":1}],"type":"roundrobin"})"),
      R"(invalid configuration: property "nodes" validation failed: object matches none of the required)");
}

TEST(ResourceSchemaTest, upstream_bad_node_weight) {
  EXPECT_EQ(
      check("upstreams", R"({"nodes":{"127.0.0.1:80":-1}})"),
      R"(invalid configuration: property "nodes" validation failed: object matches none of the required)");
  EXPECT_EQ(
      check("upstreams",
            R"({"nodes":[{"host":"127.0.0.1","port":8080,"weight":"1"}],"type":"chash"})"),
      R"(invalid configuration: property "nodes" validation failed: object matches none of the required)");
}

TEST(ResourceSchemaTest, upstream_needs_nodes_or_discovery_but_not_both) {
  EXPECT_EQ(check("upstreams", R"({"type":"roundrobin"})"),
            "invalid configuration: value should match only one schema, but matches none");
  EXPECT_EQ(check("upstreams", R"({"nodes":{"a:80":1},"service_name":"s","discovery_type":"dns"})"),
            "invalid configuration: value should match only one schema, but matches both schemas 1 "
            "and 2");
}

TEST(ResourceSchemaTest, upstream_health_checks_need_active) {
  EXPECT_EQ(
      check("upstreams", R"({"nodes":{"a:80":1},"checks":{"passive":{"type":"http"}}})"),
      R"(invalid configuration: property "checks" validation failed: object matches none of the required: ["active"] or ["active","passive"])");
  EXPECT_EQ(
      check("upstreams",
            R"({"nodes":{"a:80":1},"checks":{"active":{"healthy":{"successes":255}}}})"),
      R"(invalid configuration: property "checks" validation failed: property "active" validation failed: property "healthy" validation failed: property "successes" validation failed: expected 255 to be at most 254)");
  EXPECT_EQ(
      check("upstreams", R"({"nodes":{"a:80":1},"checks":{"active":{},"x":1}})"),
      R"(invalid configuration: property "checks" validation failed: additional properties forbidden, found x)");
}

TEST(ResourceSchemaTest, upstream_bad_scalars) {
  EXPECT_EQ(
      check("upstreams", R"({"nodes":{"a:80":1},"retries":-1})"),
      R"(invalid configuration: property "retries" validation failed: expected -1 to be at least 0)");
  EXPECT_EQ(
      check("upstreams", R"({"nodes":{"a:80":1},"scheme":"ftp"})"),
      R"(invalid configuration: property "scheme" validation failed: matches none of the enum values)");
  EXPECT_EQ(
      check("upstreams", R"({"nodes":{"a:80":1},"keepalive_pool":{"size":0}})"),
      R"(invalid configuration: property "keepalive_pool" validation failed: property "size" validation failed: expected 0 to be at least 1)");
  EXPECT_EQ(
      check("upstreams", R"({"nodes":{"a:80":1},"type":1})"),
      R"(invalid configuration: property "type" validation failed: wrong type: expected string, got number)");
}

TEST(ResourceSchemaTest, upstream_tls_cert_and_key_go_together) {
  EXPECT_EQ(
      check("upstreams", R"({"nodes":{"a:80":1},"tls":{"client_cert":")" + filler(200) + R"("}})"),
      R"(invalid configuration: property "tls" validation failed: failed to validate dependent schema for "client_cert": property "client_key" is required)");
  EXPECT_EQ(
      check("upstreams", R"({"nodes":{"a:80":1},"tls":{"client_cert":"short","client_key":")" +
                             filler(100) + R"("}})"),
      R"(invalid configuration: property "tls" validation failed: property "client_cert" validation failed: string too short, expected at least 128, got 5)");
}

// --- services ----------------------------------------------------------------

TEST(ResourceSchemaTest, service_examples_are_accepted) {
  EXPECT_EQ(
      check("services",
            R"({"id":"1","name":"svc","plugins":{"limit-count":{"count":2,"time_window":60}},)"
            R"("upstream":{"type":"roundrobin","nodes":{"127.0.0.1:1980":1}},)"
            R"("hosts":["foo.com","*.bar.com"],"enable_websocket":true,"labels":{"a":"b"}})"),
      "");
  EXPECT_EQ(check("services", R"({"upstream_id":"1"})"), "");
  EXPECT_EQ(check("services", "{}"), "");
  EXPECT_EQ(check("services", "[]"), "");
}

TEST(ResourceSchemaTest, service_refusals) {
  EXPECT_EQ(check("services", R"({"uri":"/"})"),
            "invalid configuration: additional properties forbidden, found uri");
  EXPECT_EQ(check("services", R"({"upstream":{"type":"chash","nodes":{"a:80":1}}})"),
            "missing key");
  EXPECT_EQ(check("services", R"({"script":"local _M = {} return _M"})"),
            "'script' is not supported: Torii does not run Lua; configure the route with 'plugins' "
            "or 'plugin_config_id'");
  EXPECT_EQ(check("services", R"("x")"),
            "invalid configuration: wrong type: expected object, got string");
}

// --- consumers, consumer groups, plugin configs, global rules ---------------------

TEST(ResourceSchemaTest, consumer_rules) {
  EXPECT_EQ(
      check(
          "consumers",
          R"({"username":"jack","plugins":{"key-auth":{"key":"auth-one"}},"desc":"d","group_id":"g1"})"),
      "");
  EXPECT_EQ(check("consumers", R"({"plugins":{}})"),
            R"(invalid configuration: property "username" is required)");
  EXPECT_EQ(
      check("consumers", R"({"username":"jack!"})"),
      R"(invalid configuration: property "username" validation failed: failed to match pattern "^[a-zA-Z0-9_\\-]+$" with "jack!")");
  EXPECT_EQ(check("consumers", R"({"username":"jack","id":"1"})"),
            "invalid configuration: additional properties forbidden, found id");
}

TEST(ResourceSchemaTest, plugin_sets_need_id_and_plugins) {
  for (const char* kind : {"plugin_configs", "consumer_groups"}) {
    EXPECT_EQ(
        check(
            kind,
            R"({"id":"1","name":"n","desc":"d","plugins":{"limit-count":{}},"labels":{"k":"v"}})"),
        "")
        << kind;
    EXPECT_EQ(check(kind, R"({"id":"1"})"),
              R"(invalid configuration: property "plugins" is required)")
        << kind;
  }
  EXPECT_EQ(check("global_rules", R"({"id":1,"plugins":{"prometheus":{}}})"), "");
  EXPECT_EQ(check("global_rules", R"({"plugins":{}})"),
            R"(invalid configuration: property "id" is required)");
  EXPECT_EQ(check("global_rules", R"({"id":"1","plugins":{},"name":"x"})"),
            "invalid configuration: additional properties forbidden, found name");
}

// --- credentials ---------------------------------------------------------------

TEST(ResourceSchemaTest, credential_with_one_auth_plugin_is_accepted) {
  EXPECT_EQ(check("credentials",
                  R"({"id":"cred-1","name":"c","desc":"d","labels":{"k":"v"},)"
                  R"("plugins":{"key-auth":{"key":"auth-one"}},"create_time":1,"update_time":2})"),
            "");
  EXPECT_EQ(check("credentials", "{}"), "");
}

TEST(ResourceSchemaTest, credential_refusals) {
  EXPECT_EQ(
      check("credentials", R"({"plugins":{"key-auth":{"key":"a"},"basic-auth":{"username":"u"}}})"),
      R"(invalid configuration: property "plugins" validation failed: expect object to have at most 1 properties)");
  EXPECT_EQ(check("credentials", R"({"username":"jack"})"),
            "invalid configuration: additional properties forbidden, found username");
  EXPECT_EQ(
      check("credentials", R"({"name":""})"),
      R"(invalid configuration: property "name" validation failed: string too short, expected at least 1, got 0)");
}

// --- protos ------------------------------------------------------------------

TEST(ResourceSchemaTest, proto_rules) {
  EXPECT_EQ(check("protos", R"({"id":"1","name":"p","desc":"d","labels":{"k":"v"},)"
                            R"("content":"syntax = \"proto3\"; package helloworld;"})"),
            "");
  EXPECT_EQ(check("protos", R"({"id":"1"})"),
            R"(invalid configuration: property "content" is required)");
  EXPECT_EQ(
      check("protos", R"({"content":""})"),
      R"(invalid configuration: property "content" validation failed: string too short, expected at least 1, got 0)");
  const std::string big = R"({"content":")" + std::string(1024 * 1024 + 1, 'x') + R"("})";
  EXPECT_EQ(
      check("protos", big),
      R"(invalid configuration: property "content" validation failed: string too long, expected at most 1048576, got 1048577)");
  EXPECT_EQ(check("protos", R"({"content":"x","plugins":{}})"),
            "invalid configuration: additional properties forbidden, found plugins");
}

// --- plugin_metadata -------------------------------------------------------------

TEST(ResourceSchemaTest, plugin_metadata_wrapper_needs_the_plugin_name) {
  // The body is the plugin's own metadata: anything goes here.
  EXPECT_EQ(check("plugin_metadata", R"({"id":"http-logger","log_format":{"host":"$host"}})"), "");
  EXPECT_EQ(check("plugin_metadata", R"({"log_format":{}})"), "missing plugin name");
  EXPECT_EQ(check("plugin_metadata", R"({"id":""})"), "missing plugin name");
  EXPECT_EQ(
      check("plugin_metadata", R"({"id":7})"),
      R"(invalid configuration: property "id" validation failed: wrong type: expected string, got number)");
  EXPECT_EQ(check("plugin_metadata", R"("x")"),
            "invalid configuration: wrong type: expected object, got string");
}

// --- stream_routes -----------------------------------------------------------------

TEST(ResourceSchemaTest, stream_route_examples_are_accepted) {
  EXPECT_EQ(
      check("stream_routes",
            R"({"id":"1","name":"s","desc":"d","labels":{"k":"v"},)"
            R"("remote_addr":"127.0.0.1","server_addr":"10.0.0.0/8","server_port":9100,)"
            R"("sni":"*.a.com","upstream":{"type":"roundrobin","nodes":{"127.0.0.1:1995":1}},)"
            R"("plugins":{"ip-restriction":{"whitelist":["127.0.0.0/24"]}}})"),
      "");
  EXPECT_EQ(check("stream_routes", R"({"upstream_id":"1","service_id":2})"), "");
  EXPECT_EQ(check("stream_routes", R"({"remote_addr":"::1","server_addr":"fe80::/10"})"), "");
  EXPECT_EQ(check("stream_routes",
                  R"({"upstream_id":1,"protocol":{"name":"redis","superior_id":"2",)"
                  R"("conf":{"faults":[]},"logger":[{"name":"syslog","filter":[],"conf":{}}]}})"),
            "");
}

TEST(ResourceSchemaTest, stream_route_refusals) {
  EXPECT_EQ(
      check("stream_routes", R"({"server_port":70000})"),
      R"(invalid configuration: property "server_port" validation failed: expected 70000 to be at most 65535)");
  EXPECT_EQ(
      check("stream_routes", R"({"remote_addr":"127.0.0.999"})"),
      R"(invalid configuration: property "remote_addr" validation failed: object matches none of the required)");
  EXPECT_EQ(check("stream_routes", R"({"uri":"/"})"),
            "invalid configuration: additional properties forbidden, found uri");
  EXPECT_EQ(
      check("stream_routes", R"({"protocol":{"conf":{}}})"),
      R"(invalid configuration: property "protocol" validation failed: property "name" is required)");
  EXPECT_EQ(
      check("stream_routes", R"({"protocol":{"name":"redis","logger":[{"name":"syslog"}]}})"),
      R"(invalid configuration: property "protocol" validation failed: property "logger" validation failed: failed to validate item 1: property "conf" is required when "name" is set)");
}

TEST(ResourceSchemaTest, stream_route_cidr_prefix_checked_in_code) {
  // The IPv6/CIDR pattern accepts any 1-3 digit prefix; core.ip then refuses.
  EXPECT_EQ(check("stream_routes", R"({"remote_addr":"::1/129"})"), "invalid remote_addr: ::1/129");
  EXPECT_EQ(check("stream_routes", R"({"server_addr":"fe80::/200"})"),
            "invalid server_addr: fe80::/200");
  EXPECT_EQ(check("stream_routes", R"({"server_addr":"::/128"})"), "");
}

TEST(ResourceSchemaTest, resource_schema_validates_without_the_admin_prefix) {
  const JsonSchema* routes = resource_schema("routes");
  ASSERT_NE(routes, nullptr);
  auto st = routes->validate(json::parse(R"({"uri":"","upstream_id":"1"})"));
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().message,
            R"(property "uri" validation failed: string too short, expected at least 1, got 0)");
}

}  // namespace
}  // namespace torii::config
