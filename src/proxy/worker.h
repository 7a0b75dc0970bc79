// A worker: one thread, one event loop, its own listening sockets, its own
// upstream connection pool and balancers. Nothing here is shared with other
// workers on the request path. The control thread talks to a worker only
// through publish(), drain() and stop(), which post to the worker's loop.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/unordered/unordered_flat_map.hpp>
#include <boost/unordered/unordered_flat_set.hpp>
#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "net/client_limits.h"
#include "net/io.h"
#include "net/splice_pipe.h"
#include "config/snapshot.h"
#include "core/deadline.h"
#include "core/http_date.h"
#include "observability/access_log.h"
#include "upstream/balancer.h"
#include "upstream/conn_pool.h"

namespace torii::proxy {

class HttpSession;

class Worker {
 public:
  Worker(int index, std::shared_ptr<observability::AccessLogFile> access_log,
         size_t access_log_buffer);
  ~Worker();

  // Control thread, before start(): opens this worker's listening sockets.
  core::Status listen(const std::vector<config::ListenAddress>& addresses);
  // Control thread, before start(): opens the TLS listening sockets, whose
  // connections handshake with `tls` (shared by every worker; outlives it).
  core::Status listen_tls(const std::vector<config::SslListen>& addresses,
                          boost::asio::ssl::context* tls);
  // Control thread: starts the loop thread serving `initial`.
  void start(std::shared_ptr<const config::Snapshot> initial);
  // Any thread: installs a new snapshot between requests.
  void publish(std::shared_ptr<const config::Snapshot> snapshot);
  // Any thread: stop accepting, close idle keep-alive connections, let
  // in-flight requests finish (their connections close afterwards).
  void drain();
  // Any thread: stops the loop; connections still open are dropped.
  void stop();
  void join();
  // Any thread: connections currently open on this worker, and request
  // heads read since it started (what nginx's status module reports:
  // apisix_nginx_http_current_connections, apisix_http_requests_total).
  size_t open_connections() const { return open_connections_.load(std::memory_order_relaxed); }
  uint64_t requests_read() const { return requests_read_.load(std::memory_order_relaxed); }
  // Loop thread only: one more request head read (the only writer, so a
  // plain load and store: no locked instruction on the request path).
  void count_request() {
    requests_read_.store(requests_read_.load(std::memory_order_relaxed) + 1,
                         std::memory_order_relaxed);
  }

  // ---- loop thread only ----
  int index() const { return index_; }
  // Worker threads of the node (set by the gateway before start()).
  unsigned worker_count() const { return worker_count_; }
  void set_worker_count(unsigned n) { worker_count_ = n; }
  // Before start(): the CAs upstream certificates are verified against
  // (apisix.ssl.ssl_trusted_certificate: "system" or a PEM file, checked
  // when config.yaml was loaded).
  void set_upstream_trusted_ca(std::string path) { upstream_trusted_ca_ = std::move(path); }
  // The node's abuse limits (set by the gateway before start(); null: none).
  void set_client_limits(std::shared_ptr<net::ClientLimiter> l) { client_limits_ = std::move(l); }
  net::ClientLimiter* client_limits() const { return client_limits_.get(); }
  boost::asio::io_context& io() { return io_; }
  const std::shared_ptr<const config::Snapshot>& snapshot() const { return snapshot_; }
  core::DeadlineSweeper& sweeper() { return sweeper_; }
  upstream::ConnPool& pool() { return pool_; }
  net::PipePool& pipes() { return pipes_; }
  core::HttpDate& date() { return date_; }
  observability::AccessLogBuffer* access_log() { return access_log_.get(); }
  bool draining() const { return draining_; }
  // The worker's balancer for `u`, created on first use and kept while the
  // upstream object lives (state survives unrelated config changes).
  upstream::Balancer& balancer(const std::shared_ptr<const upstream::Upstream>& u);
  boost::asio::ssl::context& tls_client_context();
  void session_opened(HttpSession* s);
  void session_closed(HttpSession* s);

 private:
  net::Task<void> accept_loop(net::TcpAcceptor& acceptor, boost::asio::ssl::context* tls);
  void on_tick();

  int index_;
  unsigned worker_count_ = 1;
  // Before io_: admissions held by connections are released when io_ goes.
  std::shared_ptr<net::ClientLimiter> client_limits_;
  boost::asio::io_context io_;
  std::vector<net::TcpAcceptor> acceptors_;
  std::vector<boost::asio::ssl::context*> acceptor_tls_;  // per acceptor; null: plain HTTP
  std::shared_ptr<const config::Snapshot> snapshot_;
  core::DeadlineSweeper sweeper_;
  upstream::ConnPool pool_;
  net::PipePool pipes_;  // splice(2) pipes for response bodies (proxy/splice_body.cc)
  core::HttpDate date_;
  std::unique_ptr<observability::AccessLogBuffer> access_log_;
  struct BalancerEntry {
    std::weak_ptr<const upstream::Upstream> owner;
    std::unique_ptr<upstream::Balancer> balancer;
  };
  boost::unordered_flat_map<const upstream::Upstream*, BalancerEntry> balancers_;
  std::unique_ptr<boost::asio::ssl::context> tls_client_;
  std::string upstream_trusted_ca_ = "system";
  boost::unordered_flat_set<HttpSession*> sessions_;
  std::atomic<size_t> open_connections_{0};
  std::atomic<uint64_t> requests_read_{0};
  bool draining_ = false;
  std::thread thread_;
};

}  // namespace torii::proxy
