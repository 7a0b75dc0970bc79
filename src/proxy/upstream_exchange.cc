// The upstream half of the data path: pick a node, get a pooled connection
// or connect, send the request (streaming the client's body), read the
// response head, retry where it is safe, then stream the response back.
//
// Retry rules (APISIX/nginx proxy_next_upstream "error timeout"): a failed
// connect is always retried on another node (nothing was sent); a failure
// after sending is retried only for idempotent methods whose body torii
// still holds; once response bytes reached the client nothing is retried.
// An idempotent request on a reused keep-alive connection that the upstream
// had closed is retried once on a fresh connection without counting as a
// try, and so is any request of which no byte could be written; every
// pooled connection is checked before use (UpstreamConn::still_usable).
#include <deque>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <charconv>

#include "http/head_writer.h"
#include "net/resolve.h"
#include "proxy/http_session.h"
#include "proxy/plugin_runner.h"
#include "proxy/upstream_attempt.h"
#include "proxy/upstream_request.h"
#include "proxy/worker.h"

namespace torii::proxy {

namespace asio = boost::asio;
using boost::system::error_code;
using core::ErrorKind;
using core::ErrorSource;

namespace {

using net::kNoThrow;
constexpr size_t kBodyWindow = 16384;      // bytes read per client body read
constexpr size_t kMinResponseWindow = 16384;  // least free space for an upstream body read
// The first read of a response whose body may be spliced (splice_body.cc).
constexpr size_t kSpliceFirstRead = 16384;

core::Error upstream_error(ErrorKind kind, bool retryable, std::string message) {
  return core::Error{kind, ErrorSource::kUpstream, retryable, std::move(message)};
}

void append_hex(std::string& out, size_t n) {
  char buf[20];
  auto [p, ec] = std::to_chars(buf, buf + sizeof(buf), n, 16);
  out.append(buf, p);
}

void append_status_code(std::string& out, int status) {
  char digits[12];
  const auto r = std::to_chars(digits, digits + sizeof(digits), status);
  out.append(digits, r.ptr);
}

// "502" or "502, 504": the statuses of the tries so far ($upstream_status).
void append_status(std::string& statuses, int status) {
  if (!statuses.empty()) statuses.append(", ");
  append_status_code(statuses, status);
}

int status_for(const core::Error& e) {
  if (e.kind == ErrorKind::kTimeout) return 504;
  if (e.kind == ErrorKind::kNoUpstream && e.source == ErrorSource::kConfig) return 503;
  return 502;
}

}  // namespace

std::string HttpSession::hash_key_for(const upstream::Upstream& u) const {
  if (u.type != upstream::BalancerType::kChash) return {};
  std::optional<std::string_view> v;
  switch (u.hash_on) {
    case upstream::HashOn::kVars:
    case upstream::HashOn::kHeader:
    case upstream::HashOn::kCookie:
      v = ctx_.get(u.hash_key);
      break;
    case upstream::HashOn::kConsumer:
      // No consumer identified: falls back to remote_addr, as APISIX.
      if (ctx_.consumer_ref) return ctx_.consumer_ref->username;
      break;
    case upstream::HashOn::kVarsCombinations: {
      // As APISIX's chash: when none of the variables resolves, the key is
      // the client address, not the literal text around them (which would
      // send every such request to one node).
      std::string key;
      size_t resolved = 0;
      for (size_t i = 0; i < u.hash_combo.size(); ++i) {
        key.append(u.hash_literals[i]);
        if (auto part = ctx_.get(u.hash_combo[i])) {
          key.append(*part);
          ++resolved;
        }
      }
      key.append(u.hash_literals.back());
      if ((resolved > 0 || u.hash_combo.empty()) && !key.empty()) return key;
      break;
    }
  }
  if (v && !v->empty()) return std::string(*v);
  return conn_info_.remote_addr;
}

void HttpSession::add_body_buffers(const char* base, const std::vector<http::Span>& spans,
                                   bool chunked, std::vector<asio::const_buffer>& out) {
  if (!chunked) {
    for (const http::Span& s : spans) out.emplace_back(base + s.off, s.len);
    return;
  }
  // Chunk-size lines live in chunk_lines_, reserved up front so views stay valid.
  chunk_lines_.clear();
  chunk_lines_.reserve(spans.size() * 20 + 8);
  for (const http::Span& s : spans) {
    if (s.len == 0) continue;
    const size_t at = chunk_lines_.size();
    append_hex(chunk_lines_, s.len);
    chunk_lines_.append("\r\n");
    out.emplace_back(chunk_lines_.data() + at, chunk_lines_.size() - at);
    out.emplace_back(base + s.off, s.len);
    out.emplace_back("\r\n", 2);
  }
}

bool HttpSession::prepare_unreadable_body_reply(bool& keep) {
  const core::Error err = *ctx_.request_body_error;
  if (err.kind == ErrorKind::kClosed || err.kind == ErrorKind::kIo) {
    if (ctx_.status == 0) ctx_.status = 499;
    return false;
  }
  const int status = err.kind == ErrorKind::kTooLarge ? 413
                     : err.kind == ErrorKind::kTimeout ? 408
                                                       : 400;
  keep = prepare_reply({status}, false, err);
  return true;
}

bool HttpSession::prepare_no_upstream_reply(const upstream::Upstream* up, bool& keep) {
  if (!up) {
    keep = prepare_reply({503}, true,
                         core::Error{ErrorKind::kNoUpstream, ErrorSource::kConfig, false,
                                     "missing upstream configuration in Route or Service"});
    return true;
  }
  if (up->nodes.empty()) {
    keep = prepare_reply({502}, true,
                         upstream_error(ErrorKind::kNoUpstream, false, "upstream has no nodes"));
    return true;
  }
  return false;
}

void HttpSession::build_attempt_head(const upstream::Upstream& up, const upstream::Node& node,
                                     bool trusted_peer) {
  // Assigned from a view: the buffer's capacity is reused, no copy per request.
  // An HTTP/1.0 request without Host gets the node's, never an empty Host.
  const std::string_view upstream_host =
      ctx_.upstream_host_override                                              ? *ctx_.upstream_host_override
      : up.pass_host == upstream::PassHost::kRewrite                           ? up.upstream_host
      : up.pass_host == upstream::PassHost::kPass && !req_.host_header.empty() ? req_.host_header
                                                                               : node.host_header;
  ctx_.upstream_host.assign(upstream_host);
  ctx_.upstream_uri.assign(ctx_.upstream_uri_override ? std::string_view(*ctx_.upstream_uri_override)
                                                      : req_.target);
  UpstreamHeadParams head_params{ctx_.upstream_host,
                                 ctx_.upstream_uri,
                                 ctx_.remote_addr(),
                                 conn_info_.scheme,
                                 conn_info_.server_port,
                                 req_.websocket_upgrade,
                                 trusted_peer,
                                 ctx_.upstream_method_override,
                                 ctx_.request_edits.empty() ? nullptr : &ctx_.request_edits};
  if (ctx_.request_body) head_params.body_length = ctx_.request_body->size();
  upstream_head_.clear();
  build_upstream_request_head(req_, head_params, upstream_head_);
}

net::Task<std::unique_ptr<upstream::UpstreamConn>> HttpSession::connect_node(
    const upstream::Upstream& up, const upstream::Node& node, Attempt& attempt) {
  auto conn = std::make_unique<upstream::UpstreamConn>(worker_.io(), worker_.sweeper());
  asio::ip::tcp::endpoint ep;
  if (node.address) {
    ep = asio::ip::tcp::endpoint(*node.address, node.spec.port);
  } else {
    // The lookup counts against the connect timeout (net/resolve.h): a name
    // server that does not answer must not hold the request for
    // getaddrinfo's own retries.
    const net::Resolved r =
        co_await net::resolve_before(worker_.io().get_executor(), node.spec.host,
                                     std::to_string(node.spec.port),
                                     core::Clock::now() + attempt.timeouts.connect);
    if (r.timed_out) {
      attempt.error = upstream_error(ErrorKind::kTimeout, true,
                                     "resolving " + node.spec.host + " timed out");
      co_return nullptr;
    }
    if (r.error || r.endpoints.empty()) {
      attempt.error = upstream_error(ErrorKind::kConnectFailed, true,
                                     "cannot resolve " + node.spec.host + ": " + r.error.message());
      co_return nullptr;
    }
    ep = r.endpoints.front();
  }
  const bool https = up.scheme == upstream::Scheme::kHttps;
  std::string sni;
  if (https) {
    sni = up.pass_host == upstream::PassHost::kRewrite ? up.upstream_host : node.spec.host;
    boost::system::error_code aec;
    asio::ip::make_address(sni, aec);
    if (!aec) sni.clear();  // no SNI for IP literals
  }
  asio::ssl::context* tls = nullptr;
  if (https) tls = up.tls_client ? up.tls_client.get() : &worker_.tls_client_context();
  const error_code cec = co_await conn->connect(ep, attempt.timeouts.connect, tls, sni, up.tls_verify);
  if (cec) {
    const bool timeout = conn->timed_out();
    attempt.error =
        upstream_error(timeout ? ErrorKind::kTimeout : ErrorKind::kConnectFailed, true,
                       std::string(timeout ? "connect timed out" : "connect failed") + " to " +
                           node.name + ": " + cec.message());
    co_return nullptr;
  }
  co_return conn;
}

bool HttpSession::prepare_upstream_failure(const std::string& last_status) {
  ctx_.upstream_status = last_status;
  core::Error err = ctx_.error.value_or(
      upstream_error(ErrorKind::kNoUpstream, false, "no upstream node could be picked"));
  http::LocalReply reply{status_for(err)};
  if (!last_status.empty()) reply.headers.emplace_back("X-APISIX-Upstream-Status", last_status);
  // A body we did not finish reading cannot be skipped safely: prepare_reply closes.
  return prepare_reply(std::move(reply), true, std::move(err));
}

// proxy() is a coroutine: every local of it lives in its frame for the
// whole request, and asio recycles frames of up to 1020 bytes only (larger
// ones cost a malloc and free per request). So the work that needs no
// suspension lives in the plain functions above, and this frame stays small.
net::Task<bool> HttpSession::proxy() {
  const config::Route& route = *ctx_.route;
  if (ctx_.request_body_error) {
    bool keep = false;
    if (!prepare_unreadable_body_reply(keep)) co_return false;
    co_return co_await send_reply(keep);
  }
  sent_upstream_ = true;
  {
    const Chains chains = Chains::of(ctx_);
    bool answered = false;
    if (chains.has(plugins::Phase::kBeforeProxy)) answered = co_await run_before_proxy(ctx_, chains);
    if (answered) co_return co_await send_plugin_exit();
  }
  // traffic-split may have picked another upstream; either is kept alive here.
  const std::shared_ptr<const upstream::Upstream> up =
      ctx_.upstream_override ? ctx_.upstream_override : route.upstream;
  {
    bool keep = false;
    if (prepare_no_upstream_reply(up.get(), keep)) co_return co_await send_reply(keep);
  }
  if (req_.websocket_upgrade && !route.enable_websocket) req_.websocket_upgrade = false;

  upstream::Balancer& balancer = worker_.balancer(up);
  const bool trusted_peer = ctx_.snapshot().trusted_addresses &&
                            ctx_.snapshot().trusted_addresses->contains(conn_info_.remote_ip);
  const std::string hash_key = hash_key_for(*up);
  upstream::ExcludeSet exclude(up->nodes.size());
  // `checks`: nodes found unhealthy are not picked (all are, when none is
  // healthy).
  if (up->health) up->health->exclude_unhealthy(exclude);
  int tries_left = up->effective_retries() + 1;
  const auto retry_deadline = up->retry_timeout.count() > 0 ? ctx_.start + up->retry_timeout
                                                            : core::Clock::time_point::max();
  // The body can be sent again only while torii still holds all of it.
  const bool replayable = request_body_done_;
  const bool may_resend = replayable && http::is_idempotent(req_.method);
  Attempt attempt;
  attempt.up = up.get();
  attempt.timeouts = route.timeout.value_or(up->timeout);
  std::string last_status;

  while (tries_left-- > 0) {
    const int idx = balancer.pick(hash_key, exclude);
    if (idx < 0) break;
    const upstream::Node& node = up->nodes[static_cast<size_t>(idx)];
    attempt.node = &node;
    attempt.sent_any = attempt.received_any = false;
    attempt.error.reset();
    if (!ctx_.upstream_addr.empty()) ctx_.upstream_addr.append(", ");
    ctx_.upstream_addr.append(node.name);
    build_attempt_head(*up, node, trusted_peer);

    const auto attempt_start = core::Clock::now();
    bool fresh_retry_left = true;
    std::unique_ptr<upstream::UpstreamConn> conn;
    bool ok = false;
    for (;;) {
      // Every reuse checks the pooled connection first (still_usable): bytes
      // an upstream sent while the connection sat idle would otherwise be
      // read as this request's response, another client's data. A closed
      // one is dropped the same way.
      conn = worker_.pool().acquire(&node, true);
      const bool reused = conn != nullptr;
      if (!conn) {
        conn = co_await connect_node(*up, node, attempt);
        if (!conn) {
          // A node that cannot be reached is a failed try for the balancer
          // too: ewma would otherwise keep picking a node it has no sample of.
          balancer.on_start(idx);
          balancer.on_finish(idx, core::Clock::now() - attempt_start, true);
          break;
        }
      }
      conn->parser().reset();
      conn->parser().expect_no_body(req_.method == http::Method::kHead);
      balancer.on_start(idx);
      bool more = false;
      ok = send_request_now(*conn, upstream_head_, attempt, more);
      if (ok && more) ok = co_await send_request_rest(*conn, attempt);
      if (ok) ok = co_await read_response_head(*conn, attempt);
      if (ok) break;
      balancer.on_finish(idx, core::Clock::now() - attempt_start, true);
      // A keep-alive connection the upstream closed meanwhile: try a fresh
      // one, when the request may be sent again or none of it was sent.
      if (reused && fresh_retry_left && !attempt.received_any &&
          (may_resend || !attempt.sent_any) && attempt.error &&
          attempt.error->kind != ErrorKind::kTimeout &&
          attempt.error->source == ErrorSource::kUpstream) {
        fresh_retry_left = false;
        attempt.sent_any = false;
        attempt.error.reset();  // the fresh connection's outcome is what counts
        continue;
      }
      break;
    }

    if (ok) {
      record_upstream_status(last_status, conn->parser().status_code());
      if (up->health) {
        up->health->report_passive_status(static_cast<size_t>(idx), conn->parser().status_code());
      }
      const bool keep = co_await forward_response(*conn, attempt);
      const auto elapsed = core::Clock::now() - attempt_start;
      balancer.on_finish(idx, elapsed, attempt.error.has_value());
      // Summed over the tries: time spent on a node that failed is upstream
      // time, not the gateway's.
      ctx_.add_upstream_time(elapsed);
      // An upstream that sent more than its response is out of step: the
      // extra bytes would be read as the next request's response.
      if (!attempt.error && attempt.keep_upstream && conn->parser().message_complete() &&
          !conn->parser().bytes_after_message() && conn->parser().keep_alive() &&
          !req_.websocket_upgrade) {
        ++conn->requests;
        worker_.pool().release(&node, up, std::move(conn));
      }
      co_return keep;
    }

    // This attempt failed before any response byte reached the client.
    ctx_.add_upstream_time(core::Clock::now() - attempt_start);
    if (!attempt.error) {
      attempt.error = upstream_error(ErrorKind::kIo, false, "upstream exchange failed");
    }
    if (attempt.error->source == ErrorSource::kDownstream) {
      // The client went away or sent a bad body: nothing to answer upstream-wise.
      ctx_.error = attempt.error;
      if (ctx_.status == 0) ctx_.status = 499;
      co_return false;
    }
    append_status(last_status, status_for(*attempt.error));
    ctx_.error = attempt.error;
    if (up->health) {
      up->health->report_passive_failure(static_cast<size_t>(idx),
                                         attempt.error->kind == ErrorKind::kTimeout);
    }
    exclude.add(static_cast<size_t>(idx));
    const bool may_retry = attempt.error->retryable &&
                           (!attempt.sent_any || (replayable && http::is_idempotent(req_.method)));
    if (!may_retry || core::Clock::now() >= retry_deadline) break;
  }

  const bool keep = prepare_upstream_failure(last_status);
  co_return co_await send_reply(keep);
}

void HttpSession::record_upstream_status(const std::string& earlier, int status) {
  if (!earlier.empty()) ctx_.upstream_status.assign(earlier).append(", ");
  append_status_code(ctx_.upstream_status, status);
}

bool HttpSession::send_request_now(upstream::UpstreamConn& conn, const std::string& head,
                                   Attempt& attempt, bool& more) {
  bufs_.clear();
  bufs_.emplace_back(head.data(), head.size());
  const bool chunked = req_.chunked && !req_.websocket_upgrade;
  if (ctx_.request_body) {
    // A plugin read the body whole (read_request_body): those bytes, as is.
    if (!ctx_.request_body->empty()) bufs_.emplace_back(asio::buffer(*ctx_.request_body));
  } else {
    add_body_buffers(in_.data(), parser_.body(), chunked, bufs_);
    if (chunked && request_body_done_) bufs_.emplace_back("0\r\n\r\n", 5);
  }
  // Bytes after an upgrade request stay here until the upstream answers 101
  // (forward_response): without it they are the client's next request, to
  // be routed like any other, never tunnel data the upstream would parse.
  request_sent_ = conn.write_now(bufs_);
  // As nginx's request_sent: once a byte went, the upstream may act on it.
  if (request_sent_.written > 0) attempt.sent_any = true;
  if (request_sent_.error) {
    attempt.error = upstream_error(ErrorKind::kReset, true,
                                   "sending request to " + attempt.node->name + ": " +
                                       request_sent_.error.message());
    return false;
  }
  more = !request_sent_.finished() || !request_body_done_;
  return true;
}

// Finishes what send_request_now() began: the rest of the head and buffered
// body, then streams the rest of the client's body. Returns false with
// attempt.error set on failure.
net::Task<bool> HttpSession::send_request_rest(upstream::UpstreamConn& conn, Attempt& attempt) {
  const config::HttpSettings& s = *ctx_.snapshot().http;
  const bool chunked = req_.chunked && !req_.websocket_upgrade;
  error_code ec;
  size_t written = 0;
  if (!request_sent_.finished()) {
    conn.arm(attempt.timeouts.send);
    std::tie(ec, written) = co_await conn.write_rest(bufs_, request_sent_);
    conn.disarm();
    if (written > 0) attempt.sent_any = true;
    if (ec) {
      attempt.error =
          upstream_error(conn.timed_out() ? ErrorKind::kTimeout : ErrorKind::kReset, true,
                         "sending request to " + attempt.node->name + ": " + ec.message());
      co_return false;
    }
  }
  attempt.sent_any = true;
  if (request_body_done_) co_return true;

  // Stream the rest of the body: read from the client, write to the upstream.
  if (req_.expect_continue) {
    static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    const asio::const_buffer b = asio::buffer(kContinue);
    if (auto [cec, cn] = co_await write_client(std::span(&b, 1)); cec) {
      attempt.error = core::Error{ErrorKind::kReset, ErrorSource::kDownstream, false,
                                  "client closed before sending the body"};
      co_return false;
    }
  }
  // The body is read through its own window, never by growing in_: the
  // request head (req_'s views, the access log's $request) lives there.
  const size_t body_base = parser_.head_end();
  in_.truncate(body_base);
  parsed_ = body_base;
  parser_.clear_body();
  if (!body_window_) body_window_ = std::make_unique_for_overwrite<char[]>(kBodyWindow);
  char* const window = body_window_.get();
  const std::span<char> area(window, kBodyWindow);
  while (!parser_.message_complete()) {
    auto [rec, n] = co_await read_client_into(area, core::coarse_now() + s.client_body_timeout);
    if (rec || n == 0) {
      const bool timeout = deadline_.expired();
      attempt.error =
          core::Error{timeout ? ErrorKind::kTimeout : ErrorKind::kReset, ErrorSource::kDownstream,
                      false, timeout ? "client body timeout" : "client closed during the body"};
      if (timeout) {
        conn.close();
        ctx_.status = 408;
      }
      co_return false;
    }
    const size_t used = parser_.feed(window, 0, n);
    if (parser_.error() != http::ParseError::kNone) {
      conn.close();
      attempt.error = core::Error{ErrorKind::kInvalid, ErrorSource::kDownstream, false,
                                  std::string("bad request body: ") + parser_.error_reason()};
      // Tell the client why; the connection closes (framing is unknown).
      request_body_done_ = false;
      {
        const bool keep = prepare_reply({400}, false, attempt.error);
        co_await send_reply(keep);
      }
      co_return false;
    }
    const uint64_t body_limit = ctx_.max_body_size_override.value_or(s.client_max_body_size);
    if (body_limit > 0 && parser_.body_bytes() > body_limit) {
      conn.close();
      attempt.error = core::Error{ErrorKind::kTooLarge, ErrorSource::kDownstream, false,
                                  "request body too large"};
      request_body_done_ = false;
      {
        const bool keep = prepare_reply({413}, false, attempt.error);
        co_await send_reply(keep);
      }
      co_return false;
    }
    bufs_.clear();
    add_body_buffers(window, parser_.body(), chunked, bufs_);
    if (chunked && parser_.message_complete()) bufs_.emplace_back("0\r\n\r\n", 5);
    parser_.clear_body();
    // Bytes past the body: the client's next request.
    if (used < n) pipelined_.append(window + used, n - used);
    if (!bufs_.empty()) {
      conn.arm(attempt.timeouts.send);
      std::tie(ec, written) = co_await conn.write(bufs_);
      conn.disarm();
      if (ec) {
        attempt.error =
            upstream_error(conn.timed_out() ? ErrorKind::kTimeout : ErrorKind::kReset, false,
                           "sending body to " + attempt.node->name + ": " + ec.message());
        co_return false;
      }
    }
  }
  request_body_done_ = true;
  co_return true;
}

void HttpSession::check_client_gone() {
  if (watched_upstream_ == nullptr) return;
  char byte;
  const ssize_t n = ::recv(stream_.socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
    client_gone_ = true;
    watched_upstream_->cancel();
    return;
  }
  client_watch_.arm(core::kSweepInterval);
}

net::Task<bool> HttpSession::read_response_head(upstream::UpstreamConn& conn,
                                                      Attempt& attempt) {
  core::InputBuffer& in = conn.in();
  http::H1Parser& p = conn.parser();
  in.truncate(0);
  size_t parsed = 0;
  // Watched from the first sweep after kSweepInterval: a quick answer costs
  // no check at all.
  struct ClientWatch {
    HttpSession& s;
    ~ClientWatch() {
      s.client_watch_.disarm();
      s.watched_upstream_ = nullptr;
    }
  } watch{*this};
  client_gone_ = false;
  watched_upstream_ = &conn;
  client_watch_.arm(core::kSweepInterval);
  // When the body may be spliced, the first read takes the head and only
  // the start of the body: the rest stays in the socket for splice(2).
  const bool short_first_read = splice_possible(conn) && req_.method != http::Method::kHead &&
                                !Chains::of(ctx_).has(plugins::Phase::kBodyFilter);
  for (;;) {
    if (in.free_space() == 0 && !in.grow(65536)) {
      attempt.error = upstream_error(ErrorKind::kBadResponse, false,
                                     "response head from " + attempt.node->name + " too large");
      co_return false;
    }
    auto area = in.write_area();
    if (short_first_read && in.size() == 0 && area.size() > kSpliceFirstRead) {
      area = area.first(kSpliceFirstRead);
    }
    conn.arm(attempt.timeouts.read);
    auto [ec, n] = co_await conn.read_some(area);
    conn.disarm();
    if (client_gone_) {
      attempt.error = core::Error{ErrorKind::kClosed, ErrorSource::kDownstream, false,
                                  "client closed the connection while waiting for " +
                                      attempt.node->name};
      co_return false;
    }
    if (ec || n == 0) {
      const bool timeout = conn.timed_out();
      if (!ec && n == 0) ec = asio::error::eof;
      attempt.error = upstream_error(
          timeout ? ErrorKind::kTimeout : ErrorKind::kReset, true,
          std::string(timeout ? "timed out reading response head from " : "upstream closed: ") +
              attempt.node->name + " " + ec.message());
      co_return false;
    }
    attempt.received_any = true;
    in.commit(n);
    parsed += p.feed(in.data(), parsed, in.size() - parsed);
    if (p.error() != http::ParseError::kNone) {
      attempt.error =
          upstream_error(ErrorKind::kBadResponse, false,
                         "invalid response from " + attempt.node->name + ": " + p.error_reason());
      co_return false;
    }
    if (p.head_complete()) {
      co_return true;
    }
  }
}

struct HttpSession::ResponseFraming {
  int status;
  bool upgrade, replace_body, filter_body, bodyless, head_request, chunk_out, keep_alive, client_11;
};

// The response head for the client: the upstream's head as it came, plus
// what torii adds or edits (header_filter's edits, Date, Server,
// X-APISIX-Upstream-Status) and the framing `f` decided. Into scratch_.
void HttpSession::build_response_head(upstream::UpstreamConn& conn, const ResponseFraming& f) {
  core::InputBuffer& in = conn.in();
  http::H1Parser& p = conn.parser();
  const config::HttpSettings& s = *ctx_.snapshot().http;
  std::string& h = scratch_;
  h.clear();
  // The upstream's head as it came, plus what torii adds or edits.
  size_t estimate = p.head_end() + 160 + s.server_header.size() + ctx_.upstream_status.size();
  for (const auto& e : ctx_.response_edits.edits()) estimate += e.name.size() + e.value.size() + 4;
  http::HeadWriter w(h, estimate);
  w.put("HTTP/1.1 ").put_uint(static_cast<uint64_t>(f.status)).put(" ");
  w.put(http::reason_phrase(f.status)).put("\r\n");
  bool has_date = false;
  for (const http::HeaderSpan& hs : p.headers()) {
    const std::string_view name = in.view(hs.name.off, hs.name.len);
    if (is_hop_by_hop_response_header(name) && !(f.upgrade && http::iequals(name, "upgrade"))) {
      continue;
    }
    if (!ctx_.response_edits.empty() && ctx_.response_edits.drops(name)) continue;
    if (!has_date && http::iequals(name, "date")) has_date = true;
    w.field(name, in.view(hs.value.off, hs.value.len));
  }
  for (const auto& e : ctx_.response_edits.edits()) {
    if (!e.adds() || is_framing_header(e.name)) continue;
    if (http::iequals(e.name, "date")) has_date = true;
    w.field(e.name, e.value);
  }
  if (!has_date) w.field("Date", worker_.date().now());
  w.field("Server", s.server_header);
  if (f.status >= 500 || s.show_upstream_status_in_response_header) {
    w.field("X-APISIX-Upstream-Status", ctx_.upstream_status);
  }
  if (f.upgrade) {
    w.put("Connection: upgrade\r\n");
  } else {
    if (f.replace_body && (!f.bodyless || f.head_request)) {
      w.put("Content-Length: ").put_uint(ctx_.replaced_body->size()).put("\r\n");
    } else if (p.content_length() && !f.filter_body && (!f.bodyless || f.head_request)) {
      w.put("Content-Length: ").put_uint(*p.content_length()).put("\r\n");
    } else if (f.chunk_out) {
      w.put("Transfer-Encoding: chunked\r\n");
    }
    if (!f.keep_alive)
      w.put("Connection: close\r\n");
    else if (!f.client_11)
      w.put("Connection: keep-alive\r\n");
  }
  w.put("\r\n");
  w.finish();
}

// Streams the response to the client. Returns whether the client connection
// may stay open. After the head is written, failures close the connection:
// the client has seen a status and cannot be told otherwise.
//
// Mind the size of this coroutine's frame (GCC keeps every local in it):
// asio recycles frames of up to 1020 bytes only (thread_info_base: 255
// chunks of 4), and a larger one costs a malloc and a free per response,
// ~900 instructions (bench/instructions). It is 848 bytes; work that needs
// locals of its own goes to a function (build_response_head, splice_body).
net::Task<bool> HttpSession::forward_response(upstream::UpstreamConn& conn,
                                                    Attempt& attempt) {
  core::InputBuffer& in = conn.in();
  http::H1Parser& p = conn.parser();
  ctx_.status = p.status_code();
  const Chains chains = Chains::of(ctx_);
  if (chains.has(plugins::Phase::kHeaderFilter)) {
    ctx_.set_response_source(in.data(), &p.headers());
    run_header_filter(ctx_, chains);
    // The head's bytes move when the buffer grows for the body, and the
    // connection goes back to the pool: response headers are readable in
    // header_filter only (plugin.h).
    ctx_.clear_response_source();
  }
  const int status = ctx_.status;
  // Plugins that rewrite the body: a replacement is sent whole (the
  // upstream's body is read and dropped); body filters get each piece and
  // the result is re-framed (chunked, or until close for HTTP/1.0).
  const bool replace_body = ctx_.replaced_body.has_value() && p.status_code() != 101;
  const bool filter_body = !replace_body && chains.has(plugins::Phase::kBodyFilter);
  const bool head_request = req_.method == http::Method::kHead;
  const bool upgrade = status == 101 && req_.websocket_upgrade;
  const bool bodyless =
      head_request || status == 204 || status == 304 || (status >= 100 && status < 200);
  const bool client_11 = req_.version_minor >= 1;
  // Re-frame: keep a known length, otherwise chunk for HTTP/1.1 clients or
  // delimit by close for HTTP/1.0 ones.
  const bool chunk_out =
      !bodyless && !replace_body && (filter_body || !p.content_length()) && client_11;
  bool keep_alive = client_may_keep_alive() && request_body_done_ && !upgrade &&
                    (bodyless || replace_body || (p.content_length() && !filter_body) || client_11);

  build_response_head(conn, ResponseFraming{status, upgrade, replace_body, filter_body, bodyless,
                                            head_request, chunk_out, keep_alive, client_11});
  std::string& h = scratch_;
  const size_t head_size = h.size();

  bufs_.clear();
  bufs_.emplace_back(h.data(), head_size);
  uint64_t body_sent = 0;
  if (replace_body && !bodyless) {
    bufs_.emplace_back(ctx_.replaced_body->data(), ctx_.replaced_body->size());
    body_sent = ctx_.replaced_body->size();
  }
  // Filtered pieces live here until written (one write batch at a time).
  std::deque<std::string>& filtered = filtered_body_;
  filtered.clear();
  auto emit_filtered = [&](std::string piece) {
    if (piece.empty()) return;
    body_sent += piece.size();
    if (chunk_out) {
      char size_line[24];
      const int n = std::snprintf(size_line, sizeof(size_line), "%zx\r\n", piece.size());
      filtered.emplace_back(size_line, static_cast<size_t>(n));
      bufs_.emplace_back(filtered.back().data(), filtered.back().size());
      piece.append("\r\n");
    }
    filtered.push_back(std::move(piece));
    bufs_.emplace_back(filtered.back().data(), filtered.back().size());
  };
  auto add_body = [&] {
    if (replace_body || bodyless) {
      p.clear_body();  // read and dropped
      return;
    }
    if (filter_body) {
      for (const http::Span& sp : p.body()) {
        std::string piece(in.data() + sp.off, sp.len);
        run_body_filter(ctx_, chains, piece, false);
        emit_filtered(std::move(piece));
      }
      p.clear_body();
      return;
    }
    for (const http::Span& sp : p.body()) body_sent += sp.len;
    add_body_buffers(in.data(), p.body(), chunk_out, bufs_);
    p.clear_body();
  };
  auto finish_filtered = [&] {
    if (!filter_body) return;
    std::string tail;
    run_body_filter(ctx_, chains, tail, true);
    emit_filtered(std::move(tail));
  };
  add_body();
  if (upgrade && p.head_end() < in.size()) {
    bufs_.emplace_back(in.data() + p.head_end(), in.size() - p.head_end());
  }
  bool done = p.message_complete() || upgrade;
  if (done && !upgrade) finish_filtered();
  if (done && chunk_out) bufs_.emplace_back("0\r\n\r\n", 5);
  // Most responses go out whole right here (net/send_now.h).
  const net::WriteProgress sent = stream_.write_now(bufs_);
  error_code ec = sent.error;
  size_t written = sent.written;
  if (!sent.finished()) std::tie(ec, written) = co_await write_client_rest(bufs_, sent);
  if (ec) {
    attempt.error = core::Error{ErrorKind::kReset, ErrorSource::kDownstream, false,
                                "client closed during the response"};
    ctx_.body_bytes_sent = body_sent;
    co_return false;
  }
  if (upgrade) {
    // The upstream agreed (101): what the client sent after its upgrade
    // request belongs to the tunnel now.
    if (parsed_ < in_.size()) {
      const asio::const_buffer early(in_.data() + parsed_, in_.size() - parsed_);
      parsed_ = in_.size();
      const auto [wec, wn] = co_await conn.write(std::span(&early, 1));
      if (wec) co_return false;
    }
    co_await tunnel(conn, attempt.timeouts.read);
    co_return false;
  }

  const size_t body_base = p.head_end();
  bool failed = false;
  if (!done && !bodyless && !replace_body && !filter_body && may_splice_response(conn)) {
    const SpliceEnd spliced = co_await splice_body(conn, attempt, body_sent);
    done = spliced == SpliceEnd::kDone;
    failed = spliced == SpliceEnd::kFailed;
    if (failed) keep_alive = false;
  }
  if (!done && !failed) {
    // More of the body is coming: ACK what arrived now. Otherwise the
    // kernel may delay the ACK up to 40 ms, and an upstream whose last
    // segment waits for it (Nagle, TCP_CORK after sendfile) stalls with it.
    // (A spliced body needs none: splice() takes the rest of the window at
    // once, which ACKs it; an early ACK there cost 6 us per 64 KiB response
    // with 2 workers in bench/run.)
    conn.ack_now();
  }
  while (!done && !failed) {
    // Body bytes already forwarded are dropped; the rest of the buffer
    // (most of kReadBufferSize) is the read window.
    in.truncate(body_base);
    in.reserve(body_base + kMinResponseWindow);
    auto area = in.write_area();
    conn.arm(attempt.timeouts.read);
    auto [rec, n] = co_await conn.read_some(area, p.body_until_close());
    conn.disarm();
    if (rec || n == 0) {
      if (p.body_until_close() && !conn.timed_out() &&
          (rec == asio::error::eof || (!rec && n == 0)) && p.finish()) {
        done = true;
        bufs_.clear();
        filtered.clear();
        finish_filtered();
        if (chunk_out) bufs_.emplace_back("0\r\n\r\n", 5);
        if (!bufs_.empty()) co_await write_client(bufs_);
        break;
      }
      attempt.error = upstream_error(
          conn.timed_out() ? ErrorKind::kTimeout : ErrorKind::kReset, false,
          "upstream " + attempt.node->name + " failed mid-response: " + rec.message());
      keep_alive = false;
      break;
    }
    in.commit(n);
    p.feed(in.data(), body_base, n);
    if (p.error() != http::ParseError::kNone) {
      attempt.error = upstream_error(ErrorKind::kBadResponse, false,
                                     "invalid response body from " + attempt.node->name);
      keep_alive = false;
      break;
    }
    bufs_.clear();
    filtered.clear();
    add_body();
    done = p.message_complete();
    if (done) finish_filtered();
    if (done && chunk_out) bufs_.emplace_back("0\r\n\r\n", 5);
    if (bufs_.empty()) continue;
    std::tie(ec, written) = co_await write_client(bufs_);
    if (ec) {
      attempt.error = core::Error{ErrorKind::kReset, ErrorSource::kDownstream, false,
                                  "client closed during the response"};
      keep_alive = false;
      break;
    }
  }
  ctx_.body_bytes_sent = body_sent;
  if (attempt.error && attempt.error->source == ErrorSource::kUpstream) ctx_.error = attempt.error;
  co_return keep_alive&& done;
}

// WebSocket (and any 101) tunnel: bytes both ways until either side closes
// or nothing moves for the upstream read timeout (nginx proxy_read_timeout).
// Every transfer pushes the session deadline; when it fires it cancels the
// client socket, the client pump ends and closes the upstream, which ends
// the other pump.
net::Task<void> HttpSession::tunnel(upstream::UpstreamConn& conn,
                                          std::chrono::milliseconds idle) {
  using namespace asio::experimental::awaitable_operators;
  deadline_.arm(idle);
  co_await (pump_to_upstream(conn, idle) && pump_to_client(conn, idle));
  deadline_.disarm();
}

net::Task<void> HttpSession::pump_to_upstream(upstream::UpstreamConn& conn,
                                                    std::chrono::milliseconds idle) {
  std::vector<char> buf(16384);
  for (;;) {
    auto [ec, n] = co_await stream_.read_some(buf);
    if (ec || n == 0) break;
    deadline_.arm(idle);
    const asio::const_buffer b(buf.data(), n);
    if (auto [wec, wn] = co_await conn.write(std::span(&b, 1)); wec) break;
  }
  conn.close();
}

net::Task<void> HttpSession::pump_to_client(upstream::UpstreamConn& conn,
                                                  std::chrono::milliseconds idle) {
  std::vector<char> buf(16384);
  for (;;) {
    auto [ec, n] = co_await conn.read_some(std::span(buf.data(), buf.size()));
    if (ec || n == 0) break;
    deadline_.arm(idle);
    const asio::const_buffer b(buf.data(), n);
    auto [wec, wn] = co_await stream_.write(std::span(&b, 1));
    if (wec) break;
  }
  error_code ignored;
  stream_.socket().shutdown(net::TcpSocket::shutdown_both, ignored);
}

}  // namespace torii::proxy
