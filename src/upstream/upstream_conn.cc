#include "upstream/upstream_conn.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "net/draining_read.h"
#include "net/transfer.h"

namespace torii::upstream {
namespace {
using net::kNoThrow;
}

UpstreamConn::UpstreamConn(asio::io_context& io, core::DeadlineSweeper& sweeper)
    : io_(io), deadline_(sweeper, [this] {
        error_code ignored;
        socket().cancel(ignored);
        socket().close(ignored);
      }) {
  plain_.emplace(io);
}

UpstreamConn::~UpstreamConn() = default;

net::TcpSocket& UpstreamConn::socket() {
  return tls_ ? tls_->next_layer() : *plain_;
}

void UpstreamConn::cancel() {
  error_code ignored;
  socket().cancel(ignored);
}

int UpstreamConn::plain_fd() { return net::nonblocking_fd(socket()); }

net::Task<std::tuple<error_code>> UpstreamConn::wait_readable() {
  return socket().async_wait(net::TcpSocket::wait_read, kNoThrow);
}

void UpstreamConn::close() {
  error_code ignored;
  socket().close(ignored);
}

net::Task<error_code> UpstreamConn::connect(asio::ip::tcp::endpoint ep,
                                                  std::chrono::milliseconds timeout,
                                                  asio::ssl::context* tls, const std::string& sni,
                                                  bool verify) {
  if (tls) {
    plain_.reset();
    tls_ = std::make_unique<asio::ssl::stream<net::TcpSocket>>(io_, *tls);
  }
  deadline_.arm(timeout);
  auto [ec] = co_await socket().async_connect(ep, kNoThrow);
  if (ec) {
    deadline_.disarm();
    co_return ec;
  }
  socket().set_option(asio::ip::tcp::no_delay(true), ec);
  if (!tls_) net::enable_drain_hint(socket().native_handle());  // plain reads: net/draining_read.h
  if (tls_) {
    SSL* ssl = tls_->native_handle();
    if (!sni.empty()) SSL_set_tlsext_host_name(ssl, sni.c_str());
    if (verify) {
      tls_->set_verify_mode(asio::ssl::verify_peer);
      if (!sni.empty()) SSL_set1_host(ssl, sni.c_str());
    } else {
      tls_->set_verify_mode(asio::ssl::verify_none);
    }
    auto [hec] = co_await tls_->async_handshake(asio::ssl::stream_base::client, kNoThrow);
    ec = hec;
  }
  deadline_.disarm();
  co_return ec;
}

net::Task<UpstreamConn::IoResult> UpstreamConn::read_some(std::span<char> into, bool until_close) {
  if (tls_) return tls_->async_read_some(asio::buffer(into.data(), into.size()), kNoThrow);
  if (until_close) return plain_->async_read_some(asio::buffer(into.data(), into.size()), kNoThrow);
  return plain_->async_read_some(net::draining_buffer(into.data(), into.size()), kNoThrow);
}

net::Task<UpstreamConn::IoResult> UpstreamConn::write(
    std::span<const asio::const_buffer> bufs) {
  const net::WriteProgress now = write_now(bufs);
  if (now.finished()) co_return IoResult{now.error, now.written};
  co_return co_await write_rest(bufs, now);
}

net::WriteProgress UpstreamConn::write_now(std::span<const asio::const_buffer> bufs) {
  if (tls_) {
    net::WriteProgress none;
    for (const auto& b : bufs) none.total += b.size();
    return none;
  }
  return net::send_now(plain_->native_handle(), bufs);
}

net::Task<UpstreamConn::IoResult> UpstreamConn::write_rest(
    std::span<const asio::const_buffer> bufs, net::WriteProgress done) {
  if (done.finished()) co_return IoResult{done.error, done.written};
  if (tls_) co_return co_await asio::async_write(*tls_, bufs, net::transfer_all_at_once, kNoThrow);
  std::vector<asio::const_buffer> rest;
  net::remaining_after(bufs, done.written, rest);
  auto [ec, n] = co_await asio::async_write(*plain_, rest, net::transfer_all_at_once, kNoThrow);
  co_return IoResult{ec, done.written + n};
}

void UpstreamConn::ack_now() {
  const int one = 1;
  ::setsockopt(socket().native_handle(), IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
}

bool UpstreamConn::still_usable() {
  // A closed socket may have input, says may_have_input: the peek refuses it.
  if (!tls_ && core::coarse_now() - idle_since < kQuietReuse && !net::may_have_input(*plain_)) {
    return true;
  }
  return peek_usable();
}

bool UpstreamConn::peek_usable() {
  if (!socket().is_open()) return false;
  char byte;
  const ssize_t n = ::recv(socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n == 0 || n > 0) return false;  // closed, or unsolicited bytes
  return errno == EAGAIN || errno == EWOULDBLOCK;
}

}  // namespace torii::upstream
