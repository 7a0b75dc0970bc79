// One connection to an upstream node, plain TCP or TLS, with its response
// buffer and parser. Owned by one request at a time, or idle in the pool.
// Operations report errors as values; a Deadline cancels the socket when
// the current operation's timeout passes (timed_out() tells them apart).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <tuple>

#include "net/io.h"
#include "net/send_now.h"
#include "core/buffer.h"
#include "core/deadline.h"
#include "http/h1_parser.h"

namespace torii::upstream {

namespace asio = boost::asio;
using boost::system::error_code;

// Bytes a connection reads at once. Large on purpose: the kernel ACKs a
// received segment at once only when a read frees enough of the receive
// window; a loopback segment is 64 KiB, and reading it in smaller pieces
// left the upstream waiting on a 40 ms delayed ACK (p99 40 ms with
// nginx+sendfile upstreams in bench/run). The buffer lives with the
// connection, pooled or not, so it is allocated once per connection.
inline constexpr size_t kReadBufferSize = 96 * 1024;

class UpstreamConn {
 public:
  UpstreamConn(asio::io_context& io, core::DeadlineSweeper& sweeper);
  ~UpstreamConn();

  // Connects (and handshakes when `tls` is set) within `timeout`.
  net::Task<error_code> connect(asio::ip::tcp::endpoint ep, std::chrono::milliseconds timeout,
                                      asio::ssl::context* tls, const std::string& sni,
                                      bool verify);
  // The I/O operations, returned unstarted (they begin when awaited): no
  // coroutine frame of their own on the per-request path. `into` and
  // `bufs` must stay valid until the await completes.
  using IoResult = std::tuple<error_code, size_t>;
  // Plain TCP reads are draining reads (net/draining_read.h) unless
  // `until_close`: for a body that ends with the connection, asio's own read,
  // which tries again at once and so sees a reset that came with the last
  // bytes without waiting for timeout.read.
  net::Task<IoResult> read_some(std::span<char> into, bool until_close = false);
  net::Task<IoResult> write(std::span<const asio::const_buffer> bufs);
  // write() in two steps, as net::ClientStream has them: what the socket
  // takes now (nothing over TLS), then the remainder, waiting for room.
  net::WriteProgress write_now(std::span<const asio::const_buffer> bufs);
  net::Task<IoResult> write_rest(std::span<const asio::const_buffer> bufs, net::WriteProgress done);

  // For moving the body with splice(2) (net/splice_pipe.h), plain TCP only:
  // the socket's descriptor, non-blocking (-1 once closed), and a wait until
  // it has bytes to read (or failed, or was cancelled by the deadline).
  bool is_tls() const { return tls_ != nullptr; }
  int plain_fd();
  net::Task<std::tuple<error_code>> wait_readable();

  void arm(std::chrono::milliseconds timeout) { deadline_.arm(timeout); }
  void disarm() { deadline_.disarm(); }
  bool timed_out() const { return deadline_.expired(); }
  // Cancels the pending operation, which completes with operation_aborted
  // (the caller knows why: timed_out() stays false).
  void cancel();
  void close();

  // False when the peer closed the connection or sent bytes nobody asked
  // for: one non-blocking recv(MSG_PEEK).
  bool peek_usable();

  // For a connection taken from the pool to send a request on: as
  // peek_usable(), without the system call when the connection was pooled
  // less than kQuietReuse ago and the reactor has seen nothing arrive since
  // its last response was read to the socket's end (net/draining_read.h).
  // An end or bytes the kernel got after the reactor last handled its
  // events are not seen then. An upstream closes an idle connection after
  // its own keep-alive timeout, seconds in practice: such a connection was
  // pooled longer than kQuietReuse and is always peeked. What is left (a
  // close at any other moment, on a connection reused within kQuietReuse,
  // in the same event-loop turn) is nginx's keepalive race: a request that
  // may be resent, or of which no byte was sent, goes on a fresh
  // connection; others fail.
  static constexpr std::chrono::milliseconds kQuietReuse{100};
  bool still_usable();

  // Sends any pending ACK now (TCP_QUICKACK): for responses that continue
  // past the first read. One setsockopt; see the call site for why.
  void ack_now();

  // The TLS session after connect() (null for plain TCP), for checks the
  // caller adds on the peer certificate (forward-auth's IP-address match).
  SSL* tls_handle() { return tls_ ? tls_->native_handle() : nullptr; }

  core::InputBuffer& in() { return in_; }
  http::H1Parser& parser() { return parser_; }
  uint32_t requests = 0;  // served on this connection
  core::Clock::time_point idle_since;

 private:
  net::TcpSocket& socket();

  asio::io_context& io_;
  std::optional<net::TcpSocket> plain_;
  std::unique_ptr<asio::ssl::stream<net::TcpSocket>> tls_;
  core::Deadline deadline_;
  core::InputBuffer in_{kReadBufferSize};
  http::H1Parser parser_{http::H1Parser::Kind::kResponse};
};

}  // namespace torii::upstream
