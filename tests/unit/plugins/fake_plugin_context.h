// A PluginContext over plain fields, for unit tests of one plugin's logic
// (integration tests drive plugins through the real binary). Variables
// resolve from `vars` by their original name ("remote_addr", "arg_x",
// "http_x_user"), so a test states exactly what the plugin sees.
#pragma once

#include <deque>
#include <map>
#include <string>
#include <vector>

#include "http/request.h"
#include "plugins/consumer.h"
#include "plugins/plugin.h"

namespace torii::plugins::testing {

class FakePluginContext : public PluginContext {
 public:
  // ---- inputs a test sets ----
  http::Method method_ = http::Method::kGet;
  std::string method_token_ = "GET";
  std::string uri_ = "/";
  std::string request_uri_ = "/";
  std::string query_;
  std::string host_ = "localhost";
  std::string scheme_ = "http";
  std::string remote_addr_ = "127.0.0.1";
  std::vector<std::pair<std::string, std::string>> request_headers_;
  std::map<std::string, std::string> vars;  // by VarRef::original
  std::string route_id_ = "1";
  std::string service_id_;
  unsigned worker_ = 0;
  unsigned workers_ = 1;
  int response_status_ = 200;

  // ---- what the plugin changed ----
  std::optional<std::string> upstream_uri, upstream_method, upstream_host;
  std::vector<std::pair<std::string, std::string>> set_request_headers, added_request_headers;
  std::vector<std::string> removed_request_headers;
  std::shared_ptr<const upstream::Upstream> upstream;
  std::vector<std::pair<std::string, std::string>> response_headers;  // current, in order
  std::optional<std::string> replaced_body;
  std::unique_ptr<RequestState> state_;
  mutable std::deque<std::string> kept_;

  std::optional<std::string_view> get(const http::VarRef& ref) const override {
    auto it = vars.find(ref.original);
    if (it == vars.end()) return std::nullopt;
    return std::string_view(it->second);
  }
  http::Method method() const override { return method_; }
  std::string_view method_token() const override { return method_token_; }
  std::string_view uri() const override { return uri_; }
  std::string_view request_uri() const override { return request_uri_; }
  std::string_view query() const override { return query_; }
  std::string_view host() const override { return host_; }
  std::string_view scheme() const override { return scheme_; }
  std::string_view remote_addr() const override { return remote_addr_; }
  std::optional<std::string_view> request_header(std::string_view name) const override {
    for (const auto& [n, v] : request_headers_) {
      if (http::iequals(n, name)) return std::string_view(v);
    }
    return std::nullopt;
  }
  std::vector<std::string_view> request_headers(std::string_view name) const override {
    std::vector<std::string_view> out;
    for (const auto& [n, v] : request_headers_) {
      if (http::iequals(n, name)) out.emplace_back(v);
    }
    return out;
  }
  std::vector<std::pair<std::string_view, std::string_view>> all_request_headers() const override {
    std::vector<std::pair<std::string_view, std::string_view>> out;
    for (const auto& [n, v] : request_headers_) out.emplace_back(n, v);
    return out;
  }
  std::string_view route_id() const override { return route_id_; }
  std::string_view service_id() const override { return service_id_; }
  unsigned worker() const override { return worker_; }
  unsigned workers() const override { return workers_; }

  void set_upstream_uri(std::string t) override { upstream_uri = std::move(t); }
  void set_upstream_method(std::string m) override { upstream_method = std::move(m); }
  void set_upstream_host(std::string h) override { upstream_host = std::move(h); }
  void set_request_header(std::string_view n, std::string_view v) override {
    set_request_headers.emplace_back(std::string(n), std::string(v));
  }
  void add_request_header(std::string_view n, std::string_view v) override {
    added_request_headers.emplace_back(std::string(n), std::string(v));
  }
  void remove_request_header(std::string_view n) override {
    removed_request_headers.emplace_back(n);
  }
  void set_upstream(std::shared_ptr<const upstream::Upstream> up) override { upstream = std::move(up); }
  void set_remote_addr(std::string a) override { remote_addr_ = std::move(a); }
  void set_max_body_size(uint64_t b) override { max_body_size = b; }
  std::optional<uint64_t> max_body_size;

  // The request body read_request_body() returns; `body_error_`, when set,
  // is returned instead (a client gone, a timeout). Over `limit`: kTooLarge.
  std::string body_;
  std::optional<core::Error> body_error_;
  int body_reads = 0;
  net::Task<core::Result<std::string_view>> read_request_body(uint64_t limit) override {
    ++body_reads;
    if (body_error_) co_return *body_error_;
    if (body_.size() > limit) {
      co_return core::Error{core::ErrorKind::kTooLarge, core::ErrorSource::kDownstream, false,
                            "request body too large"};
    }
    co_return std::string_view(body_);
  }

  int response_status() const override { return response_status_; }
  void set_response_status(int s) override { response_status_ = s; }
  std::optional<std::string_view> response_header(std::string_view name) const override {
    std::optional<std::string> value;
    for (const auto& [n, v] : response_headers) {
      if (!http::iequals(n, name)) continue;
      value = value ? *value + ", " + v : v;
    }
    if (!value) return std::nullopt;
    kept_.push_back(std::move(*value));  // views stay valid for the request, as the proxy's
    return std::string_view(kept_.back());
  }
  void set_response_header(std::string_view n, std::string_view v) override {
    std::pair<std::string, std::string> h{std::string(n), std::string(v)};  // n, v may view an entry
    remove_response_header(h.first);
    response_headers.push_back(std::move(h));
  }
  void add_response_header(std::string_view n, std::string_view v) override {
    response_headers.emplace_back(std::string(n), std::string(v));
  }
  void remove_response_header(std::string_view n) override {
    const std::string name(n);
    std::erase_if(response_headers, [&](const auto& h) { return http::iequals(h.first, name); });
  }
  void replace_response_body(std::string body) override { replaced_body = std::move(body); }
  std::unique_ptr<RequestState>& state() override { return state_; }

  // ---- consumers ----
  // What auth plugins look up (shared: the directory is not copyable).
  std::shared_ptr<ConsumerDirectory> directory = std::make_shared<ConsumerDirectory>();
  std::shared_ptr<const Consumer> attached;
  std::string attached_credential;
  const ConsumerDirectory& consumers() const override { return *directory; }
  void attach_consumer(std::shared_ptr<const Consumer> c, std::string credential) override {
    attached = std::move(c);
    attached_credential = std::move(credential);
  }
  const Consumer* consumer() const override { return attached.get(); }
};

}  // namespace torii::plugins::testing
