#include "upstream/health_prober.h"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>
#include <optional>
#include <unordered_set>

#include "core/deadline.h"
#include "net/before.h"
#include "net/io.h"
#include "net/resolve.h"
#include "tls/server_cert.h"

namespace torii::upstream {
namespace {

namespace asio = boost::asio;
using core::Clock;
using net::before;
using net::kNoThrow;

constexpr std::chrono::milliseconds kScanInterval{100};
constexpr size_t kMaxStatusLine = 1024;


struct ProbeRequest {
  std::string host;  // Host header and SNI
  std::string text;  // the whole request
};

ProbeRequest probe_request(const ActiveCheckConf& a, const HealthChecker::Target& t) {
  ProbeRequest r;
  r.host = a.host.empty() ? t.spec.host : a.host;
  // An IPv6 literal goes in brackets in Host (RFC 9110 7.2), not in SNI.
  const bool ipv6 = r.host.find(':') != std::string::npos;
  r.text = "GET " + a.http_path + " HTTP/1.0\r\nHost: " + (ipv6 ? "[" + r.host + "]" : r.host) +
           "\r\n";
  for (const std::string& h : a.req_headers) r.text += h + "\r\n";
  r.text += "\r\n";
  return r;
}

// "HTTP/1.1 200 OK" -> 200; -1 when it is not a status line.
int parse_status_line(std::string_view line) {
  if (!line.starts_with("HTTP/") || line.size() < 12) return -1;
  const size_t sp = line.find(' ');
  if (sp == std::string_view::npos || sp + 4 > line.size()) return -1;
  int status = 0;
  for (size_t i = sp + 1; i < sp + 4; ++i) {
    if (line[i] < '0' || line[i] > '9') return -1;
    status = status * 10 + (line[i] - '0');
  }
  if (sp + 4 < line.size() && line[sp + 4] != ' ' && line[sp + 4] != '\r') return -1;
  return status;
}

// Sends the request and reads up to the end of the status line.
template <class Stream>
net::Task<int> exchange(Stream& s, const std::string& request) {
  auto [wec, wn] = co_await asio::async_write(s, asio::buffer(request), kNoThrow);
  if (wec) co_return -1;
  std::string got;
  char buf[512];
  while (got.find("\r\n") == std::string::npos && got.size() < kMaxStatusLine) {
    auto [ec, n] = co_await s.async_read_some(asio::buffer(buf), kNoThrow);
    got.append(buf, n);
    if (ec) break;
  }
  const size_t eol = got.find("\r\n");
  if (eol == std::string::npos) co_return -1;
  co_return parse_status_line(std::string_view(got).substr(0, eol));
}

// The outcome of one probe: an HTTP status (>= 0), or a failure.
struct Outcome {
  int status = -1;
  bool timeout = false;
  bool connected_only = false;  // tcp probe: connected
};

}  // namespace

// The sockets of the probes in flight, closed by stop() so that no probe
// keeps the control loop running after shutdown.
struct HealthProber::OpenSockets {
  std::vector<std::weak_ptr<net::TcpSocket>> sockets;
  void add(const std::shared_ptr<net::TcpSocket>& s) {
    std::erase_if(sockets, [](const std::weak_ptr<net::TcpSocket>& w) { return w.expired(); });
    sockets.push_back(s);
  }
  void close_all() {
    for (const std::weak_ptr<net::TcpSocket>& w : sockets) {
      if (auto s = w.lock()) {
        boost::system::error_code ignored;
        s->close(ignored);
      }
    }
    sockets.clear();
  }
};

namespace {

net::Task<Outcome> run_probe(const ActiveCheckConf& a, const HealthChecker::Target& t,
                             asio::ssl::context& tls, HealthProber::OpenSockets& open) {
  const auto executor = co_await asio::this_coro::executor;
  const Clock::time_point deadline = Clock::now() + a.timeout;
  const uint16_t port = a.port.value_or(t.spec.port);
  Outcome out;
  boost::system::error_code aec;
  const auto address = asio::ip::make_address(t.spec.host, aec);
  asio::ip::tcp::endpoint ep;
  if (!aec) {
    ep = asio::ip::tcp::endpoint(address, port);
  } else {
    const net::Resolved r =
        co_await net::resolve_before(executor, t.spec.host, std::to_string(port), deadline);
    if (r.timed_out) {
      out.timeout = true;
      co_return out;
    }
    if (r.error || r.endpoints.empty()) co_return out;
    ep = r.endpoints.front();
  }
  const auto owned = std::make_shared<net::TcpSocket>(executor);
  open.add(owned);
  net::TcpSocket& socket = *owned;
  auto connected = co_await before(deadline, socket.async_connect(ep, kNoThrow));
  if (!connected) {
    out.timeout = true;
    co_return out;
  }
  if (std::get<0>(*connected)) co_return out;
  if (a.type == ProbeType::kTcp) {
    out.connected_only = true;
    co_return out;
  }
  const ProbeRequest request = probe_request(a, t);
  std::optional<int> status;
  if (a.type == ProbeType::kHttp) {
    status = co_await before(deadline, exchange(socket, request.text));
  } else {
    asio::ssl::stream<net::TcpSocket&> stream(socket, tls);
    SSL* ssl = stream.native_handle();
    asio::ip::make_address(request.host, aec);
    const bool named = static_cast<bool>(aec);  // not an IP literal
    if (named) SSL_set_tlsext_host_name(ssl, request.host.c_str());
    if (a.https_verify_certificate) {
      stream.set_verify_mode(asio::ssl::verify_peer);
      if (named) {
        SSL_set1_host(ssl, request.host.c_str());
      } else {
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), request.host.c_str());
      }
    } else {
      stream.set_verify_mode(asio::ssl::verify_none);
    }
    auto handshake = co_await before(
        deadline, stream.async_handshake(asio::ssl::stream_base::client, kNoThrow));
    if (!handshake) {
      out.timeout = true;
      co_return out;
    }
    if (std::get<0>(*handshake)) co_return out;
    status = co_await before(deadline, exchange(stream, request.text));
  }
  if (!status) {
    out.timeout = true;
    co_return out;
  }
  out.status = *status;
  co_return out;
}

// Probe state of one checker's loop, shared with its probes.
struct LoopState {
  std::vector<Clock::time_point> due;
  std::vector<bool> in_flight;
  uint32_t probes = 0;  // in flight
};

// Holds its checker weakly: an upstream removed while a probe is out is
// gone at once, not when the probe's timeout ends.
net::Task<void> probe_node(std::weak_ptr<HealthChecker> weak, size_t target,
                           ActiveCheckConf conf, HealthChecker::Target node,
                           std::shared_ptr<LoopState> state, asio::ssl::context& tls,
                           std::shared_ptr<HealthProber::OpenSockets> open,
                           std::shared_ptr<bool> stopped) {
  const Outcome o = co_await run_probe(conf, node, tls, *open);
  state->in_flight[target] = false;
  --state->probes;
  std::shared_ptr<HealthChecker> checker = weak.lock();
  if (!checker || *stopped) co_return;
  if (o.connected_only) {
    checker->report_target(target, HealthEvent::kSuccess, HealthSource::kActive);
  } else if (o.status >= 0) {
    checker->report_target_status(target, o.status, HealthSource::kActive);
  } else {
    checker->report_target(target, o.timeout ? HealthEvent::kTimeout : HealthEvent::kTcpFailure,
                           HealthSource::kActive);
  }
  state->due[target] = Clock::now() + (checker->target_healthy(target) ? conf.healthy_interval
                                                                        : conf.unhealthy_interval);
}

net::Task<void> checker_loop(std::weak_ptr<HealthChecker> weak, asio::ssl::context& tls,
                             std::shared_ptr<HealthProber::OpenSockets> open,
                             std::shared_ptr<bool> stopped) {
  const auto executor = co_await asio::this_coro::executor;
  auto state = std::make_shared<LoopState>();
  {
    auto checker = weak.lock();
    if (!checker) co_return;
    state->due.assign(checker->targets().size(), Clock::now());
    state->in_flight.assign(checker->targets().size(), false);
  }
  net::Timer timer(executor);
  while (!*stopped) {
    {
      std::shared_ptr<HealthChecker> checker = weak.lock();
      if (!checker) co_return;
      const uint32_t concurrency = checker->conf().active.concurrency;
      const Clock::time_point now = Clock::now();
      for (size_t i = 0; i < state->due.size() && state->probes < concurrency; ++i) {
        if (state->in_flight[i] || state->due[i] > now) continue;
        state->in_flight[i] = true;
        ++state->probes;
        asio::co_spawn(executor,
                       probe_node(weak, i, checker->conf().active, checker->targets()[i], state,
                                  tls, open, stopped),
                       asio::detached);
      }
    }
    timer.expires_after(kScanInterval);
    co_await timer.async_wait(kNoThrow);
  }
}

}  // namespace

HealthProber::HealthProber(asio::io_context& io, const std::string& trusted_ca)
    : io_(io),
      scan_timer_(io),
      tls_(asio::ssl::context::tls_client),
      open_(std::make_shared<OpenSockets>()) {
  if (auto st = tls::trust_upstream_cas(tls_, trusted_ca.empty() ? "system" : trusted_ca); !st) {
    spdlog::error("health checks: {}; verifying https probes with the system CAs",
                  st.error().message);
    tls::trust_upstream_cas(tls_, "system");
  }
  tls_.set_options(asio::ssl::context::no_sslv2 | asio::ssl::context::no_sslv3 |
                   asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1);
}

HealthProber::~HealthProber() { stop(); }

void HealthProber::start() {
  *stopped_ = false;
  scan();
}

void HealthProber::stop() {
  *stopped_ = true;
  scan_timer_.cancel();
  open_->close_all();
}

void HealthProber::scan() {
  if (*stopped_) return;
  // The loops' checkers that still live: a new checker may come at the
  // address of one that is gone.
  std::erase_if(watched_, [](const std::weak_ptr<HealthChecker>& w) { return w.expired(); });
  std::unordered_set<const HealthChecker*> running;
  for (const std::weak_ptr<HealthChecker>& w : watched_) {
    if (auto c = w.lock()) running.insert(c.get());
  }
  for (std::shared_ptr<HealthChecker>& c : HealthCheckers::global().live()) {
    if (!running.insert(c.get()).second) continue;
    watched_.push_back(c);
    asio::co_spawn(io_.get_executor(), checker_loop(c, tls_, open_, stopped_), asio::detached);
  }
  scan_timer_.expires_after(kScanInterval);
  scan_timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec) scan();
  });
}

}  // namespace torii::upstream
