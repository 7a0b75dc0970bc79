// forward-auth's client (forward_auth_client.h): one coroutine per call on
// the worker's loop, over upstream::UpstreamConn, with a per-worker
// keep-alive pool and deadline sweeper held by an io_context service.
#include "plugins/forward_auth_client.h"

#include <openssl/x509v3.h>

#include <algorithm>
#include <array>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/unordered/unordered_flat_map.hpp>
#include <span>

#include "core/deadline.h"
#include "http/h1_parser.h"
#include "http/request.h"
#include "net/resolve.h"
#include "net/per_worker_table.h"
#include "upstream/upstream_conn.h"

namespace torii::plugins::forward_auth {
namespace {

namespace asio = boost::asio;
using boost::system::error_code;
using core::ErrorKind;
using std::chrono::milliseconds;

constexpr size_t kReadChunk = 4096;

core::Error upstream_error(ErrorKind kind, std::string message) {
  return core::Error{kind, core::ErrorSource::kUpstream, false, std::move(message)};
}

struct Idle {
  std::unique_ptr<upstream::UpstreamConn> conn;
  core::Clock::time_point expires;
};

// One worker's pool, TLS context and sweeper. Held by the worker's service
// and by every call in flight, so it outlives the frames Asio destroys with
// the io_context.
struct WorkerState {
  explicit WorkerState(asio::io_context& ctx) : io(ctx), sweeper(ctx) {}
  ~WorkerState() { pool.clear(); }  // connections unlink from the sweeper first

  asio::ssl::context& tls() {
    if (!tls_ctx) {
      tls_ctx = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
      error_code ignored;
      tls_ctx->set_default_verify_paths(ignored);
      tls_ctx->set_options(asio::ssl::context::no_sslv2 | asio::ssl::context::no_sslv3 |
                               asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1,
                           ignored);
    }
    return *tls_ctx;
  }

  // The sweeper fires the calls' deadlines and closes expired idle
  // connections; it runs only while there is a call in flight or an idle
  // connection, so an unused worker has no extra timer.
  void keep_sweeping() {
    if (sweeping) return;
    sweeping = true;
    sweeper.start([this] { on_tick(); });
  }

  void on_tick() {
    const auto now = core::Clock::now();
    boost::unordered::erase_if(pool, [&](auto& kv) {
      std::erase_if(kv.second, [&](const Idle& i) { return i.expires <= now; });
      return kv.second.empty();
    });
    if (in_flight == 0 && pool.empty()) {
      sweeping = false;
      sweeper.stop();
    }
  }

  std::unique_ptr<upstream::UpstreamConn> acquire(const std::string& key) {
    auto it = pool.find(key);
    if (it == pool.end()) return nullptr;
    const auto now = core::Clock::now();
    std::unique_ptr<upstream::UpstreamConn> found;
    while (!it->second.empty() && !found) {
      Idle idle = std::move(it->second.back());
      it->second.pop_back();
      if (idle.expires > now && idle.conn->peek_usable()) found = std::move(idle.conn);
    }
    if (it->second.empty()) pool.erase(it);
    return found;
  }

  void release(const std::string& key, std::unique_ptr<upstream::UpstreamConn> conn,
               const KeepAlive& ka) {
    std::vector<Idle>& idle = pool[key];
    if (idle.size() >= ka.pool_size) {
      if (idle.empty()) pool.erase(key);
      return;
    }
    ++conn->requests;
    idle.push_back(Idle{std::move(conn), core::Clock::now() + ka.idle_timeout});
    keep_sweeping();
  }

  // The io_context shuts down: idle connections go, the sweeper stops.
  void shutdown() {
    sweeper.stop();
    sweeping = false;
    pool.clear();
  }

  asio::io_context& io;
  core::DeadlineSweeper sweeper;
  std::unique_ptr<asio::ssl::context> tls_ctx;
  boost::unordered_flat_map<std::string, std::vector<Idle>> pool;
  uint32_t in_flight = 0;
  bool sweeping = false;
};

// Keeps the in-flight count right however the call ends.
struct InFlight {
  explicit InFlight(WorkerState* s) : st(s) {
    ++st->in_flight;
    st->keep_sweeping();
  }
  ~InFlight() { --st->in_flight; }
  WorkerState* st;
};

milliseconds until(core::Clock::time_point when) {
  const auto left = std::chrono::duration_cast<milliseconds>(when - core::Clock::now());
  return std::max(left, milliseconds(1));
}

// The certificate must carry an iPAddress SAN equal to `addr` (SNI and the
// host-name check cannot express an IP literal).
bool certificate_names_ip(SSL* ssl, const asio::ip::address& addr) {
  X509* cert = SSL_get1_peer_certificate(ssl);
  if (cert == nullptr) return false;
  int ok = 0;
  if (addr.is_v4()) {
    const auto b = addr.to_v4().to_bytes();
    ok = X509_check_ip(cert, b.data(), b.size(), 0);
  } else {
    const auto b = addr.to_v6().to_bytes();
    ok = X509_check_ip(cert, b.data(), b.size(), 0);
  }
  X509_free(cert);
  return ok == 1;
}

// A new connection to the service, within `give_up`. Every resolved
// address is tried in turn.
net::Task<core::Result<std::unique_ptr<upstream::UpstreamConn>>> open(
    WorkerState* st, const Service* to, core::Clock::time_point give_up) {
  std::vector<asio::ip::tcp::endpoint> eps;
  if (to->address) {
    eps.emplace_back(*to->address, to->port);
  } else {
    // The lookup is bounded by `give_up` too (net/resolve.h).
    net::Resolved r = co_await net::resolve_before(st->io.get_executor(), to->host,
                                                   std::to_string(to->port), give_up);
    if (r.timed_out) {
      co_return upstream_error(ErrorKind::kTimeout, "resolving " + to->host + " timed out");
    }
    if (r.error || r.endpoints.empty()) {
      co_return upstream_error(ErrorKind::kConnectFailed,
                               "cannot resolve " + to->host + ": " +
                                   (r.error ? r.error.message() : std::string("no address")));
    }
    eps = std::move(r.endpoints);
  }
  asio::ssl::context* tls = to->tls ? &st->tls() : nullptr;
  std::string last = "no address";
  for (const auto& ep : eps) {
    if (core::Clock::now() >= give_up) break;
    auto conn = std::make_unique<upstream::UpstreamConn>(st->io, st->sweeper);
    const error_code ec = co_await conn->connect(ep, until(give_up), tls, to->sni, to->verify);
    if (conn->timed_out()) {
      co_return upstream_error(ErrorKind::kTimeout, "timed out connecting to " + to->name);
    }
    if (ec) {
      last = ec.message();
      continue;
    }
    if (to->tls && to->verify && to->address &&
        !certificate_names_ip(conn->tls_handle(), *to->address)) {
      co_return upstream_error(ErrorKind::kConnectFailed,
                               "certificate does not match the address " + to->host);
    }
    co_return conn;
  }
  if (core::Clock::now() >= give_up) {
    co_return upstream_error(ErrorKind::kTimeout, "timed out connecting to " + to->name);
  }
  co_return upstream_error(ErrorKind::kConnectFailed,
                           "connect to " + to->name + " failed: " + last);
}

struct Attempt {
  core::Result<Reply> reply = upstream_error(ErrorKind::kIo, "not sent");
  bool nothing_received = false;  // failed before any byte of an answer
  bool reusable = false;          // the connection may serve another call
};

// One request/response exchange on `conn`. `call` belongs to the caller.
net::Task<Attempt> exchange(upstream::UpstreamConn* conn, const Call* call,
                            core::Clock::time_point give_up) {
  Attempt out;
  const std::array<asio::const_buffer, 2> bufs{asio::buffer(call->head),
                                               asio::buffer(call->body.data(), call->body.size())};
  conn->arm(until(give_up));
  auto [wec, written] = co_await conn->write(bufs);
  conn->disarm();
  if (wec) {
    const bool timeout = conn->timed_out();
    out.reply =
        upstream_error(timeout ? ErrorKind::kTimeout : ErrorKind::kIo,
                       std::string(timeout ? "timed out sending to " : "sending to ") +
                           call->service->name + (timeout ? "" : " failed: " + wec.message()));
    out.nothing_received = !timeout;
    co_return out;
  }

  http::H1Parser& p = conn->parser();
  p.reset();
  Reply reply;
  std::string buf(kReadChunk, '\0');
  size_t size = 0;
  size_t parsed = 0;
  uint64_t received = 0;
  bool head_taken = false;
  while (!p.message_complete()) {
    if (size == buf.size()) {
      if (buf.size() >= kMaxReplyHead) {
        out.reply = upstream_error(ErrorKind::kBadResponse, "response head too large");
        co_return out;
      }
      buf.resize(buf.size() * 2);
    }
    if (core::Clock::now() >= give_up) {
      out.reply =
          upstream_error(ErrorKind::kTimeout, "timed out reading from " + call->service->name);
      co_return out;
    }
    conn->arm(until(give_up));
    auto [rec, n] = co_await conn->read_some(std::span<char>(buf.data() + size, buf.size() - size));
    conn->disarm();
    if (rec || n == 0) {
      if (!conn->timed_out() && p.head_complete() && p.body_until_close() && p.finish()) break;
      if (conn->timed_out()) {
        out.reply =
            upstream_error(ErrorKind::kTimeout, "timed out reading from " + call->service->name);
      } else {
        out.reply = upstream_error(
            rec && rec != asio::error::eof ? ErrorKind::kReset : ErrorKind::kClosed,
            call->service->name +
                " closed the connection: " + (rec ? rec.message() : std::string("eof")));
        out.nothing_received = received == 0;
      }
      co_return out;
    }
    size += n;
    received += n;
    parsed += p.feed(buf.data(), parsed, size - parsed);
    if (p.error() != http::ParseError::kNone) {
      out.reply = upstream_error(ErrorKind::kBadResponse,
                                 std::string("invalid response: ") + p.error_reason());
      co_return out;
    }
    if (p.head_complete() && !head_taken) {
      head_taken = true;
      reply.status = p.status_code();
      reply.headers.reserve(p.headers().size());
      for (const http::HeaderSpan& h : p.headers()) {
        reply.headers.emplace_back(std::string(buf.data() + h.name.off, h.name.len),
                                   std::string(buf.data() + h.value.off, h.value.len));
      }
    }
    for (const http::Span& s : p.body()) {
      if (reply.body.size() + s.len > kMaxReplyBody) {
        out.reply = upstream_error(
            ErrorKind::kTooLarge, "response body over " + std::to_string(kMaxReplyBody) + " bytes");
        co_return out;
      }
      reply.body.append(buf.data() + s.off, s.len);
    }
    p.clear_body();
    // Past the head every byte read was consumed: read into the start again.
    if (p.head_complete() && !p.message_complete()) size = parsed = 0;
  }
  if (reply.status < 200) {
    out.reply = upstream_error(ErrorKind::kBadResponse,
                               "unexpected interim response " + std::to_string(reply.status));
    co_return out;
  }
  out.reusable =
      call->keepalive.enabled && p.keep_alive() && !p.body_until_close() && parsed == size;
  out.reply = std::move(reply);
  co_return out;
}

}  // namespace

std::vector<std::string_view> Reply::header_values(std::string_view name) const {
  std::vector<std::string_view> out;
  for (const auto& [n, v] : headers) {
    if (http::iequals(n, name)) out.emplace_back(v);
  }
  return out;
}

net::Task<core::Result<Reply>> send(Call call) {
  const net::Executor ex = co_await asio::this_coro::executor;
  const std::shared_ptr<WorkerState> st = net::per_worker_state<WorkerState>(ex);
  InFlight guard(st.get());
  const auto give_up = core::Clock::now() + call.timeout;
  const Service& to = *call.service;

  std::unique_ptr<upstream::UpstreamConn> conn;
  if (call.keepalive.enabled) conn = st->acquire(to.pool_key);
  bool reused = conn != nullptr;
  for (;;) {
    if (!conn) {
      auto opened = co_await open(st.get(), &to, give_up);
      if (!opened) co_return opened.error();
      conn = std::move(*opened);
      reused = false;
    }
    Attempt a = co_await exchange(conn.get(), &call, give_up);
    if (!a.reply && reused && a.nothing_received && core::Clock::now() < give_up) {
      // The service closed the idle connection as we reused it: once more
      // on a new one.
      conn.reset();
      continue;
    }
    if (a.reply && a.reusable) {
      st->release(to.pool_key, std::move(conn), call.keepalive);
    } else {
      conn->close();
    }
    co_return std::move(a.reply);
  }
}

}  // namespace torii::plugins::forward_auth
