// Everything known about one request as it moves from accept to log: the
// parsed head, the route, upstream attempts, the response, timings and the
// error (if any) with its source. It is also the request's VarSource, so
// route `vars`, chash keys and the access-log format read the same values.
// Owned by the session and reset for each request on the connection.
#pragma once

#include <chrono>
#include <deque>
#include <memory>
#include <string>
#include <string_view>

#include "config/snapshot.h"
#include "core/deadline.h"
#include "core/result.h"
#include "http/header_edits.h"
#include "http/request.h"
#include "http/variables.h"
#include "plugins/consumer.h"
#include "plugins/plugin.h"
#include "router/router.h"

namespace torii::proxy {

// Facts about the client connection, computed once per connection.
struct ConnectionInfo {
  std::string remote_addr;
  std::string remote_port;
  std::string server_addr;
  std::string server_port;
  boost::asio::ip::address remote_ip;
  std::string_view scheme = "http";
  // TLS connections only (all empty on plain HTTP).
  std::string ssl_server_name;    // the SNI the client sent
  std::string ssl_client_verify;  // "SUCCESS" / "NONE"
  std::string ssl_client_s_dn;    // the client certificate's subject
  std::string ssl_client_serial;
  unsigned worker = 0;   // the worker serving the connection
  unsigned workers = 1;  // worker threads of the node
};

// Where read_request_body() gets the bytes: the session owning the client
// connection, which reads the rest of the body into `request_body` (see
// PluginContext::read_request_body for the contract). Set once per
// connection; outlives every request on it.
class RequestBodySource {
 public:
  virtual net::Task<core::Result<std::string_view>> buffer_request_body(uint64_t limit) = 0;

 protected:
  ~RequestBodySource() = default;
};

// It is also the PluginContext plugins see: what they change is recorded here
// (request and response header edits, upstream overrides, per-plugin state)
// and applied by the session when it builds the upstream request and the
// response head.
class RequestContext final : public plugins::PluginContext {
 public:
  explicit RequestContext(const ConnectionInfo& conn) : conn_(conn) {}

  void reset(const http::Request* req, std::shared_ptr<const config::Snapshot> snap);
  std::optional<std::string_view> get(const http::VarRef& ref) const override;
  // The same values get() prints for those variables, from the fields.
  LogFigures log_figures() const override;

  // ---- PluginContext ----
  http::Method method() const override { return req_->method; }
  std::string_view method_token() const override { return req_->method_token; }
  std::string_view uri() const override { return req_->path; }
  std::string_view request_uri() const override { return req_->target; }
  std::string_view query() const override { return req_->query; }
  std::string_view host() const override { return req_->host; }
  std::string_view scheme() const override { return conn_.scheme; }
  std::string_view remote_addr() const override {
    return remote_addr_override ? std::string_view(*remote_addr_override)
                                : std::string_view(conn_.remote_addr);
  }
  std::optional<std::string_view> request_header(std::string_view name) const override {
    return req_->header(name);
  }
  std::vector<std::string_view> request_headers(std::string_view name) const override;
  std::vector<std::pair<std::string_view, std::string_view>> all_request_headers()
      const override;
  std::string_view route_id() const override;
  std::string_view service_id() const override;
  unsigned worker() const override { return conn_.worker; }
  unsigned workers() const override { return conn_.workers; }
  void set_upstream_uri(std::string target) override { upstream_uri_override = std::move(target); }
  void set_upstream_method(std::string m) override { upstream_method_override = std::move(m); }
  void set_upstream_host(std::string h) override { upstream_host_override = std::move(h); }
  void set_request_header(std::string_view n, std::string_view v) override { request_edits.set(n, v); }
  void add_request_header(std::string_view n, std::string_view v) override { request_edits.add(n, v); }
  void remove_request_header(std::string_view n) override { request_edits.remove(n); }
  void set_upstream(std::shared_ptr<const upstream::Upstream> up) override { upstream_override = std::move(up); }
  void set_remote_addr(std::string addr) override;
  void set_max_body_size(uint64_t bytes) override { max_body_size_override = bytes; }
  net::Task<core::Result<std::string_view>> read_request_body(uint64_t limit) override;
  void set_body_source(RequestBodySource* source) { body_source_ = source; }
  int response_status() const override { return status; }
  void set_response_status(int s) override { status = s; }
  std::optional<std::string_view> response_header(std::string_view name) const override;
  void set_response_header(std::string_view n, std::string_view v) override { response_edits.set(n, v); }
  void add_response_header(std::string_view n, std::string_view v) override { response_edits.add(n, v); }
  void remove_response_header(std::string_view n) override { response_edits.remove(n); }
  void replace_response_body(std::string body) override { replaced_body = std::move(body); }
  std::string_view upstream_target() const override {
    return upstream_uri_override ? std::string_view(*upstream_uri_override) : req_->target;
  }
  std::string upstream_head_copy(std::string_view target, uint64_t body_length) const override;
  const plugins::ConsumerDirectory& consumers() const override;
  void attach_consumer(std::shared_ptr<const plugins::Consumer> c, std::string credential) override;
  const plugins::Consumer* consumer() const override { return consumer_ref.get(); }
  std::unique_ptr<plugins::RequestState>& state() override { return plugin_states[plugin_slot]; }

  // The response headers header_filter plugins see before their edits:
  // the upstream's (spans into its buffer) or a local reply's.
  void set_response_source(const char* base, const std::vector<http::HeaderSpan>* upstream);
  void set_response_source(const std::vector<std::pair<std::string, std::string>>* local);
  void clear_response_source() { set_response_source(nullptr, nullptr); }

  const http::Request& request() const { return *req_; }
  const ConnectionInfo& connection() const { return conn_; }
  const config::Snapshot& snapshot() const { return *snapshot_; }

  core::Clock::time_point start;
  const config::Route* route = nullptr;
  router::Match match;
  int status = 0;
  uint64_t body_bytes_sent = 0;
  uint64_t request_length = 0;
  std::string upstream_addr;    // "a:1, b:2" across attempts, like nginx
  std::string upstream_status;  // "502, 200"
  std::optional<core::Clock::duration> upstream_response_time;  // summed over the tries
  void add_upstream_time(core::Clock::duration d) {
    upstream_response_time = upstream_response_time.value_or(core::Clock::duration{}) + d;
  }
  std::string upstream_host;    // the Host sent upstream
  std::string upstream_uri;     // the request-target sent upstream
  std::optional<core::Error> error;  // why torii answered with an error

  // ---- plugin results, applied by the session ----
  std::optional<std::string> upstream_uri_override;
  std::string upstream_method_override;  // empty: the client's
  std::optional<std::string> upstream_host_override;
  std::shared_ptr<const upstream::Upstream> upstream_override;
  std::optional<std::string> remote_addr_override;
  std::optional<uint64_t> max_body_size_override;
  http::HeaderEdits request_edits;
  http::HeaderEdits response_edits;
  std::optional<std::string> replaced_body;
  std::optional<plugins::Exit> exit;  // a plugin answered early
  // A global rule's rewrite answered: the route's plugins never run
  // (Chains::of leaves them out), as in APISIX.
  bool answered_by_global_rewrite = false;
  // One slot per chain entry (global entries first); `plugin_slot` is the
  // running entry's. `plugin_skip` marks entries whose _meta.filter failed
  // or that prefer_route removes (a filter is evaluated when the entry's
  // first phase comes up: proxy/plugin_runner.cc).
  std::vector<std::unique_ptr<plugins::RequestState>> plugin_states;
  std::vector<uint8_t> plugin_skip;
  size_t plugin_slot = 0;
  bool plugins_prepared = false;
  // Where run_request_phases_now() stopped for an asynchronous plugin
  // (plugin_runner.cc): the stage, and the chain slot to run next.
  uint8_t phases_stage = 0;
  size_t phases_slot = 0;
  // The consumer an auth plugin attached, and the route chain with its
  // plugins overlaid (null: the consumer has none; the route's chain runs).
  // The runner switches to `consumer_chain` when `consumer_changed` is set.
  std::shared_ptr<const plugins::Consumer> consumer_ref;
  std::string credential_id;
  std::shared_ptr<const plugins::ConsumerRouteChain> consumer_chain;
  bool consumer_changed = false;
  // read_request_body(): the whole body, sent upstream instead of streaming
  // the client's; or why reading it failed after consuming bytes (the
  // request can then not be proxied). Both empty: the usual streaming path.
  std::optional<std::string> request_body;
  std::optional<core::Error> request_body_error;

 private:
  const char* response_base_ = nullptr;
  const std::vector<http::HeaderSpan>* response_upstream_ = nullptr;
  const std::vector<std::pair<std::string, std::string>>* response_local_ = nullptr;
  std::string_view keep(std::string s) const;

  const ConnectionInfo& conn_;
  const http::Request* req_ = nullptr;
  std::shared_ptr<const config::Snapshot> snapshot_;
  mutable std::deque<std::string> scratch_;  // storage behind returned views
  RequestBodySource* body_source_ = nullptr;
};

}  // namespace torii::proxy
