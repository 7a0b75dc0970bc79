// Active health checks: the probes of every HealthChecker of the process
// (upstream/health_check.h), run on one io_context (the control loop's).
//
// Every 100 ms the prober looks for checkers it does not run yet
// (HealthCheckers::global()) and starts one loop for each. A loop probes
// each node when it is due: at once when the checker is new, then every
// `healthy.interval` s while the node is healthy and every
// `unhealthy.interval` s while it is not, with at most `concurrency` probes
// of that upstream in flight. It holds its checker weakly between rounds and
// ends when the upstream is gone (a config change that removed or changed
// it) or the prober stops.
//
// A probe (lua-resty-healthcheck's): connect to the node's address (or
// `active.port`), within `active.timeout` for the whole probe; `tcp`: the
// connect is the check. `http`/`https` (TLS with SNI, certificate checked
// unless `https_verify_certificate` is false) then send
// `GET <http_path> HTTP/1.0` with `Host: <active.host or the node's host>`
// and `req_headers`, and read the status line. Outcomes: a status is
// classified by the active `healthy`/`unhealthy` status lists; running out
// of time is a timeout; any other failure (refused, reset, closed before a
// status line, a bad status line, a failed handshake) is a TCP failure.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <string>
#include <vector>

#include "upstream/health_check.h"

namespace torii::upstream {

class HealthProber {
 public:
  // `trusted_ca`: apisix.ssl.ssl_trusted_certificate ("system" or a file),
  // for https probes that verify the node's certificate.
  HealthProber(boost::asio::io_context& io, const std::string& trusted_ca);
  ~HealthProber();
  HealthProber(const HealthProber&) = delete;
  HealthProber& operator=(const HealthProber&) = delete;

  struct OpenSockets;

  void start();
  // Ends every loop at its next step; probes in flight finish on their own
  // timeout.
  void stop();

 private:
  void scan();

  boost::asio::io_context& io_;
  boost::asio::steady_timer scan_timer_;
  boost::asio::ssl::context tls_;
  std::shared_ptr<OpenSockets> open_;
  std::shared_ptr<bool> stopped_ = std::make_shared<bool>(false);
  std::vector<std::weak_ptr<HealthChecker>> watched_;  // checkers with a loop
};

}  // namespace torii::upstream
