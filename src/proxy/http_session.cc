#include "proxy/http_session.h"

#include <spdlog/spdlog.h>
#include <algorithm>
#include <cstring>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "net/draining_read.h"
#include "net/transfer.h"
#include "proxy/client_guard.h"
#include "proxy/plugin_runner.h"
#include "proxy/upstream_request.h"
#include "proxy/worker.h"
#include "tls/cert_text.h"
#include "tls/tls_server.h"

namespace torii::proxy {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {

using net::kNoThrow;
constexpr std::string_view kRouteNotFound = "{\"error_msg\":\"404 Route Not Found\"}\n";

core::Error downstream_error(core::ErrorKind kind, std::string message) {
  return core::Error{kind, core::ErrorSource::kDownstream, false, std::move(message)};
}

}  // namespace

HttpSession::HttpSession(Worker& worker, net::TcpSocket socket, asio::ssl::context* tls)
    : worker_(worker),
      stream_(tls != nullptr ? net::ClientStream(std::move(socket), *tls)
                             : net::ClientStream(std::move(socket))),
      deadline_(worker.sweeper(),
                [this] {
                  // Cancel only: the session may still answer (408) before closing.
                  error_code ignored;
                  stream_.socket().cancel(ignored);
                }),
      client_watch_(worker.sweeper(), [this] { check_client_gone(); }),
      in_(worker.snapshot()->http->client_header_buffer_size) {
  error_code ec;
  net::TcpSocket& sock = stream_.socket();
  sock.set_option(asio::ip::tcp::no_delay(true), ec);
  net::enable_drain_hint(sock.native_handle());  // reads of the client: net/draining_read.h
  const auto remote = sock.remote_endpoint(ec);
  if (!ec) {
    conn_info_.remote_ip = remote.address();
    if (conn_info_.remote_ip.is_v6() && conn_info_.remote_ip.to_v6().is_v4_mapped()) {
      conn_info_.remote_ip =
          asio::ip::make_address_v4(asio::ip::v4_mapped, conn_info_.remote_ip.to_v6());
    }
    conn_info_.remote_addr = conn_info_.remote_ip.to_string();
    conn_info_.remote_port = std::to_string(remote.port());
  }
  const auto local = sock.local_endpoint(ec);
  if (!ec) {
    conn_info_.server_addr = local.address().to_string();
    conn_info_.server_port = std::to_string(local.port());
  }
  conn_info_.worker = static_cast<unsigned>(worker.index());
  conn_info_.workers = worker.worker_count();
  ctx_.set_body_source(this);
  worker_.session_opened(this);
}

HttpSession::~HttpSession() { worker_.session_closed(this); }

net::Task<void> HttpSession::serve(Worker& worker, net::TcpSocket socket,
                                   asio::ssl::context* tls) {
  HttpSession session(worker, std::move(socket), tls);
  co_await session.run();
}

void HttpSession::close_if_idle() {
  if (!idle_) return;
  closing_ = true;
  error_code ignored;
  stream_.socket().cancel(ignored);
  stream_.socket().shutdown(net::TcpSocket::shutdown_both, ignored);
}

net::Task<HttpSession::IoResult> HttpSession::read_client(core::Clock::time_point deadline) {
  const auto area = in_.write_area();
  deadline_.arm_at(deadline);
  return stream_.read_some(area);
}

net::Task<HttpSession::IoResult> HttpSession::read_client_into(
    std::span<char> area, core::Clock::time_point deadline) {
  deadline_.arm_at(deadline);
  return stream_.read_some(area);
}

// send_timeout bounds the wait between two successive writes, as nginx's:
// every time the client takes more bytes the deadline starts again, so a
// slow but steady reader gets its whole response.
net::Task<HttpSession::IoResult> HttpSession::write_client(
    std::span<const asio::const_buffer> bufs) {
  deadline_.arm(ctx_.snapshot().http->send_timeout);
  return stream_.write(bufs, &rearm_send_timeout_);
}

net::Task<HttpSession::IoResult> HttpSession::write_client_rest(
    std::span<const asio::const_buffer> bufs, net::WriteProgress done) {
  deadline_.arm(ctx_.snapshot().http->send_timeout);
  return stream_.write_rest(bufs, done, &rearm_send_timeout_);
}

net::Task<bool> HttpSession::accept_tls() {
  // The handshake picks its certificate from the snapshot current now; the
  // copy keeps that index alive until the handshake is over.
  const std::shared_ptr<const config::Snapshot> snap = worker_.snapshot();
  SSL* ssl = stream_.ssl();
  tls::TlsServer::attach(ssl, snap->certs.get());
  deadline_.arm(snap->http->client_header_timeout);
  auto [ec] = co_await stream_.handshake();
  deadline_.disarm();
  if (ec) {
    spdlog::debug("TLS handshake with {}:{} failed: {}", conn_info_.remote_addr,
                  conn_info_.remote_port, ec.message());
    co_return false;
  }
  if (const auto* selected = tls::TlsServer::selected(ssl)) server_cert_ = *selected;
  conn_info_.scheme = "https";
  if (const char* sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name)) {
    conn_info_.ssl_server_name = sni;
  }
  X509* peer = SSL_get0_peer_certificate(ssl);
  client_cert_verified_ = peer != nullptr && SSL_get_verify_result(ssl) == X509_V_OK;
  conn_info_.ssl_client_verify = client_cert_verified_ ? "SUCCESS" : "NONE";
  if (client_cert_verified_) {
    conn_info_.ssl_client_s_dn = tls::subject_text(peer);
    conn_info_.ssl_client_serial = tls::serial_text(peer);
  }
  co_return true;
}

bool HttpSession::client_certificate_allows() const {
  // The object the SNI picked (or fallback_sni): its client CA verified the
  // handshake.
  if (server_cert_ && server_cert_->mtls) {
    if (!client_cert_verified_) {
      if (!server_cert_->may_skip_mtls(req_.path)) return false;
    } else if (!http::iequals(conn_info_.ssl_server_name, req_.host)) {
      // As APISIX: a certificate verified for one name does not open
      // another host on the same connection (a wildcard SNI, another Host).
      return false;
    }
  }
  // The object the Host names, when it is another one (APISIX's
  // verify_https_client): a host that requires a client certificate is not
  // reached through an SNI whose object does not, or checks another CA.
  // (By id: an object recompiled since the handshake is still the same one.)
  const auto* by_host = ctx_.snapshot().certs->find(req_.host);
  if (by_host == nullptr || !*by_host || !(*by_host)->mtls) return true;
  if (server_cert_ && (*by_host)->id == server_cert_->id) return true;
  if (client_cert_verified_) return false;  // verified against another object's CA
  return (*by_host)->may_skip_mtls(req_.path);
}

net::Task<void> HttpSession::run() {
  if (stream_.is_tls()) {
    const bool accepted = co_await accept_tls();
    if (!accepted) {
      error_code ignored;
      stream_.socket().close(ignored);
      co_return;
    }
  }
  for (;;) {
    // A request keeps the snapshot it started with, even if a new one arrives.
    ctx_.reset(&req_, worker_.snapshot());
    const HeadResult head = co_await read_head();
    if (head == HeadResult::kClosed) break;
    bool keep_alive = false;
    if (head == HeadResult::kOk) {
      worker_.count_request();
      keep_alive = co_await handle_request();
    }
    finish_request();
    ++requests_;
    if (!keep_alive || closing_ || worker_.draining() ||
        requests_ >= ctx_.snapshot().http->keepalive_requests) {
      break;
    }
  }
  if (!closing_) stream_.send_close_notify();
  error_code ignored;
  stream_.socket().shutdown(net::TcpSocket::shutdown_send, ignored);
  stream_.socket().close(ignored);
}

// Reads until the request head is complete. Bytes after it (body, or the
// next pipelined request) stay in `in_` for later.
net::Task<HttpSession::HeadResult> HttpSession::read_head() {
  const config::HttpSettings& s = *ctx_.snapshot().http;
  parser_.reset();
  parsed_ = 0;
  request_body_done_ = true;
  sent_upstream_ = false;
  idle_ = in_.size() == 0;
  bool started = !idle_;
  if (started) ctx_.start = core::Clock::now();  // pipelined: this request starts now
  // The whole head must arrive within client_header_timeout of its first
  // byte (one deadline, not one per read: a byte a second must not do).
  core::Clock::time_point head_deadline = core::coarse_now() + s.client_header_timeout;
  for (;;) {
    if (parsed_ < in_.size()) {
      parsed_ += parser_.feed(in_.data(), parsed_, in_.size() - parsed_);
      if (parser_.error() != http::ParseError::kNone) {
        const int status = parser_.error() == http::ParseError::kTooManyHeaders      ? 431
                           : parser_.error() == http::ParseError::kUnsupportedCoding ? 501
                                                                                     : 400;
        {
          const bool keep = prepare_reply(
              {status}, false,
              downstream_error(core::ErrorKind::kInvalid,
                               std::string("bad request: ") + parser_.error_reason()));
          co_await send_reply(keep);
        }
        co_return HeadResult::kReplied;
      }
      if (parser_.head_complete()) break;
    }
    if (!parser_.url_complete() && in_.size() > s.max_request_line_size) {
      {
        const bool keep = prepare_reply(
            {414}, false, downstream_error(core::ErrorKind::kTooLarge, "request line too long"));
        co_await send_reply(keep);
      }
      co_return HeadResult::kReplied;
    }
    if (in_.free_space() == 0 && !in_.grow(s.max_header_size)) {
      const int status = parser_.url_complete() ? 431 : 414;
      {
        const bool keep =
            prepare_reply({status}, false,
                          downstream_error(core::ErrorKind::kTooLarge, "request head too large"));
        co_await send_reply(keep);
      }
      co_return HeadResult::kReplied;
    }
    auto [ec, n] =
        co_await read_client(started ? head_deadline : core::coarse_now() + s.keepalive_timeout);
    if (!ec) in_.commit(n);
    if (ec || n == 0) {
      if (started && deadline_.expired()) {
        {
          const bool keep = prepare_reply(
              {408}, false, downstream_error(core::ErrorKind::kTimeout, "client header timeout"));
          co_await send_reply(keep);
        }
        co_return HeadResult::kReplied;
      }
      co_return HeadResult::kClosed;  // closed, reset, or idle timeout between requests
    }
    if (!started) {
      started = true;
      idle_ = false;
      ctx_.start = core::Clock::now();
      head_deadline = core::coarse_now() + s.client_header_timeout;
    }
  }
  idle_ = false;
  ctx_.request_length = parser_.head_end();
  const http::RequestError err = http::build_request(parser_, in_, 0, req_);
  if (err != http::RequestError::kNone) {
    const int status = http::reply_status(err);
    {
      const bool keep = prepare_reply(
          {status}, false, downstream_error(core::ErrorKind::kInvalid, "invalid request head"));
      co_await send_reply(keep);
    }
    co_return HeadResult::kReplied;
  }
  request_body_done_ = parser_.message_complete();
  co_return HeadResult::kOk;
}

net::Task<bool> HttpSession::handle_request() {
  // torii.client_limits request rate, before routing: 429 and close.
  if (auto refused = check_client_request(worker_.client_limits(), conn_info_.remote_ip,
                                          static_cast<unsigned>(worker_.index()))) {
    const bool keep = prepare_reply(refused->reply, false, std::move(refused->error));
    co_return co_await send_reply(keep);
  }
  const config::Snapshot& snap = ctx_.snapshot();
  const config::HttpSettings& s = *snap.http;
  if (stream_.is_tls() && !client_certificate_allows()) {
    {
      const bool keep = prepare_reply(
          {400}, false,
          downstream_error(core::ErrorKind::kInvalid, "client certificate required or not valid for this host"));
      co_return co_await send_reply(keep);
    }
  }
  router::MatchRequest mr;
  mr.path = req_.path;
  mr.host = req_.host;
  mr.host_header = req_.host_header;
  mr.method = req_.method;
  mr.remote_addr = conn_info_.remote_ip;
  mr.vars = &ctx_;
  const bool matched = snap.router && snap.router->match(mr, ctx_.match);
  if (matched) ctx_.route = &snap.routes[ctx_.match.index];
  // Plugins: global rules run even when no route matched.
  const Chains chains = Chains::of(ctx_);
  // No co_await inside a condition: GCC 12 miscompiles awaits in && / ?:.
  // Synchronous plugins (the usual case) run without a coroutine of their own.
  bool answered = false;
  if (needs_request_phases(chains)) {
    const PhasesNow now = run_request_phases_now(ctx_, chains);
    if (now == PhasesNow::kSuspend) answered = co_await finish_request_phases(ctx_);
    else answered = now == PhasesNow::kAnswered;
  }
  if (answered) co_return co_await send_plugin_exit();
  if (!matched) {
    {
      const bool keep = prepare_reply({404, "text/plain", std::string(kRouteNotFound)},
                                      request_body_done_, std::nullopt);
      co_return co_await send_reply(keep);
    }
  }
  if (ctx_.route->unusable_status != 0) {
    // A route the store holds with a reference Torii cannot resolve: it
    // answers its own requests (config::Route::unusable_status).
    {
      const bool keep = prepare_reply(
          {ctx_.route->unusable_status}, request_body_done_,
          core::Error{core::ErrorKind::kNotFound, core::ErrorSource::kConfig, false,
                      "route " + ctx_.route->id + " cannot serve: " + ctx_.route->unusable_reason});
      co_return co_await send_reply(keep);
    }
  }
  // The body limit, checked once the plugins ran: client-control's for this
  // route (lower or higher than the node's; 0 lifts it), else the node's
  // client_max_body_size. Content-Length says it up front; a chunked body
  // may already be in the buffer (the rest is counted as it streams).
  const uint64_t body_limit = ctx_.max_body_size_override.value_or(s.client_max_body_size);
  if (body_limit > 0 && ((req_.content_length && *req_.content_length > body_limit) ||
                         parser_.body_bytes() > body_limit)) {
    {
      const bool keep = prepare_reply(
          {413}, false, downstream_error(core::ErrorKind::kTooLarge, "request body too large"));
      co_return co_await send_reply(keep);
    }
  }
  co_return co_await proxy();
}

net::Task<bool> HttpSession::send_plugin_exit() {
  plugins::Exit& e = *ctx_.exit;
  http::LocalReply reply(e.status);
  if (!e.body.empty() || e.status < 400) {
    reply.content_type = e.content_type.empty() ? "text/plain" : e.content_type;
    reply.body = std::move(e.body);
    reply.empty_body = reply.body.empty();
  }
  reply.headers = std::move(e.headers);
  const bool keep = prepare_reply(reply, request_body_done_, std::nullopt);
  co_return co_await send_reply(keep);
}

bool HttpSession::prepare_reply(const http::LocalReply& reply, bool keep_alive,
                                std::optional<core::Error> error) {
  // An unread request body would be taken for the next request: close instead.
  keep_alive = keep_alive && request_body_done_ && client_may_keep_alive();
  ctx_.status = reply.status;
  if (error) ctx_.error = std::move(error);
  const config::HttpSettings& s = *ctx_.snapshot().http;
  const Chains chains = Chains::of(ctx_);
  if (chains.has(plugins::Phase::kHeaderFilter) || chains.has(plugins::Phase::kBodyFilter)) {
    // Plugins see and change local replies too (cors on a 401, request-id on
    // a 404, response-rewrite's filters on a plugin's message).
    http::LocalReply edited = reply;
    edited.headers.emplace_back("Content-Type", edited.content_type);
    ctx_.set_response_source(&edited.headers);
    run_header_filter(ctx_, chains);
    std::vector<std::pair<std::string, std::string>> headers;
    bool decided = false;
    auto type = ctx_.response_edits.value("content-type", decided);
    edited.content_type = decided ? std::string(type.value_or("")) : edited.content_type;
    edited.headers.pop_back();  // the Content-Type entry
    for (auto& h : edited.headers) {
      if (!ctx_.response_edits.drops(h.first)) headers.push_back(std::move(h));
    }
    for (const auto& e : ctx_.response_edits.edits()) {
      if (!e.adds() || http::iequals(e.name, "content-type") ||
          is_framing_header(e.name)) {
        continue;
      }
      headers.emplace_back(e.name, e.value);
    }
    edited.headers = std::move(headers);
    edited.status = ctx_.status;
    if (ctx_.replaced_body) {
      edited.body = std::move(*ctx_.replaced_body);
    } else if (chains.has(plugins::Phase::kBodyFilter)) {
      // The whole body in one last piece, as APISIX's body_filter sees a
      // core.response.exit body (the HTML page included).
      if (edited.body.empty() && !edited.empty_body) edited.body = http::html_error_page(edited.status);
      run_body_filter(ctx_, chains, edited.body, true);
      edited.empty_body = edited.body.empty();
    }
    ctx_.clear_response_source();
    scratch_ = http::serialize_local_reply(edited, s.server_header, worker_.date().now(),
                                           keep_alive, req_.method == http::Method::kHead);
  } else {
    scratch_ = http::serialize_local_reply(reply, s.server_header, worker_.date().now(),
                                           keep_alive, req_.method == http::Method::kHead);
  }
  const size_t head_len = scratch_.find("\r\n\r\n") + 4;
  ctx_.body_bytes_sent = scratch_.size() - head_len;
  return keep_alive;
}

net::Task<bool> HttpSession::send_reply(bool keep_alive) {
  const asio::const_buffer buf = asio::buffer(scratch_);
  auto [ec, n] = co_await write_client(std::span(&buf, 1));
  co_return keep_alive && !ec;
}

bool HttpSession::client_may_keep_alive() const {
  return req_.keep_alive && !closing_ && !worker_.draining() &&
         requests_ + 1 < ctx_.snapshot().http->keepalive_requests;
}

void HttpSession::finish_request() {
  const config::Snapshot& snap = ctx_.snapshot();
  count_client_timeout(static_cast<unsigned>(worker_.index()), ctx_.error, parser_.head_complete());
  if (ctx_.status != 0) run_log(ctx_, Chains::of(ctx_));
  if (ctx_.status != 0 && snap.http->access_log_enabled && snap.access_log_format) {
    if (auto* log = worker_.access_log()) {
      snap.access_log_format->render(ctx_, log->line_buffer());
      log->maybe_flush();
    }
  }
  if (ctx_.error && ctx_.error->source != core::ErrorSource::kDownstream) {
    spdlog::warn("{} {} -> {}: {}", req_.method_token, req_.target, ctx_.status,
                 ctx_.error->message);
  }
  // Drop this request's bytes; keep what the client pipelined after it.
  in_.consume_front(parsed_);
  parsed_ = 0;
  if (!pipelined_.empty()) {
    // Read past a buffered body: the start of the next request.
    in_.reserve(in_.size() + pipelined_.size());
    std::memcpy(in_.write_area().data(), pipelined_.data(), pipelined_.size());
    in_.commit(pipelined_.size());
    pipelined_.clear();
  }
  idle_ = true;
}

}  // namespace torii::proxy

namespace torii::proxy {

namespace {

constexpr size_t kBodyReadWindow = 16384;   // bytes per client read while buffering a body
constexpr size_t kBodyInitialReserve = 1 << 20;  // never trust Content-Length for more

core::Error body_too_large() {
  return downstream_error(core::ErrorKind::kTooLarge, "request body too large");
}

}  // namespace

core::Error HttpSession::body_lost(core::Error error) {
  ctx_.request_body_error = error;
  ctx_.error = error;
  return error;
}

// read_request_body(): the body bytes already read (after the head, in in_)
// are copied out, then the rest is read through a window of its own, so in_
// never reallocates under the request head's views. Bytes past the end of the
// body (a pipelined request) wait in pipelined_ until finish_request().
net::Task<core::Result<std::string_view>> HttpSession::buffer_request_body(uint64_t limit) {
  if (ctx_.request_body) {
    if (ctx_.request_body->size() > limit) co_return body_too_large();
    co_return std::string_view(*ctx_.request_body);
  }
  if (ctx_.request_body_error) co_return *ctx_.request_body_error;
  if (sent_upstream_) {
    co_return core::Error{core::ErrorKind::kInvalid, core::ErrorSource::kInternal, false,
                          "read_request_body: the request was already sent upstream"};
  }
  if (!req_.has_body() || req_.websocket_upgrade) co_return std::string_view();
  const config::HttpSettings& s = *ctx_.snapshot().http;
  const uint64_t configured = ctx_.max_body_size_override.value_or(s.client_max_body_size);
  const uint64_t cap = configured > 0 ? std::min(limit, configured) : limit;
  // Announced too large: nothing is read, the request could still stream.
  if (req_.content_length && *req_.content_length > cap) co_return body_too_large();

  std::string body;
  body.reserve(static_cast<size_t>(
      std::min<uint64_t>(req_.content_length.value_or(kBodyReadWindow), kBodyInitialReserve)));
  for (const http::Span& sp : parser_.body()) body.append(in_.data() + sp.off, sp.len);
  parser_.clear_body();
  if (body.size() > cap) co_return body_lost(body_too_large());

  if (!request_body_done_) {
    if (req_.expect_continue) {
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      const asio::const_buffer b = asio::buffer(kContinue);
      const std::span<const asio::const_buffer> bufs(&b, 1);
      auto [wec, wn] = co_await write_client(bufs);
      if (wec) {
        co_return body_lost(downstream_error(core::ErrorKind::kClosed,
                                             "client closed before sending the body"));
      }
    }
    auto window = std::make_unique_for_overwrite<char[]>(kBodyReadWindow);
    const std::span<char> area(window.get(), kBodyReadWindow);
    while (!parser_.message_complete()) {
      auto [ec, n] = co_await read_client_into(area, core::coarse_now() + s.client_body_timeout);
      if (ec || n == 0) {
        if (deadline_.expired()) {
          ctx_.status = 408;
          co_return body_lost(downstream_error(core::ErrorKind::kTimeout, "client body timeout"));
        }
        const bool closed = n == 0 || ec == asio::error::eof || ec == asio::error::connection_reset;
        co_return body_lost(downstream_error(closed ? core::ErrorKind::kClosed : core::ErrorKind::kIo,
                                             closed ? "client closed during the body"
                                                    : "reading the body: " + ec.message()));
      }
      const size_t used = parser_.feed(window.get(), 0, n);
      if (parser_.error() != http::ParseError::kNone) {
        co_return body_lost(downstream_error(
            core::ErrorKind::kInvalid, std::string("bad request body: ") + parser_.error_reason()));
      }
      for (const http::Span& sp : parser_.body()) body.append(window.get() + sp.off, sp.len);
      parser_.clear_body();
      if (body.size() > cap) co_return body_lost(body_too_large());
      if (used < n) pipelined_.append(window.get() + used, n - used);
    }
    request_body_done_ = true;
  }
  ctx_.request_body = std::move(body);
  co_return std::string_view(*ctx_.request_body);
}

}  // namespace torii::proxy
