#include "proxy/worker.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include "net/accept_loop.h"
#include "net/listener.h"
#include "proxy/client_guard.h"
#include "proxy/http_session.h"
#include "tls/server_cert.h"

namespace torii::proxy {

namespace asio = boost::asio;

Worker::Worker(int index, std::shared_ptr<observability::AccessLogFile> access_log,
               size_t access_log_buffer)
    // UNSAFE_IO: sockets are only touched by this worker's thread, so the
    // reactor's per-descriptor locks are pure cost; post() stays thread-safe.
    : index_(index), io_(BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO), sweeper_(io_) {
  if (access_log) {
    access_log_ = std::make_unique<observability::AccessLogBuffer>(std::move(access_log),
                                                                   access_log_buffer);
  }
}

Worker::~Worker() {
  stop();
  join();
}

core::Status Worker::listen(const std::vector<config::ListenAddress>& addresses) {
  for (const auto& a : addresses) {
    auto acc = net::open_listener(io_, a.ip, a.port);
    if (!acc) return acc.error();
    acceptors_.push_back(std::move(*acc));
    acceptor_tls_.push_back(nullptr);
  }
  return core::ok_status();
}

core::Status Worker::listen_tls(const std::vector<config::SslListen>& addresses,
                                asio::ssl::context* tls) {
  for (const auto& a : addresses) {
    auto acc = net::open_listener(io_, a.ip, a.port);
    if (!acc) return acc.error();
    acceptors_.push_back(std::move(*acc));
    acceptor_tls_.push_back(tls);
  }
  return core::ok_status();
}

void Worker::start(std::shared_ptr<const config::Snapshot> initial) {
  snapshot_ = std::move(initial);
  for (size_t i = 0; i < acceptors_.size(); ++i) {
    asio::co_spawn(io_, accept_loop(acceptors_[i], acceptor_tls_[i]), asio::detached);
  }
  sweeper_.start([this] { on_tick(); });
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), ("torii-w" + std::to_string(index_)).c_str());
    io_.run();
    if (access_log_) access_log_->flush();
  });
}

void Worker::publish(std::shared_ptr<const config::Snapshot> snapshot) {
  asio::post(io_, [this, s = std::move(snapshot)]() mutable { snapshot_ = std::move(s); });
}

void Worker::drain() {
  asio::post(io_, [this] {
    draining_ = true;
    for (auto& acc : acceptors_) {
      boost::system::error_code ignored;
      acc.close(ignored);
    }
    // Copy: closing a session may remove it from the set.
    std::vector<HttpSession*> open(sessions_.begin(), sessions_.end());
    for (HttpSession* s : open) s->close_if_idle();
    pool_.clear();
  });
}

void Worker::stop() {
  asio::post(io_, [this] {
    sweeper_.stop();
    if (access_log_) access_log_->flush();
    io_.stop();
  });
}

void Worker::join() {
  if (thread_.joinable()) thread_.join();
}

net::Task<void> Worker::accept_loop(net::TcpAcceptor& acceptor, asio::ssl::context* tls) {
  const std::string what = "worker " + std::to_string(index_);
  const std::function<void(net::TcpSocket)> on_accept = [this, tls](net::TcpSocket socket) {
    // Refused clients are reset here, before any read; an admitted one's
    // admission lives in the completion handler, i.e. as long as the session.
    auto admission = admit_client(client_limits_.get(), socket, static_cast<unsigned>(index_));
    if (!admission) return;
    asio::co_spawn(io_, HttpSession::serve(*this, std::move(socket), tls),
                   [held = std::move(admission)](const std::exception_ptr&) {});
  };
  co_await net::accept_connections(acceptor, what, on_accept);
}

void Worker::on_tick() {
  if (access_log_) access_log_->flush();
  pool_.sweep(core::Clock::now());
  boost::unordered::erase_if(balancers_, [](const auto& kv) { return kv.second.owner.expired(); });
}

upstream::Balancer& Worker::balancer(const std::shared_ptr<const upstream::Upstream>& u) {
  auto it = balancers_.find(u.get());
  if (it != balancers_.end() && !it->second.owner.expired()) return *it->second.balancer;
  std::vector<upstream::NodeSpec> specs;
  specs.reserve(u->nodes.size());
  for (const auto& n : u->nodes) specs.push_back(n.spec);
  BalancerEntry entry{u, upstream::make_balancer(u->type, specs)};
  auto& slot = balancers_[u.get()];
  slot = std::move(entry);
  return *slot.balancer;
}

asio::ssl::context& Worker::tls_client_context() {
  if (!tls_client_) {
    tls_client_ = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
    if (auto st = tls::trust_upstream_cas(*tls_client_, upstream_trusted_ca_); !st) {
      // Checked when config.yaml was loaded: only a file changed since gets here.
      spdlog::error("worker {}: {}; verifying upstreams with the system CAs", index_,
                    st.error().message);
      tls::trust_upstream_cas(*tls_client_, "system");
    }
    tls_client_->set_options(asio::ssl::context::no_sslv2 | asio::ssl::context::no_sslv3 |
                             asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1);
  }
  return *tls_client_;
}

void Worker::session_opened(HttpSession* s) {
  sessions_.insert(s);
  open_connections_.fetch_add(1, std::memory_order_relaxed);
}

void Worker::session_closed(HttpSession* s) {
  sessions_.erase(s);
  open_connections_.fetch_sub(1, std::memory_order_relaxed);
}

}  // namespace torii::proxy
