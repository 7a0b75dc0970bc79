// One typical proxied request as plugins see it, for the plugin
// micro-benchmarks: the gateway's own PluginContext (proxy::RequestContext)
// over a parsed GET with browser-like headers, a matched route, and a 200
// from the upstream. No sockets: the benchmarks call the phases (or the
// plugin runner) on this context, one "request" per iteration.
//
// Plugin chains are built through plugins::ChainBuilder, so every conf goes
// through the registry's schema check and factory exactly as a snapshot
// build does.
#pragma once

#include <benchmark/benchmark.h>

#include <boost/asio/ip/address.hpp>
#include <boost/json/parse.hpp>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "config/snapshot.h"
#include "config/snapshot_builder.h"
#include "plugins/plugin_chain.h"
#include "plugins/jwt.h"
#include "proxy/request_context.h"

namespace torii::bench {

// A route chain from a `plugins` object (JSON text), as the snapshot
// builder makes it; the error names the failing plugin and field.
inline core::Result<std::shared_ptr<const plugins::PluginChain>> build_chain(
    plugins::ChainBuilder& builder, const std::string& plugins_json) {
  plugins::PluginScope scope;
  scope.workers = 1;
  scope.find_upstream = [](std::string_view) {
    return std::make_shared<const upstream::Upstream>();
  };
  scope.compile_upstream =
      [](const boost::json::object& o) -> core::Result<std::shared_ptr<const upstream::Upstream>> {
    auto u = config::compile_upstream_object(o, "upstream");
    if (!u) return u.error();
    return std::make_shared<const upstream::Upstream>(std::move(*u));
  };
  builder.set_scope_template(std::move(scope));
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(plugins_json, ec);
  if (ec || !v.is_object()) return core::config_error("bench: bad plugins JSON: " + plugins_json);
  plugins::PluginSource src;
  src.plugins = &v.as_object();
  src.kind = "route";
  src.id = "1";
  src.owner_key = "/apisix/routes/1";
  return builder.route_chain({src});
}

// The request, connection and snapshot of one bench "request". Not movable:
// the context keeps references into it.
class RequestFixture {
 public:
  RequestFixture() {
    conn_.remote_addr = "10.20.13.5";
    conn_.remote_port = "51234";
    conn_.server_addr = "127.0.0.1";
    conn_.server_port = "9080";
    conn_.remote_ip = boost::asio::ip::make_address(conn_.remote_addr);
    conn_.scheme = "http";

    header_store_ = {
        {"Host", "api.example.com"},
        {"User-Agent",
         "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
         "Chrome/124.0.0.0 Safari/537.36"},
        {"Accept", "application/json, text/plain, */*"},
        {"Accept-Encoding", "gzip, deflate, br"},
        {"Accept-Language", "en-US,en;q=0.9"},
        {"Origin", "https://app.example.com"},
        {"Referer", "https://app.example.com/dashboard"},
        {"X-Forwarded-For", "203.0.113.7"},
        {"Cookie", "session=4f2a9c; theme=dark"},
        // Credentials of consumer 500 of bench_consumers() (auth plugins).
        {"apikey", "key-500"},
        {"Authorization", "Basic dXNlci01MDA6cGFzcy01MDA="},  // user-500:pass-500
        {"X-Jwt", jwt_token_},
    };
    for (const auto& [n, v] : header_store_) req_.headers.push_back({n, v});
    req_.method = http::Method::kGet;
    req_.method_token = "GET";
    req_.target = "/api/v1/items?id=42&page=2";
    req_.raw_path = "/api/v1/items";
    req_.query = "id=42&page=2";
    req_.path = "/api/v1/items";
    req_.host = "api.example.com";
    req_.host_header = "api.example.com";

    upstream_headers_ = {
        {"Content-Type", "application/json"},
        {"Content-Length", "1024"},
        {"Date", "Mon, 06 May 2024 10:00:00 GMT"},
        {"Server", "nginx"},
        {"Cache-Control", "no-cache"},
    };
    snapshot_ = std::make_shared<config::Snapshot>();
    snapshot_->routes.emplace_back();
    snapshot_->routes[0].id = "1";
    snapshot_->routes[0].name = "bench";
    chunk_template_.assign(1024, 'x');
  }
  RequestFixture(const RequestFixture&) = delete;
  RequestFixture& operator=(const RequestFixture&) = delete;

  // The consumers auth plugins look up.
  void set_consumers(std::shared_ptr<const plugins::ConsumerDirectory> consumers) {
    snapshot_->consumers = std::move(consumers);
  }

  // The matched route carries this chain (what Chains::of reads).
  void set_route_chain(std::shared_ptr<const plugins::PluginChain> chain) {
    snapshot_->routes[0].plugins = std::move(chain);
  }

  // A new request on the context, routed; `slots` plugin-state slots when
  // phases are called directly (the runner sizes them itself).
  void begin_request(size_t slots) {
    ctx_.reset(&req_, snapshot_);
    ctx_.route = &snapshot_->routes[0];
    ctx_.request_length = 412;
    if (slots > 0) {
      ctx_.plugin_states.resize(slots);
      ctx_.plugin_slot = 0;
    }
  }

  // What the session records when the upstream's head arrives.
  void upstream_answered() {
    ctx_.status = 200;
    ctx_.upstream_addr = "127.0.0.1:1980";
    ctx_.upstream_status = "200";
    ctx_.upstream_response_time = std::chrono::microseconds(800);
    ctx_.set_response_source(&upstream_headers_);
  }

  // After the body went out, before the log phase.
  void response_sent() {
    ctx_.clear_response_source();
    ctx_.body_bytes_sent = 1024;
  }

  // A fresh 1 KiB body piece (body filters may change it in place).
  std::string& chunk() {
    chunk_.assign(chunk_template_);
    return chunk_;
  }

  proxy::RequestContext& ctx() { return ctx_; }
  http::Request& request() { return req_; }
  proxy::ConnectionInfo& connection() { return conn_; }

 private:
  proxy::ConnectionInfo conn_;
  // HS256 token {"key":"jwt-500"} signed with "secret-500", no exp.
  std::string jwt_token_ = *plugins::jwt::sign_for_tests(
      plugins::jwt::Algorithm::kHS256, R"({"alg":"HS256","typ":"JWT"})", R"({"key":"jwt-500"})",
      "secret-500");
  std::vector<std::pair<std::string, std::string>> header_store_;
  http::Request req_;
  std::vector<std::pair<std::string, std::string>> upstream_headers_;
  std::shared_ptr<config::Snapshot> snapshot_;  // shared as const with the context
  std::string chunk_template_, chunk_;
  proxy::RequestContext ctx_{conn_};
};

}  // namespace torii::bench
