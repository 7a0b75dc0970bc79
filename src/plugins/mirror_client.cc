// proxy-mirror's sender (mirror_client.h): one coroutine per copy on the
// worker's loop, over the upstream connection code (upstream_conn.h) for
// plain TCP and TLS, with a deadline sweeper of its own per worker.
#include "plugins/mirror_client.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ssl/context.hpp>
#include <span>

#include "core/deadline.h"
#include "http/h1_parser.h"
#include "net/per_worker_table.h"
#include "net/resolve.h"
#include "observability/metrics.h"
#include "upstream/upstream_conn.h"

namespace torii::plugins::mirror {
namespace {

namespace asio = boost::asio;
using boost::system::error_code;

constexpr size_t kMaxResponseHead = 64 * 1024;
constexpr size_t kReadChunk = 4096;
// Failures are logged at most once per worker per this interval; the rest
// are counted in the next line (a mirror that is down fails every copy).
constexpr auto kLogInterval = std::chrono::seconds(5);

Settings& settings_slot() {
  static Settings s;
  return s;
}

std::function<void(Request)>& sink_slot() {
  static std::function<void(Request)> sink;
  return sink;
}

observability::Counter& requests_counter() {
  static observability::Counter& c = observability::MetricsRegistry::global().counter(
      "proxy_mirror_requests_total", "Requests copied by proxy-mirror, by outcome",
      {"route", "result"});
  return c;
}

// Everything one worker's mirrors share. Held by the worker's service and by
// every mirror coroutine, so it outlives the frames asio destroys when the
// io_context goes away.
struct WorkerState {
  explicit WorkerState(asio::io_context& ctx) : io(ctx), sweeper(ctx) {}

  asio::ssl::context& tls() {
    if (!tls_ctx) {
      tls_ctx = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
      error_code ignored;
      tls_ctx->set_options(asio::ssl::context::no_sslv2 | asio::ssl::context::no_sslv3 |
                               asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1,
                           ignored);
    }
    return *tls_ctx;
  }

  void log_failure(const std::string& peer, const std::string& why) {
    const auto now = core::Clock::now();
    if (now - last_log < kLogInterval) {
      ++unlogged;
      return;
    }
    if (unlogged > 0) {
      spdlog::warn("proxy-mirror: mirror to {} failed: {} ({} more failures since the last message)",
                   peer, why, unlogged);
    } else {
      spdlog::warn("proxy-mirror: mirror to {} failed: {}", peer, why);
    }
    last_log = now;
    unlogged = 0;
  }

  // The io_context shuts down.
  void shutdown() { sweeper.stop(); }

  asio::io_context& io;
  // Runs only while a mirror is in flight, so an idle worker's loop has no
  // extra timer.
  core::DeadlineSweeper sweeper;
  std::unique_ptr<asio::ssl::context> tls_ctx;
  uint32_t in_flight = 0;
  core::Clock::time_point last_log{};
  uint64_t unlogged = 0;
};

// Keeps the in-flight count right however the coroutine ends (completion,
// or its frame destroyed with the io_context).
struct InFlight {
  WorkerState* st;
  ~InFlight() {
    if (--st->in_flight == 0) st->sweeper.stop();
  }
};

std::chrono::milliseconds until(core::Clock::time_point when, std::chrono::milliseconds cap) {
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(when - core::Clock::now());
  return std::clamp(left, std::chrono::milliseconds(1), cap);
}

// One exchange with the mirror. Returns why it failed, empty on success.
// `st` and `req` belong to the awaiting frame.
net::Task<std::string> exchange(WorkerState* st, const Request* req) {
  const Settings& s = settings_slot();
  const Endpoint& to = *req->endpoint;
  const auto give_up =
      core::Clock::now() + s.connect_timeout + s.send_timeout + s.read_timeout;

  asio::ip::tcp::endpoint ep;
  if (to.address) {
    ep = asio::ip::tcp::endpoint(*to.address, to.port);
  } else {
    // Within the copy's own deadline; lookups of other names (the main
    // requests' upstreams) never wait behind this one (net/resolve.h).
    net::Resolved r = co_await net::resolve_before(st->io.get_executor(), to.host,
                                                   std::to_string(to.port), give_up);
    if (r.timed_out) co_return "cannot resolve " + to.host + ": timed out";
    if (r.error) co_return "cannot resolve " + to.host + ": " + r.error.message();
    if (r.endpoints.empty()) co_return "cannot resolve " + to.host + ": no address";
    ep = r.endpoints.front();
  }

  upstream::UpstreamConn conn(st->io, st->sweeper);
  asio::ssl::context* tls = nullptr;
  if (to.tls) tls = &st->tls();
  const error_code cec = co_await conn.connect(ep, s.connect_timeout, tls, to.sni, false);
  if (cec) {
    const bool timeout = conn.timed_out();
    co_return std::string(timeout ? "connect timed out: " : "connect failed: ") + cec.message();
  }

  const std::array<asio::const_buffer, 2> out{asio::buffer(req->head), asio::buffer(req->body)};
  conn.arm(until(give_up, s.send_timeout));
  auto [wec, written] = co_await conn.write(out);
  conn.disarm();
  if (wec) {
    const bool timeout = conn.timed_out();
    co_return std::string(timeout ? "send timed out: " : "send failed: ") + wec.message();
  }

  // Read the answer and drop it. The head must sit whole in `buf` (the
  // parser keeps offsets into it); body bytes are dropped as they come.
  http::H1Parser& p = conn.parser();
  p.reset();
  p.expect_no_body(req->head_method);
  std::string buf(kReadChunk, '\0');
  size_t size = 0;
  size_t parsed = 0;
  uint64_t received = 0;
  while (!p.message_complete()) {
    if (size == buf.size()) {
      if (buf.size() >= kMaxResponseHead) co_return "response head too large";
      buf.resize(buf.size() * 2);
    }
    if (core::Clock::now() >= give_up) co_return "timed out";
    conn.arm(until(give_up, s.read_timeout));
    auto [rec, n] = co_await conn.read_some(std::span<char>(buf.data() + size, buf.size() - size));
    conn.disarm();
    if (rec || n == 0) {
      if (!conn.timed_out() && p.head_complete() && p.body_until_close() && p.finish()) break;
      if (conn.timed_out()) co_return "read timed out";
      co_return "mirror closed the connection: " + (rec ? rec.message() : std::string("eof"));
    }
    size += n;
    received += n;
    parsed += p.feed(buf.data(), parsed, size - parsed);
    if (p.error() != http::ParseError::kNone) {
      co_return std::string("invalid response: ") + p.error_reason();
    }
    p.clear_body();
    // Past the head everything read was consumed: read into the start again.
    if (p.head_complete()) size = parsed = 0;
    if (received > kMaxResponseBytes) break;  // enough of it: close
  }
  conn.close();
  co_return std::string();
}

net::Task<void> run(std::shared_ptr<WorkerState> st, Request req) {
  InFlight guard{st.get()};
  const std::string failure = co_await exchange(st.get(), &req);
  if (failure.empty()) {
    count(req.worker, req.route, kResultOk);
  } else {
    count(req.worker, req.route, kResultError);
    st->log_failure(req.endpoint->name, failure);
  }
}

}  // namespace

void set_settings(const Settings& s) { settings_slot() = s; }
const Settings& settings() { return settings_slot(); }

void count(unsigned worker, std::string_view route, std::string_view result) {
  const std::array<std::string_view, 2> labels{route, result};
  requests_counter().inc(worker, labels);
}

uint64_t counted(std::string_view route, std::string_view result) {
  const std::array<std::string_view, 2> labels{route, result};
  return requests_counter().value(labels);
}

void set_sink_for_testing(std::function<void(Request)> sink) { sink_slot() = std::move(sink); }

bool launch(net::Executor ex, Request req) {
  if (const auto& sink = sink_slot()) {
    sink(std::move(req));
    return true;
  }
  const std::shared_ptr<WorkerState>& st = net::per_worker_state<WorkerState>(ex);
  if (st->in_flight >= settings_slot().max_inflight) {
    count(req.worker, req.route, kResultDropped);
    return false;
  }
  if (st->in_flight++ == 0) st->sweeper.start(nullptr);
  asio::co_spawn(ex, run(st, std::move(req)), asio::detached);
  return true;
}

}  // namespace torii::plugins::mirror
