// proxy-mirror's sender: sends a copy of a request to the mirror host on the
// calling worker's loop, reads the answer and drops it. The caller never
// waits for it and never sees its outcome; the outcome is counted in
// <prefix>proxy_mirror_requests_total{route,result} (metrics registry) and
// failures are logged, at most one line per worker every few seconds.
//
// Bounds. Each worker keeps at most Settings::max_inflight mirrors in flight;
// over that a copy is dropped (result "dropped"). Every mirror has a connect,
// a send and a read timeout (read: between two reads), and the whole
// exchange ends after connect + send + read at the latest. At most
// kMaxResponseBytes of the answer are read before the connection closes.
//
// Connections are not reused (nginx's mirror subrequest does not either: it
// sends "Connection: close"); TLS mirrors use SNI for host names and do not
// verify the certificate (nginx's proxy_ssl_verify off).
//
// Threading: launch() runs on a worker thread, inside a coroutine of that
// worker's io_context; everything per worker (the in-flight count, the
// deadline sweeper, the TLS context) lives in an io_context service.
#pragma once

#include <boost/asio/ip/address.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "net/io.h"

namespace torii::plugins::mirror {

// config.yaml plugin_attr.proxy-mirror (APISIX's timeout.* defaults), plus
// torii's max_inflight.
struct Settings {
  std::chrono::milliseconds connect_timeout{60000};
  std::chrono::milliseconds send_timeout{60000};
  std::chrono::milliseconds read_timeout{60000};
  uint32_t max_inflight = 128;  // per worker
};

// Call before the workers start (main); read by every worker afterwards.
void set_settings(const Settings& s);
const Settings& settings();

inline constexpr uint64_t kMaxResponseBytes = 1 << 20;

// Where mirrors go: one per plugin instance, immutable, shared by the copies.
struct Endpoint {
  bool tls = false;
  std::string host;                                 // without brackets
  uint16_t port = 80;
  std::optional<boost::asio::ip::address> address;  // set for IP literals
  std::string sni;                                  // host names only
  std::string name;                                 // "host:port", for logs
};

// One copy of a request.
struct Request {
  std::shared_ptr<const Endpoint> endpoint;
  std::string head;  // complete, with Content-Length for `body`
  std::string body;
  bool head_method = false;  // HEAD: the answer has no body
  unsigned worker = 0;       // the calling worker (metrics shard)
  std::string route;         // route id, metrics label
};

// Outcome labels of proxy_mirror_requests_total.
inline constexpr std::string_view kResultOk = "ok";          // the mirror answered
inline constexpr std::string_view kResultError = "error";    // connect/send/read failed or timed out
inline constexpr std::string_view kResultDropped = "dropped";  // over max_inflight
inline constexpr std::string_view kResultSkipped = "skipped";  // body not mirrored (too large)

// Starts sending `req` on `ex` (the caller's worker) and returns at once.
// False when the worker already has max_inflight mirrors in flight: the copy
// is dropped and counted.
bool launch(net::Executor ex, Request req);

// Counts an outcome decided by the plugin (kResultSkipped).
void count(unsigned worker, std::string_view route, std::string_view result);
// The counter's value summed over workers (tests).
uint64_t counted(std::string_view route, std::string_view result);

// Tests: while set, launch() hands each copy to `sink` instead of sending it
// (and applies no cap). Not thread-safe; set it while no worker runs.
void set_sink_for_testing(std::function<void(Request)> sink);

}  // namespace torii::plugins::mirror
