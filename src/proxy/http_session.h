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
#include <memory>
#include <span>
#include <string>
#include <tuple>
#include <vector>

#include "core/buffer.h"
#include "core/deadline.h"
#include "http/h1_parser.h"
#include "http/local_reply.h"
#include "http/request.h"
#include "proxy/request_context.h"
#include "upstream/upstream_conn.h"

namespace torii::proxy {

class Worker;

class HttpSession {
 public:
  HttpSession(Worker& worker, boost::asio::ip::tcp::socket socket);
  ~HttpSession();
  // Serves the connection until it closes. Owns the session.
  static boost::asio::awaitable<void> serve(Worker& worker, boost::asio::ip::tcp::socket socket);
  // Drain: closes the connection now if it is between requests.
  void close_if_idle();

 private:
  enum class HeadResult : uint8_t { kOk, kClosed, kReplied };

  boost::asio::awaitable<void> run();
  boost::asio::awaitable<HeadResult> read_head();
  // Handles the parsed request; returns whether the connection stays open.
  boost::asio::awaitable<bool> handle_request();
  // The one way torii answers by itself: prepare_reply() records the status
  // and error for the access log and serialises the reply into scratch_
  // (returns whether the connection may stay open); send_reply() writes it.
  // Two steps on purpose: arguments built inside a co_await expression are
  // temporaries living across a suspension, which GCC 12 miscompiles.
  bool prepare_reply(const http::LocalReply& reply, bool keep_alive,
                     std::optional<core::Error> error);
  boost::asio::awaitable<bool> send_reply(bool keep_alive);
  // Client I/O, returned unstarted (no coroutine frame of their own): each
  // arms the session deadline first. The deadline stays armed after the
  // operation; that is harmless, as every client operation re-arms it.
  using IoResult = std::tuple<boost::system::error_code, size_t>;
  // Writes `bufs` within send_timeout.
  boost::asio::awaitable<IoResult> write_client(std::span<const boost::asio::const_buffer> bufs);
  // Reads more bytes into in_'s free space (the caller commits them), giving
  // up at `deadline`.
  boost::asio::awaitable<IoResult> read_client(core::Clock::time_point deadline);
  void finish_request();
  // Whether the response may leave the connection open: the client asked
  // for it, we are not draining, and the per-connection quota is not spent.
  bool client_may_keep_alive() const;

  // ---- upstream_exchange.cc ----
  boost::asio::awaitable<bool> proxy();
  struct Attempt;
  boost::asio::awaitable<bool> send_request(upstream::UpstreamConn& conn, const std::string& head,
                                            Attempt& attempt);
  boost::asio::awaitable<bool> read_response_head(upstream::UpstreamConn& conn, Attempt& attempt);
  boost::asio::awaitable<bool> forward_response(upstream::UpstreamConn& conn, Attempt& attempt);
  boost::asio::awaitable<void> tunnel(upstream::UpstreamConn& conn, std::chrono::milliseconds idle);
  boost::asio::awaitable<void> pump_to_upstream(upstream::UpstreamConn& conn,
                                                std::chrono::milliseconds idle);
  boost::asio::awaitable<void> pump_to_client(upstream::UpstreamConn& conn,
                                              std::chrono::milliseconds idle);
  // Appends `spans` of `base` as body bytes, chunk-encoded when `chunked`.
  void add_body_buffers(const char* base, const std::vector<http::Span>& spans, bool chunked,
                        std::vector<boost::asio::const_buffer>& out);
  std::string hash_key_for(const upstream::Upstream& u) const;

  Worker& worker_;
  boost::asio::ip::tcp::socket socket_;
  core::Deadline deadline_;
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
  std::string scratch_;      // response head under construction
  std::string chunk_lines_;  // chunk-size lines of the current write batch
  std::string upstream_head_;  // request head sent upstream (capacity reused)
  std::vector<boost::asio::const_buffer> bufs_;
};

}  // namespace torii::proxy
