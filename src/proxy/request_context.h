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
#include "http/request.h"
#include "http/variables.h"
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
};

class RequestContext final : public http::VarSource {
 public:
  explicit RequestContext(const ConnectionInfo& conn) : conn_(conn) {}

  void reset(const http::Request* req, std::shared_ptr<const config::Snapshot> snap);
  std::optional<std::string_view> get(const http::VarRef& ref) const override;

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
  std::optional<core::Clock::duration> upstream_response_time;
  std::string upstream_host;    // the Host sent upstream
  std::string upstream_uri;     // the request-target sent upstream
  std::optional<core::Error> error;  // why torii answered with an error

 private:
  std::string_view keep(std::string s) const;

  const ConnectionInfo& conn_;
  const http::Request* req_ = nullptr;
  std::shared_ptr<const config::Snapshot> snapshot_;
  mutable std::deque<std::string> scratch_;  // storage behind returned views
};

}  // namespace torii::proxy
