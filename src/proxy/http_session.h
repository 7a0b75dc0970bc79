// One client connection speaking HTTP/1.1, from accept to close. The data
// path reads top to bottom in http_session.cc:
//   read_head -> build_request -> route -> proxy (upstream_exchange.cc)
//   or local reply -> access log -> keep-alive or close.
// Requests on a connection are handled one at a time, so pipelined requests
// are answered in order. Every client-visible error goes through
// prepare_reply(), which also records the error for the access log.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <deque>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <tuple>
#include <vector>

#include "net/client_stream.h"
#include "net/io.h"
#include "core/buffer.h"
#include "core/deadline.h"
#include "http/h1_parser.h"
#include "http/local_reply.h"
#include "http/request.h"
#include "proxy/request_context.h"
#include "tls/server_cert.h"
#include "upstream/upstream_conn.h"

namespace torii::proxy {

class Worker;

class HttpSession final : private RequestBodySource {
 public:
  // `tls`: the listener's TLS context for a TLS listener; null: plain HTTP.
  HttpSession(Worker& worker, net::TcpSocket socket, boost::asio::ssl::context* tls);
  ~HttpSession();
  // Serves the connection until it closes. Owns the session.
  static net::Task<void> serve(Worker& worker, net::TcpSocket socket,
                               boost::asio::ssl::context* tls);
  // Drain: closes the connection now if it is between requests.
  void close_if_idle();

 private:
  enum class HeadResult : uint8_t { kOk, kClosed, kReplied };

  net::Task<void> run();
  // TLS: the handshake, then what it tells the request path (server name,
  // client certificate). False: the connection is closed.
  net::Task<bool> accept_tls();
  // mTLS checks of a request on a TLS connection (APISIX's
  // verify_https_client): false when the request must be refused (400).
  bool client_certificate_allows() const;
  net::Task<HeadResult> read_head();
  // Handles the parsed request; returns whether the connection stays open.
  net::Task<bool> handle_request();
  // The one way torii answers by itself: prepare_reply() records the status
  // and error for the access log and serialises the reply into scratch_
  // (returns whether the connection may stay open); send_reply() writes it.
  // Two steps on purpose: arguments built inside a co_await expression are
  // temporaries living across a suspension, which GCC 12 miscompiles.
  bool prepare_reply(const http::LocalReply& reply, bool keep_alive,
                     std::optional<core::Error> error);
  // Sends the Exit a plugin answered with (ctx_.exit) as a local reply.
  net::Task<bool> send_plugin_exit();
  net::Task<bool> send_reply(bool keep_alive);
  // Client I/O, returned unstarted (no coroutine frame of their own): each
  // arms the session deadline first. The deadline stays armed after the
  // operation; that is harmless, as every client operation re-arms it.
  using IoResult = std::tuple<boost::system::error_code, size_t>;
  // Writes `bufs` within send_timeout.
  net::Task<IoResult> write_client(std::span<const boost::asio::const_buffer> bufs);
  // The second step of a write begun with stream_.write_now(): the rest of
  // `bufs`, if any, within send_timeout.
  net::Task<IoResult> write_client_rest(std::span<const boost::asio::const_buffer> bufs,
                                        net::WriteProgress done);
  // Reads more bytes into in_'s free space (the caller commits them), giving
  // up at `deadline`.
  net::Task<IoResult> read_client(core::Clock::time_point deadline);
  // Reads more bytes into `area` instead, giving up at `deadline`.
  net::Task<IoResult> read_client_into(std::span<char> area, core::Clock::time_point deadline);
  // RequestBodySource: reads the rest of the body into ctx_.request_body.
  net::Task<core::Result<std::string_view>> buffer_request_body(uint64_t limit) override;
  // Records why a body read failed after consuming bytes; returns the error.
  core::Error body_lost(core::Error error);
  void finish_request();
  // Whether the response may leave the connection open: the client asked
  // for it, we are not draining, and the per-connection quota is not spent.
  bool client_may_keep_alive() const;

  // ---- upstream_exchange.cc ----
  net::Task<bool> proxy();
  struct Attempt;
  // The parts of proxy() that never suspend, kept out of its frame:
  // A plugin's read_request_body() failed and the plugin let the request
  // go on: prepares the reply (true, its keep-alive in `keep`), or records
  // 499 when the client is gone (false: close without a reply).
  bool prepare_unreadable_body_reply(bool& keep);
  // `up` missing (503) or without nodes (502): prepares the reply and
  // returns true with its keep-alive in `keep`; false when `up` is usable.
  bool prepare_no_upstream_reply(const upstream::Upstream* up, bool& keep);
  // The request head for a try on `node`, into upstream_head_.
  void build_attempt_head(const upstream::Upstream& up, const upstream::Node& node,
                          bool trusted_peer);
  // nginx's check_broken_connection: a client that closed its side (EOF or
  // reset; pending request bytes are not a close) while the upstream had
  // not answered ends the exchange: the upstream read is cancelled and the
  // request logged 499. Otherwise the check runs again at the next sweep.
  void check_client_gone();
  // Every try failed: the 502/503/504 reply with X-APISIX-Upstream-Status.
  bool prepare_upstream_failure(const std::string& last_status);
  // $upstream_status: the failed tries' statuses, then `status`.
  void record_upstream_status(const std::string& earlier, int status);
  // A new connection to `node` (resolving its host when not an IP); null,
  // with attempt.error set, when that fails.
  net::Task<std::unique_ptr<upstream::UpstreamConn>> connect_node(const upstream::Upstream& up,
                                                                  const upstream::Node& node,
                                                                  Attempt& attempt);
  // A try's request goes out in two steps, so the common case runs no
  // coroutine: send_request_now() writes the head and the body bytes
  // already read as far as the socket takes them at once. It returns false,
  // with attempt.error set, on failure, and sets `more` when
  // send_request_rest() must finish the job (a full socket buffer, TLS, a
  // body still to stream from the client).
  bool send_request_now(upstream::UpstreamConn& conn, const std::string& head, Attempt& attempt,
                        bool& more);
  net::Task<bool> send_request_rest(upstream::UpstreamConn& conn, Attempt& attempt);
  net::Task<bool> read_response_head(upstream::UpstreamConn& conn, Attempt& attempt);
  net::Task<bool> forward_response(upstream::UpstreamConn& conn, Attempt& attempt);
  // forward_response()'s head, out of its coroutine frame (see splice_body()).
  struct ResponseFraming;
  void build_response_head(upstream::UpstreamConn& conn, const ResponseFraming& f);
  // A Content-Length body can move from the upstream to the client with
  // splice(2), never entering user space (proxy/splice_body.cc): both
  // connections plain TCP, the body passed on unchanged, and enough of it
  // left after the first read.
  bool may_splice_response(upstream::UpstreamConn& conn) const;
  // The connection-level half of that, known before the response head.
  bool splice_possible(const upstream::UpstreamConn& conn) const;
  // How splice_body() ended.
  enum class SpliceEnd : uint8_t {
    kDone,      // the whole body reached the client; the parser saw it complete
    kCopyRest,  // splice(2) cannot move this body (no pipe, not supported here,
                // or readiness it cannot use): what went is counted in the
                // parser, the pipe is empty, and the copying loop reads the rest
    kFailed,    // attempt.error says which side failed; the connections are unusable
  };
  // Moves the rest of `conn`'s Content-Length body to the client, adding the
  // bytes the client got to `sent`, and tells the parser about the bytes it
  // took. Waits with the route's read timeout for the upstream and the send
  // timeout for the client. A connection with bytes past the body is marked
  // not to be pooled (attempt.keep_upstream). A coroutine of its own: asio
  // recycles coroutine frames only up to 1020 bytes, and forward_response()'s
  // is close to that.
  net::Task<SpliceEnd> splice_body(upstream::UpstreamConn& conn, Attempt& attempt, uint64_t& sent);
  net::Task<void> tunnel(upstream::UpstreamConn& conn, std::chrono::milliseconds idle);
  net::Task<void> pump_to_upstream(upstream::UpstreamConn& conn,
                                                std::chrono::milliseconds idle);
  net::Task<void> pump_to_client(upstream::UpstreamConn& conn,
                                              std::chrono::milliseconds idle);
  // Appends `spans` of `base` as body bytes, chunk-encoded when `chunked`.
  void add_body_buffers(const char* base, const std::vector<http::Span>& spans, bool chunked,
                        std::vector<boost::asio::const_buffer>& out);
  std::string hash_key_for(const upstream::Upstream& u) const;

  Worker& worker_;
  net::ClientStream stream_;
  // TLS: the certificate the handshake selected (mTLS settings).
  std::shared_ptr<const tls::ServerCert> server_cert_;
  bool client_cert_verified_ = false;  // TLS: a client certificate passed verification
  core::Deadline deadline_;
  // While the upstream's response head is awaited: every sweep, whether the
  // client went away (check_client_gone); set by read_response_head.
  core::Deadline client_watch_;
  upstream::UpstreamConn* watched_upstream_ = nullptr;
  bool client_gone_ = false;
  // Called by the stream when a client write makes progress (write_client).
  const std::function<void()> rearm_send_timeout_{
      [this] { deadline_.arm(ctx_.snapshot().http->send_timeout); }};
  core::InputBuffer in_;
  http::H1Parser parser_{http::H1Parser::Kind::kRequest};
  http::Request req_;
  ConnectionInfo conn_info_;
  RequestContext ctx_{conn_info_};
  size_t parsed_ = 0;      // bytes of in_ the parser has consumed
  uint32_t requests_ = 0;  // served on this connection
  bool idle_ = true;       // between requests (drain may close)
  bool closing_ = false;
  bool request_body_done_ = true;  // the client's body was fully read
  bool sent_upstream_ = false;     // proxy() began: the body may be streaming
  // The window a streamed request body is read through (allocated on the
  // first streamed body of the connection).
  std::unique_ptr<char[]> body_window_;
  std::string pipelined_;  // bytes read past a buffered body: the next request's
  std::string scratch_;      // response head under construction
  std::string chunk_lines_;  // chunk-size lines of the current write batch
  std::string upstream_head_;  // request head sent upstream (capacity reused)
  std::vector<boost::asio::const_buffer> bufs_;
  net::WriteProgress request_sent_;  // send_request_now()'s progress on bufs_
  std::deque<std::string> filtered_body_;  // body_filter output awaiting a write
};

}  // namespace torii::proxy
