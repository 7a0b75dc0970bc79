// APISIX 3.x resource schemas, transcribed from apisix/schema_def.lua as
// JSON text, and the post-schema checks of APISIX's admin handlers.
//
// Property order inside each schema decides which error is reported first
// when an object has several; it follows schema_def.lua's declaration order.
// `default` values are kept for documentation only: they are applied at run
// time and never written into stored objects.
#include "config/resource_schemas.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <boost/json/parse.hpp>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <memory>
#include <optional>
#include <string>

#include "config/data_encryption.h"
#include "config/json_schema_lua_text.h"

namespace torii::config {
namespace {

namespace json = boost::json;

// --- schema texts ----------------------------------------------------------
//
// Each text is JSON in which `${name}` stands for a shared definition
// (schema_def.lua's locals), expanded recursively before parsing.

struct Fragment {
  std::string_view name;
  std::string_view text;
};

constexpr Fragment kFragments[] = {
    {"id", R"json({"anyOf": [
        {"type": "string", "minLength": 1, "maxLength": 64, "pattern": "^[a-zA-Z0-9-_.]+$"},
        {"type": "integer", "minimum": 1}]})json"},

    {"host", R"json({"type": "string", "pattern": "^\\*$|^\\*?[0-9a-zA-Z-._\\[\\]:]+$"})json"},

    {"hosts", R"json({"type": "array", "items": ${host}, "minItems": 1, "uniqueItems": true})json"},

    {"timestamp", R"json({"type": "integer"})json"},

    {"name", R"json({"type": "string", "maxLength": 256, "minLength": 1})json"},

    {"desc", R"json({"type": "string", "maxLength": 256})json"},

    {"labels", R"json({
        "description": "key/value pairs to specify attributes",
        "type": "object",
        "patternProperties": {".*": {
            "description": "value of label", "type": "string",
            "pattern": "^\\S+$", "maxLength": 256, "minLength": 1}}})json"},

    {"plugins", R"json({"type": "object"})json"},

    {"script", R"json({"type": "string", "minLength": 10, "maxLength": 102400})json"},

    {"timeout", R"json({
        "type": "object",
        "properties": {
            "connect": {"type": "number", "exclusiveMinimum": 0},
            "send": {"type": "number", "exclusiveMinimum": 0},
            "read": {"type": "number", "exclusiveMinimum": 0}},
        "required": ["connect", "send", "read"]})json"},

    // ip_def: the IPv6/CIDR pattern is loose upstream on purpose (a precise
    // one would be unreadable); ipv4 and ipv6 formats use inet_pton.
    {"ipv4_seg", R"json(([0-9]|[1-9][0-9]|1[0-9]{2}|2[0-4][0-9]|25[0-5]))json"},
    {"ip_def", R"json([
        {"title": "IPv4", "type": "string", "format": "ipv4"},
        {"title": "IPv4/CIDR", "type": "string",
         "pattern": "^${ipv4_seg}\\.${ipv4_seg}\\.${ipv4_seg}\\.${ipv4_seg}/([12]?[0-9]|3[0-2])$"},
        {"title": "IPv6", "type": "string", "format": "ipv6"},
        {"title": "IPv6/CIDR", "type": "string",
         "pattern": "^([a-fA-F0-9]{0,4}:){1,8}(:[a-fA-F0-9]{0,4}){0,8}([a-fA-F0-9]{0,4})?/[0-9]{1,3}$"}])json"},
    {"remote_addr",
     R"json({"description": "client IP", "type": "string", "anyOf": ${ip_def}})json"},

    {"statuses", R"json({
        "type": "array", "minItems": 1, "uniqueItems": true,
        "items": {"type": "integer", "minimum": 200, "maximum": 599}})json"},

    // Passive thresholds accept 0, which disables that counter.
    {"health_checker", R"json({
        "type": "object",
        "properties": {
            "active": {
                "type": "object",
                "properties": {
                    "type": {"type": "string", "enum": ["http", "https", "tcp"], "default": "http"},
                    "timeout": {"type": "number", "default": 1},
                    "concurrency": {"type": "integer", "default": 10},
                    "host": ${host},
                    "port": {"type": "integer", "minimum": 1, "maximum": 65535},
                    "http_path": {"type": "string", "default": "/"},
                    "https_verify_certificate": {"type": "boolean", "default": true},
                    "healthy": {
                        "type": "object",
                        "properties": {
                            "interval": {"type": "integer", "minimum": 1, "default": 1},
                            "http_statuses": ${statuses},
                            "successes": {"type": "integer", "minimum": 1, "maximum": 254, "default": 2}}},
                    "unhealthy": {
                        "type": "object",
                        "properties": {
                            "interval": {"type": "integer", "minimum": 1, "default": 1},
                            "http_statuses": ${statuses},
                            "http_failures": {"type": "integer", "minimum": 1, "maximum": 254, "default": 5},
                            "tcp_failures": {"type": "integer", "minimum": 1, "maximum": 254, "default": 2},
                            "timeouts": {"type": "integer", "minimum": 1, "maximum": 254, "default": 3}}},
                    "req_headers": {
                        "type": "array", "minItems": 1,
                        "items": {"type": "string", "uniqueItems": true}}}},
            "passive": {
                "type": "object",
                "properties": {
                    "type": {"type": "string", "enum": ["http", "https", "tcp"], "default": "http"},
                    "healthy": {
                        "type": "object",
                        "properties": {
                            "http_statuses": ${statuses},
                            "successes": {"type": "integer", "minimum": 0, "maximum": 254, "default": 5}}},
                    "unhealthy": {
                        "type": "object",
                        "properties": {
                            "http_statuses": ${statuses},
                            "tcp_failures": {"type": "integer", "minimum": 0, "maximum": 254, "default": 2},
                            "timeouts": {"type": "integer", "minimum": 0, "maximum": 254, "default": 7},
                            "http_failures": {"type": "integer", "minimum": 0, "maximum": 254, "default": 5}}}}}},
        "anyOf": [{"required": ["active"]}, {"required": ["active", "passive"]}],
        "additionalProperties": false})json"},

    {"nodes", R"json({"anyOf": [
        {"type": "object",
         "patternProperties": {".*": {"description": "weight of node", "type": "integer", "minimum": 0}}},
        {"type": "array",
         "items": {
             "type": "object",
             "properties": {
                 "host": ${host},
                 "port": {"description": "port of node", "type": "integer", "minimum": 1, "maximum": 65535},
                 "weight": {"description": "weight of node", "type": "integer", "minimum": 0},
                 "priority": {"description": "priority of node", "type": "integer", "default": 0},
                 "metadata": {"description": "metadata of node", "type": "object"}},
             "required": ["host", "weight"]}}]})json"},

    // certificate_scheme and private_key_schema; secret_uri_schema is a
    // `$secret://` or `$env://` reference resolved at run time.
    {"certificate", R"json({"type": "string", "minLength": 128, "maxLength": 65536})json"},
    {"private_key", R"json({"type": "string", "minLength": 128, "maxLength": 65536})json"},
    {"secret_uri", R"json({"type": "string", "pattern": "^\\$(secret|env|ENV)://"})json"},

    // tls: client_cert and client_key go together and exclude client_cert_id.
    // `type` has no enum: APISIX loads custom balancers by name.
    {"upstream", R"json({
        "type": "object",
        "properties": {
            "create_time": ${timestamp},
            "update_time": ${timestamp},
            "nodes": ${nodes},
            "retries": {"type": "integer", "minimum": 0},
            "retry_timeout": {"type": "number", "minimum": 0},
            "timeout": ${timeout},
            "tls": {
                "type": "object",
                "properties": {
                    "client_cert_id": ${id},
                    "client_cert": {"type": "string", "minLength": 128, "maxLength": 65536},
                    "client_key": {"type": "string", "minLength": 64, "maxLength": 65536},
                    "verify": {"type": "boolean", "default": false}},
                "dependencies": {
                    "client_cert": {"required": ["client_key"], "not": {"required": ["client_cert_id"]}},
                    "client_key": {"required": ["client_cert"], "not": {"required": ["client_cert_id"]}}}},
            "keepalive_pool": {
                "type": "object",
                "properties": {
                    "size": {"type": "integer", "default": 320, "minimum": 1},
                    "idle_timeout": {"type": "number", "default": 60, "minimum": 0},
                    "requests": {"type": "integer", "default": 1000, "minimum": 1}}},
            "type": {"description": "algorithms of load balancing", "type": "string", "default": "roundrobin"},
            "checks": ${health_checker},
            "hash_on": {
                "type": "string", "default": "vars",
                "enum": ["vars", "header", "cookie", "consumer", "vars_combinations"]},
            "key": {"description": "the key of chash for dynamic load balancing", "type": "string"},
            "scheme": {
                "default": "http",
                "enum": ["grpc", "grpcs", "http", "https", "tcp", "tls", "udp", "kafka"]},
            "discovery_type": {"description": "discovery type", "type": "string"},
            "discovery_args": {
                "type": "object",
                "properties": {
                    "namespace_id": {"description": "namespace id", "type": "string"},
                    "group_name": {"description": "group name", "type": "string"}}},
            "pass_host": {
                "description": "mod of host passing", "type": "string",
                "enum": ["pass", "node", "rewrite"], "default": "pass"},
            "upstream_host": ${host},
            "service_name": {"type": "string", "maxLength": 256, "minLength": 1},
            "id": ${id},
            "name": ${name},
            "desc": ${desc},
            "labels": ${labels}},
        "oneOf": [{"required": ["nodes"]}, {"required": ["service_name", "discovery_type"]}],
        "additionalProperties": false})json"},
};

constexpr std::string_view kRouteSchema = R"json({
    "type": "object",
    "properties": {
        "create_time": ${timestamp},
        "update_time": ${timestamp},
        "uri": {"type": "string", "minLength": 1, "maxLength": 4096},
        "uris": {
            "type": "array", "items": {"description": "HTTP uri", "type": "string"},
            "minItems": 1, "uniqueItems": true},
        "name": ${name},
        "desc": ${desc},
        "priority": {"type": "integer", "default": 0},
        "methods": {
            "type": "array",
            "items": {
                "description": "HTTP method", "type": "string",
                "enum": ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "CONNECT",
                         "TRACE", "PURGE"]},
            "uniqueItems": true},
        "host": ${host},
        "hosts": ${hosts},
        "remote_addr": ${remote_addr},
        "remote_addrs": {"type": "array", "items": ${remote_addr}, "minItems": 1, "uniqueItems": true},
        "timeout": ${timeout},
        "vars": {"type": "array"},
        "filter_func": {"type": "string", "minLength": 10, "pattern": "^function"},
        "script": ${script},
        "script_id": ${id},
        "plugins": ${plugins},
        "plugin_config_id": ${id},
        "upstream": ${upstream},
        "labels": ${labels},
        "service_id": ${id},
        "upstream_id": ${id},
        "enable_websocket": {"description": "enable websocket for request", "type": "boolean"},
        "status": {
            "description": "route status, 1 to enable, 0 to disable",
            "type": "integer", "enum": [1, 0], "default": 1},
        "id": ${id}},
    "allOf": [
        {"oneOf": [{"required": ["uri"]}, {"required": ["uris"]}]},
        {"oneOf": [
            {"not": {"anyOf": [{"required": ["host"]}, {"required": ["hosts"]}]}},
            {"required": ["host"]},
            {"required": ["hosts"]}]},
        {"oneOf": [
            {"not": {"anyOf": [{"required": ["remote_addr"]}, {"required": ["remote_addrs"]}]}},
            {"required": ["remote_addr"]},
            {"required": ["remote_addrs"]}]}],
    "anyOf": [
        {"required": ["plugins", "uri"]},
        {"required": ["upstream", "uri"]},
        {"required": ["upstream_id", "uri"]},
        {"required": ["service_id", "uri"]},
        {"required": ["plugins", "uris"]},
        {"required": ["upstream", "uris"]},
        {"required": ["upstream_id", "uris"]},
        {"required": ["service_id", "uris"]},
        {"required": ["script", "uri"]},
        {"required": ["script", "uris"]}],
    "not": {"anyOf": [
        {"required": ["script", "plugins"]},
        {"required": ["script", "plugin_config_id"]}]},
    "additionalProperties": false})json";

constexpr std::string_view kServiceSchema = R"json({
    "type": "object",
    "properties": {
        "id": ${id},
        "plugins": ${plugins},
        "upstream": ${upstream},
        "upstream_id": ${id},
        "name": ${name},
        "desc": ${desc},
        "labels": ${labels},
        "script": ${script},
        "create_time": ${timestamp},
        "update_time": ${timestamp},
        "enable_websocket": {"description": "enable websocket for request", "type": "boolean"},
        "hosts": ${hosts}},
    "additionalProperties": false})json";

constexpr std::string_view kUpstreamSchema = "${upstream}";

constexpr std::string_view kConsumerSchema = R"json({
    "type": "object",
    "properties": {
        "username": {"type": "string", "minLength": 1, "maxLength": 256, "pattern": "^[a-zA-Z0-9_\\-]+$"},
        "group_id": ${id},
        "plugins": ${plugins},
        "labels": ${labels},
        "create_time": ${timestamp},
        "update_time": ${timestamp},
        "desc": ${desc}},
    "required": ["username"],
    "additionalProperties": false})json";

// plugin_config and consumer_group share one shape.
constexpr std::string_view kPluginSetSchema = R"json({
    "type": "object",
    "properties": {
        "id": ${id},
        "name": ${name},
        "desc": ${desc},
        "plugins": ${plugins},
        "labels": ${labels},
        "create_time": ${timestamp},
        "update_time": ${timestamp}},
    "required": ["id", "plugins"],
    "additionalProperties": false})json";

constexpr std::string_view kGlobalRuleSchema = R"json({
    "type": "object",
    "properties": {
        "id": ${id},
        "plugins": ${plugins},
        "create_time": ${timestamp},
        "update_time": ${timestamp}},
    "required": ["id", "plugins"],
    "additionalProperties": false})json";

// ssl: `sni`/`snis` are required only for type "server" (the default, so
// an absent `type` counts as server: the `if` has no `required`).
constexpr std::string_view kSslSchema = R"json({
    "type": "object",
    "properties": {
        "id": ${id},
        "desc": ${desc},
        "labels": ${labels},
        "create_time": ${timestamp},
        "update_time": ${timestamp},
        "type": {
            "description": "ssl certificate type, server to server certificate, client to client certificate for upstream",
            "type": "string", "default": "server", "enum": ["server", "client"]},
        "cert": {"oneOf": [${certificate}, ${secret_uri}]},
        "key": {"oneOf": [${private_key}, ${secret_uri}]},
        "sni": ${host},
        "snis": {"type": "array", "items": ${host}, "minItems": 1},
        "certs": {"type": "array", "items": {"oneOf": [${certificate}, ${secret_uri}]}},
        "keys": {"type": "array", "items": {"oneOf": [${private_key}, ${secret_uri}]}},
        "client": {
            "type": "object",
            "properties": {
                "ca": ${certificate},
                "depth": {"type": "integer", "minimum": 0, "default": 1},
                "skip_mtls_uri_regex": {
                    "type": "array", "minItems": 1, "uniqueItems": true,
                    "items": {"description": "uri regular expression to skip mtls", "type": "string"}}},
            "required": ["ca"]},
        "status": {
            "description": "ssl status, 1 to enable, 0 to disable",
            "type": "integer", "enum": [1, 0], "default": 1},
        "ssl_protocols": {
            "description": "set ssl protocols",
            "type": "array", "maxItems": 3, "uniqueItems": true,
            "items": {"enum": ["TLSv1.1", "TLSv1.2", "TLSv1.3"]}}},
    "if": {"properties": {"type": {"enum": ["server"]}}},
    "then": {"oneOf": [{"required": ["sni", "key", "cert"]}, {"required": ["snis", "key", "cert"]}]},
    "else": {"required": ["key", "cert"]},
    "additionalProperties": false})json";

constexpr std::string_view kProtoSchema = R"json({
    "type": "object",
    "properties": {
        "id": ${id},
        "name": ${name},
        "desc": ${desc},
        "labels": ${labels},
        "create_time": ${timestamp},
        "update_time": ${timestamp},
        "content": {"type": "string", "minLength": 1, "maxLength": 1048576}},
    "required": ["content"],
    "additionalProperties": false})json";

// credential: one auth plugin at most; that it is an auth plugin is checked
// with the plugin registry.
constexpr std::string_view kCredentialSchema = R"json({
    "type": "object",
    "properties": {
        "id": ${id},
        "name": ${name},
        "desc": ${desc},
        "labels": ${labels},
        "create_time": ${timestamp},
        "update_time": ${timestamp},
        "plugins": {"type": "object", "maxProperties": 1}},
    "additionalProperties": false})json";

// plugin_metadata has no schema of its own in APISIX: the body is the
// plugin's metadata_schema, checked by the plugin registry. This is only the
// wrapper every stored metadata object has.
constexpr std::string_view kPluginMetadataSchema = R"json({
    "type": "object",
    "properties": {"id": {"type": "string", "minLength": 1}},
    "required": ["id"]})json";

// stream_route: `protocol` is xRPC's (xrpc_protocol_schema).
constexpr std::string_view kStreamRouteSchema = R"json({
    "type": "object",
    "properties": {
        "id": ${id},
        "name": ${name},
        "desc": ${desc},
        "labels": ${labels},
        "create_time": ${timestamp},
        "update_time": ${timestamp},
        "remote_addr": ${remote_addr},
        "server_addr": {"description": "server IP", "type": "string", "anyOf": ${ip_def}},
        "server_port": {"description": "server port", "type": "integer", "minimum": 1, "maximum": 65535},
        "sni": ${host},
        "upstream": ${upstream},
        "upstream_id": ${id},
        "service_id": ${id},
        "plugins": ${plugins},
        "protocol": {
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "superior_id": ${id},
                "conf": {"description": "protocol-specific configuration", "type": "object"},
                "logger": {
                    "type": "array",
                    "items": {
                        "properties": {
                            "name": {"type": "string"},
                            "filter": {"description": "logger filter rules", "type": "array"},
                            "conf": {"description": "logger plugin configuration", "type": "object"}},
                        "dependencies": {"name": ["conf"]},
                        "additionalProperties": false}}},
            "required": ["name"]}},
    "additionalProperties": false})json";

// Replaces every ${name} with its fragment, recursively. Fragments do not
// refer to themselves, so the recursion ends; an unknown name is left as is
// and then fails JSON parsing, which the tests catch.
std::string expand(std::string_view text) {
  std::string out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const auto open = text.find("${", pos);
    if (open == std::string_view::npos) break;
    const auto close = text.find('}', open);
    if (close == std::string_view::npos) break;
    out.append(text.substr(pos, open - pos));
    const auto name = text.substr(open + 2, close - open - 2);
    const auto* fragment = std::find_if(std::begin(kFragments), std::end(kFragments),
                                        [&](const Fragment& f) { return f.name == name; });
    if (fragment == std::end(kFragments)) {
      out.append(text.substr(open, close + 1 - open));
    } else {
      out += expand(fragment->text);
    }
    pos = close + 1;
  }
  out.append(text.substr(std::min(pos, text.size())));
  return out;
}

// The chash `key` schemas, chosen by `hash_on`.
constexpr std::string_view kHashVarsKey =
    R"json({"type":"string","pattern":"^((uri|server_name|server_addr|request_uri|remote_port|remote_addr|query_string|host|hostname|mqtt_client_id)|arg_[0-9a-zA-z_-]+)$"})json";
constexpr std::string_view kHashHeaderKey =
    R"json({"type":"string","pattern":"^[a-zA-Z0-9-_]+$"})json";

// Our own schema texts are constants: failing to compile one is a bug that
// every test run catches, so it stops the process with the reason.
std::unique_ptr<JsonSchema> compile_or_die(std::string_view name, std::string_view text) {
  json::error_code ec;
  const json::value schema = json::parse(expand(text), ec);
  if (ec) {
    std::fprintf(stderr, "torii: built-in %.*s schema is not JSON: %s\n",
                 static_cast<int>(name.size()), name.data(), ec.message().c_str());
    std::abort();
  }
  auto compiled = JsonSchema::compile(schema);
  if (!compiled) {
    std::fprintf(stderr, "torii: built-in %.*s schema does not compile: %s\n",
                 static_cast<int>(name.size()), name.data(), compiled.error().message.c_str());
    std::abort();
  }
  return std::move(compiled.value());
}

const JsonSchema& hash_vars_key() {
  static const auto schema = compile_or_die("chash vars key", kHashVarsKey);
  return *schema;
}

const JsonSchema& hash_header_key() {
  static const auto schema = compile_or_die("chash header key", kHashHeaderKey);
  return *schema;
}

// ---------------------------------------------------------------------------
// Checks APISIX runs in code after the schema.

core::Error fail(std::string message) { return core::config_error(std::move(message)); }

// core.utils.parse_addr: the port is what follows the last ':' (after ']'
// for a bracketed IPv6 address), read as a Lua number.
std::optional<double> node_port(std::string_view addr) {
  std::string_view port_text;
  if (!addr.empty() && addr.front() == '[') {
    if (addr.back() == ']') return std::nullopt;
    const auto colon = addr.rfind(':');
    if (colon == std::string_view::npos || colon == 0 || addr[colon - 1] != ']')
      return std::nullopt;
    port_text = addr.substr(colon + 1);
  } else {
    const auto colon = addr.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    port_text = addr.substr(colon + 1);
  }
  if (port_text.empty()) return std::nullopt;
  const std::string text(port_text);
  char* end = nullptr;
  const double port = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size()) return std::nullopt;  // tonumber() gives nil
  return port;
}

// apisix/upstream.lua check_upstream_conf, after its schema check.
core::Status check_upstream_rules(const json::object& up) {
  if (const auto* nodes = up.if_contains("nodes"); nodes != nullptr && nodes->is_object()) {
    for (const auto& node : nodes->get_object()) {
      const std::string_view addr = node.key();
      if (!addr.empty() && addr.front() != '[' &&
          std::count(addr.begin(), addr.end(), ':') > 1) {
        return fail("invalid configuration: IPv6 address must be enclosed with '[' and ']'");
      }
      const auto port = node_port(addr);
      if (port && (*port < 1 || *port > 65535)) {
        return fail("invalid port " + lua_text::number(*port));
      }
    }
  }

  const auto* pass_host = up.if_contains("pass_host");
  if (pass_host != nullptr && pass_host->is_string() && pass_host->get_string() == "rewrite") {
    const auto* host = up.if_contains("upstream_host");
    if (host == nullptr || (host->is_string() && host->get_string().empty())) {
      return fail("`upstream_host` can't be empty when `pass_host` is `rewrite`");
    }
  }

  const auto* type = up.if_contains("type");
  if (type == nullptr || !type->is_string() || type->get_string() != "chash")
    return core::ok_status();

  std::string_view hash_on = "vars";  // the schema default
  if (const auto* h = up.if_contains("hash_on"); h != nullptr && h->is_string())
    hash_on = h->get_string();
  const auto* key = up.if_contains("key");
  if (hash_on != "consumer" && key == nullptr) return fail("missing key");

  const JsonSchema* key_schema = nullptr;
  if (hash_on == "vars") key_schema = &hash_vars_key();
  if (hash_on == "header" || hash_on == "cookie") key_schema = &hash_header_key();
  if (key_schema != nullptr) {
    if (auto st = key_schema->validate(*key); !st) {
      return fail("invalid configuration: " + st.error().message);
    }
  }
  return core::ok_status();
}

// Lua code cannot run in Torii: refuse it and say what to use instead.
core::Status refuse_lua(const json::object& obj) {
  if (obj.contains("filter_func")) {
    return fail(
        "'filter_func' is not supported: Torii does not run Lua; express the condition with "
        "'vars'");
  }
  if (obj.contains("script")) {
    return fail(
        "'script' is not supported: Torii does not run Lua; configure the route with 'plugins' "
        "or 'plugin_config_id'");
  }
  return core::ok_status();
}

core::Status check_route(const json::object& route) {
  if (route.contains("host") && route.contains("hosts")) {
    return fail("only one of host or hosts is allowed");
  }
  if (route.contains("remote_addr") && route.contains("remote_addrs")) {
    return fail("only one of remote_addr or remote_addrs is allowed");
  }
  if (const auto* up = route.if_contains("upstream"); up != nullptr && up->is_object()) {
    if (auto st = check_upstream_rules(up->get_object()); !st) return st;
  }
  return refuse_lua(route);
}

core::Status check_service(const json::object& service) {
  if (const auto* up = service.if_contains("upstream"); up != nullptr && up->is_object()) {
    if (auto st = check_upstream_rules(up->get_object()); !st) return st;
  }
  return refuse_lua(service);
}

// --- ssls: apisix/ssl.lua check_ssl_conf ----------------------------------
//
// Certificates and keys are parsed with the same OpenSSL calls
// lua-resty-core's ngx.ssl makes, and failures carry the words it gives.

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

// Refuses encrypted PEM blocks instead of letting OpenSSL's default callback
// prompt for a passphrase on the terminal.
int no_passphrase(char*, int, int, void*) { return 0; }

// Whatever happens, leave this thread's OpenSSL error queue empty: a stale
// entry would be read by the next TLS call on the thread as its own error.
struct ClearOpensslErrors {
  ~ClearOpensslErrors() { ERR_clear_error(); }
};

BioPtr memory_bio(std::string_view pem) {
  return BioPtr(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

// ngx_http_lua_ffi_parse_pem_cert: the leaf, then the rest of the chain until
// the input runs out. Returns the leaf, or the error text.
core::Result<X509Ptr> parse_pem_cert(std::string_view pem) {
  ClearOpensslErrors clear;
  auto bio = memory_bio(pem);
  if (!bio) return fail("BIO_new_mem_buf() failed");
  X509Ptr leaf(PEM_read_bio_X509_AUX(bio.get(), nullptr, no_passphrase, nullptr));
  if (!leaf) return fail("PEM_read_bio_X509_AUX() failed");
  for (;;) {
    X509Ptr next(PEM_read_bio_X509(bio.get(), nullptr, no_passphrase, nullptr));
    if (next) continue;
    const unsigned long e = ERR_peek_last_error();
    if (ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE) break;
    return fail("PEM_read_bio_X509() failed");
  }
  return leaf;
}

// ngx_http_lua_ffi_parse_pem_priv_key.
core::Result<PkeyPtr> parse_pem_priv_key(std::string_view pem) {
  ClearOpensslErrors clear;
  auto bio = memory_bio(pem);
  if (!bio) return fail("BIO_new_mem_buf() failed");
  PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr));
  if (!key) return fail("PEM_read_bio_PrivateKey() failed");
  return key;
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// apisix/secret.lua check_secret_uri: "$secret://", or "$env://" in any case.
bool is_secret_ref(const json::value& v) {
  if (!v.is_string()) return false;
  const std::string_view s = v.get_string();
  if (starts_with(s, "$secret://")) return true;
  std::string head(s.substr(0, 7));
  for (auto& c : head) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return head == "$ENV://";
}

// apisix/ssl.lua validate(cert, key), plus a check APISIX has not written yet:
// that the key belongs to the cert (nginx would otherwise fail every
// handshake with it). `key` null: only the cert is checked. A key that is
// not PEM is taken as encrypted at rest: decrypted with `encryption` when
// given (APISIX's behaviour), else not parsed.
core::Status validate_pair(const json::value& cert, const json::value* key,
                           const DataEncryption* encryption) {
  if (!cert.is_string()) return core::ok_status();  // the schema refused it already
  auto leaf = parse_pem_cert(cert.get_string());
  if (!leaf) return fail("failed to parse cert: " + leaf.error().message);
  if (key == nullptr || !key->is_string()) return core::ok_status();

  std::string pem(key->get_string());
  if (!starts_with(pem, "---")) {
    if (encryption == nullptr) return core::ok_status();
    auto plain = encryption->decrypt_ssl_key(pem);
    if (!plain) return fail("failed to decrypt previous encrypted key");
    pem = std::move(*plain);
  }
  auto pkey = parse_pem_priv_key(pem);
  if (!pkey) return fail("failed to parse key: " + pkey.error().message);

  ClearOpensslErrors clear;
  if (X509_check_private_key(leaf->get(), pkey->get()) != 1) {
    return fail("key does not match cert");
  }
  return core::ok_status();
}

std::size_t lua_length(const json::value* v) {
  return v != nullptr && v->is_array() ? v->get_array().size() : 0;
}

core::Status check_ssl(const json::object& ssl, const DataEncryption* encryption) {
  static const json::value kNull;
  const json::value* cert = ssl.if_contains("cert");
  const json::value* key = ssl.if_contains("key");
  if (cert != nullptr && key != nullptr && !is_secret_ref(*cert) && !is_secret_ref(*key)) {
    if (auto st = validate_pair(*cert, key, encryption); !st) return st;
  }

  if (const auto* type = ssl.if_contains("type");
      type != nullptr && type->is_string() && type->get_string() == "client") {
    return core::ok_status();
  }

  const json::value* certs = ssl.if_contains("certs");
  const json::value* keys = ssl.if_contains("keys");
  const std::size_t count = lua_length(certs);
  if (count != lua_length(keys)) return fail("mismatched number of certs and keys");
  for (std::size_t i = 0; i < count; ++i) {
    const json::value& c = certs->get_array()[i];
    const json::value& k = keys->get_array()[i];
    if (is_secret_ref(c) || is_secret_ref(k)) continue;
    if (auto st = validate_pair(c, &k, encryption); !st) {
      return fail("failed to handle cert-key pair[" + std::to_string(i + 1) +
                  "]: " + st.error().message);
    }
  }

  if (const auto* client = ssl.if_contains("client"); client != nullptr && client->is_object()) {
    const json::value* ca = client->get_object().if_contains("ca");
    if (auto st = validate_pair(ca != nullptr ? *ca : kNull, nullptr, encryption); !st) {
      return fail("failed to validate client_cert: " + st.error().message);
    }
  }
  return core::ok_status();
}

// --- stream_routes: apisix/stream/router/ip_port.lua stream_route_checker --

// core.ip.validate_cidr_or_ip: an IPv4 or IPv6 address, optionally with a
// prefix length of at most 32 or 128.
bool valid_cidr_or_ip(std::string_view text) {
  std::string addr(text);
  long mask = 0;
  if (const auto slash = addr.find('/'); slash != std::string::npos) {
    const std::string digits = addr.substr(slash + 1);
    char* end = nullptr;
    mask = std::strtol(digits.c_str(), &end, 10);
    if (digits.empty() || *end != '\0' || mask < 0 || mask > 128) return false;
    addr.resize(slash);
  }
  unsigned char buf[sizeof(in6_addr)];
  if (inet_pton(AF_INET, addr.c_str(), buf) == 1) return mask <= 32;
  return inet_pton(AF_INET6, addr.c_str(), buf) == 1;
}

core::Status check_stream_route(const json::object& route) {
  for (const char* field : {"remote_addr", "server_addr"}) {
    const auto* addr = route.if_contains(field);
    if (addr != nullptr && addr->is_string() && !valid_cidr_or_ip(addr->get_string())) {
      return fail("invalid " + std::string(field) + ": " + std::string(addr->get_string()));
    }
  }
  return core::ok_status();
}

enum class Kind {
  kRoute,
  kService,
  kUpstream,
  kConsumer,
  kConsumerGroup,
  kPluginConfig,
  kGlobalRule,
  kSsl,
  kProto,
  kCredential,
  kPluginMetadata,
  kStreamRoute
};

std::optional<Kind> kind_of(std::string_view resource) {
  if (resource == "routes") return Kind::kRoute;
  if (resource == "services") return Kind::kService;
  if (resource == "upstreams") return Kind::kUpstream;
  if (resource == "consumers") return Kind::kConsumer;
  if (resource == "consumer_groups") return Kind::kConsumerGroup;
  if (resource == "plugin_configs") return Kind::kPluginConfig;
  if (resource == "global_rules") return Kind::kGlobalRule;
  if (resource == "ssls") return Kind::kSsl;
  if (resource == "protos") return Kind::kProto;
  if (resource == "credentials") return Kind::kCredential;
  if (resource == "plugin_metadata") return Kind::kPluginMetadata;
  if (resource == "stream_routes") return Kind::kStreamRoute;
  return std::nullopt;
}

const JsonSchema& schema_of(Kind kind) {
  switch (kind) {
    case Kind::kRoute: {
      static const auto s = compile_or_die("route", kRouteSchema);
      return *s;
    }
    case Kind::kService: {
      static const auto s = compile_or_die("service", kServiceSchema);
      return *s;
    }
    case Kind::kUpstream: {
      static const auto s = compile_or_die("upstream", kUpstreamSchema);
      return *s;
    }
    case Kind::kConsumer: {
      static const auto s = compile_or_die("consumer", kConsumerSchema);
      return *s;
    }
    case Kind::kConsumerGroup: {
      static const auto s = compile_or_die("consumer_group", kPluginSetSchema);
      return *s;
    }
    case Kind::kPluginConfig: {
      static const auto s = compile_or_die("plugin_config", kPluginSetSchema);
      return *s;
    }
    case Kind::kGlobalRule: {
      static const auto s = compile_or_die("global_rule", kGlobalRuleSchema);
      return *s;
    }
    case Kind::kSsl: {
      static const auto s = compile_or_die("ssl", kSslSchema);
      return *s;
    }
    case Kind::kProto: {
      static const auto s = compile_or_die("proto", kProtoSchema);
      return *s;
    }
    case Kind::kCredential: {
      static const auto s = compile_or_die("credential", kCredentialSchema);
      return *s;
    }
    case Kind::kPluginMetadata: {
      static const auto s = compile_or_die("plugin_metadata", kPluginMetadataSchema);
      return *s;
    }
    case Kind::kStreamRoute: {
      static const auto s = compile_or_die("stream_route", kStreamRouteSchema);
      return *s;
    }
  }
  std::abort();  // unreachable: every enumerator returns above
}

}  // namespace

const JsonSchema* resource_schema(std::string_view resource) {
  const auto kind = kind_of(resource);
  return kind ? &schema_of(*kind) : nullptr;
}

core::Status check_resource(std::string_view resource, const boost::json::value& obj,
                            const DataEncryption* encryption) {
  const auto kind = kind_of(resource);
  if (!kind) return fail("Unsupported resource type: " + std::string(resource));
  // apisix/admin/plugin_metadata.lua checks the name before anything else.
  if (*kind == Kind::kPluginMetadata && obj.is_object()) {
    const auto* id = obj.get_object().if_contains("id");
    if (id == nullptr || (id->is_string() && id->get_string().empty())) {
      return fail("missing plugin name");
    }
  }
  if (auto st = schema_of(*kind).validate(obj); !st) {
    return fail("invalid configuration: " + st.error().message);
  }
  // Past the schema the value is an object, or an empty array that Lua's
  // type check could not tell from an empty object.
  static const json::object kEmpty;
  const json::object& fields = obj.is_object() ? obj.get_object() : kEmpty;
  switch (*kind) {
    case Kind::kRoute:
      return check_route(fields);
    case Kind::kService:
      return check_service(fields);
    case Kind::kUpstream:
      return check_upstream_rules(fields);
    case Kind::kSsl:
      return check_ssl(fields, encryption);
    case Kind::kStreamRoute:
      return check_stream_route(fields);
    default:
      return core::ok_status();
  }
}

}  // namespace torii::config
