#include "net/client_stream.h"

#include <openssl/err.h>

#include <boost/asio/ssl/error.hpp>
#include <boost/asio/write.hpp>
#include <algorithm>
#include <cerrno>
#include <vector>

#include "net/draining_read.h"
#include "net/transfer.h"

namespace torii::net {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {

// Up to one TLS record's payload: a gather this small costs one copy and
// saves records (and the syscalls that send them).
constexpr size_t kCoalesceLimit = 16 * 1024;
// Bytes read from the socket at once for OpenSSL: a full record and more.
constexpr size_t kReadBufferSize = 17 * 1024;

// SSL_get_error() reads the thread's error queue: it must be empty before
// each TLS call. Failures below always leave it empty; this only costs a
// lookup of the queue unless other code on the thread left an entry.
void clear_stale_errors() {
  if (ERR_peek_error() != 0) ERR_clear_error();
}

error_code ssl_failure() {
  const unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return asio::error::connection_reset;
  return error_code(static_cast<int>(e), asio::error::get_ssl_category());
}

}  // namespace

ClientStream::ClientStream(TcpSocket socket) : socket_(std::move(socket)) {}

ClientStream::ClientStream(TcpSocket socket, asio::ssl::context& tls)
    : socket_(std::move(socket)) {
  error_code ec;
  socket_.non_blocking(true, ec);
  ssl_ = SSL_new(tls.native_handle());
  BIO* in = BIO_new(BIO_s_mem());
  BIO* out = BIO_new_socket(socket_.native_handle(), BIO_NOCLOSE);
  if (ssl_ == nullptr || in == nullptr || out == nullptr || ec) {
    if (ssl_ != nullptr) SSL_free(ssl_);
    BIO_free(in);
    BIO_free(out);
    ssl_ = nullptr;
    socket_.close(ec);  // the handshake of a closed socket fails: no plain fallback
    return;
  }
  BIO_set_mem_eof_return(in, -1);  // empty: "retry", not end of stream
  SSL_set_bio(ssl_, in, out);      // the SSL owns both
  rbio_ = in;
  SSL_set_accept_state(ssl_);
  SSL_set_mode(ssl_, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
}

ClientStream::~ClientStream() {
  if (ssl_ != nullptr) SSL_free(ssl_);
}

Task<std::tuple<error_code>> ClientStream::handshake() {
  if (ssl_ == nullptr) {
    if (!socket_.is_open()) co_return std::tuple<error_code>{asio::error::bad_descriptor};
    co_return std::tuple<error_code>{};
  }
  co_return co_await tls_handshake();
}

ClientStream::Need ClientStream::classify(int ret, error_code& failure) {
  const int err = SSL_get_error(ssl_, ret);
  if (err == SSL_ERROR_WANT_READ) return Need::kRead;
  if (err == SSL_ERROR_WANT_WRITE) return Need::kWrite;
  if (err == SSL_ERROR_ZERO_RETURN) {
    ERR_clear_error();
    failure = asio::error::eof;  // close_notify
    return Need::kFailed;
  }
  if (err == SSL_ERROR_SYSCALL) {
    // Reads come through asio, so this is the socket refusing a write (the
    // client went away): errno says why.
    const int sys = errno;
    const unsigned long e = ERR_peek_error();
    ERR_clear_error();
    if (e == 0) {
      failure = sys != 0 ? error_code(sys, boost::system::system_category())
                         : error_code(asio::error::connection_reset);
      return Need::kFailed;
    }
  }
  failure = ssl_failure();
  return Need::kFailed;
}

std::span<char> ClientStream::read_area() {
  if (!read_buffer_) read_buffer_ = std::make_unique<char[]>(kReadBufferSize);
  return {read_buffer_.get(), kReadBufferSize};
}

error_code ClientStream::feed(error_code ec, size_t n) {
  if (ec) return ec;
  if (n == 0) return asio::error::eof;
  if (BIO_write(rbio_, read_buffer_.get(), static_cast<int>(n)) != static_cast<int>(n)) {
    return asio::error::no_memory;
  }
  return {};
}

// The loops below wait in place (co_await on the socket itself) rather than
// through a helper coroutine: one coroutine frame per operation, not two.
// Bytes for OpenSSL come through asio's reactor with a draining read
// (net/draining_read.h): after a read that drained the socket the next one
// waits for the next edge instead of trying a read that fails on every
// request.

Task<std::tuple<error_code>> ClientStream::tls_handshake() {
  for (;;) {
    clear_stale_errors();
    const int r = SSL_do_handshake(ssl_);
    if (r == 1) co_return std::tuple<error_code>{};
    error_code failure;
    const Need need = classify(r, failure);
    if (need == Need::kFailed) co_return std::tuple<error_code>{failure};
    if (need == Need::kRead) {
      const std::span<char> area = read_area();
      auto [ec, n] =
          co_await socket_.async_read_some(draining_buffer(area.data(), area.size()), kNoThrow);
      if (const error_code fed = feed(ec, n)) co_return std::tuple<error_code>{fed};
    } else {
      auto [ec] = co_await socket_.async_wait(TcpSocket::wait_write, kNoThrow);
      if (ec) co_return std::tuple<error_code>{ec};
    }
  }
}

int ClientStream::plain_fd() { return ssl_ != nullptr ? -1 : nonblocking_fd(socket_); }

Task<std::tuple<boost::system::error_code>> ClientStream::wait_writable() {
  return socket_.async_wait(TcpSocket::wait_write, kNoThrow);
}

Task<ClientStream::IoResult> ClientStream::read_some(std::span<char> into) {
  if (ssl_ == nullptr) {
    return socket_.async_read_some(draining_buffer(into.data(), into.size()), kNoThrow);
  }
  return tls_read_some(into);
}

Task<ClientStream::IoResult> ClientStream::tls_read_some(std::span<char> into) {
  if (into.empty()) co_return IoResult{error_code{}, 0};
  for (;;) {
    clear_stale_errors();
    size_t n = 0;
    const int r = SSL_read_ex(ssl_, into.data(), into.size(), &n);
    if (r == 1) co_return IoResult{error_code{}, n};
    error_code failure;
    const Need need = classify(r, failure);
    if (need == Need::kFailed) co_return IoResult{failure, 0};
    if (need == Need::kRead) {
      const std::span<char> area = read_area();
      auto [ec, got] =
          co_await socket_.async_read_some(draining_buffer(area.data(), area.size()), kNoThrow);
      if (const error_code fed = feed(ec, got)) co_return IoResult{fed, 0};
    } else {
      auto [ec] = co_await socket_.async_wait(TcpSocket::wait_write, kNoThrow);
      if (ec) co_return IoResult{ec, 0};
    }
  }
}

Task<ClientStream::IoResult> ClientStream::write(std::span<const asio::const_buffer> bufs,
                                                 const std::function<void()>* on_progress) {
  const WriteProgress now = write_now(bufs);
  if (now.finished()) co_return IoResult{now.error, now.written};
  co_return co_await write_rest(bufs, now, on_progress);
}

WriteProgress ClientStream::write_now(std::span<const asio::const_buffer> bufs) {
  if (ssl_ != nullptr) return tls_write_now(bufs);
  return send_now(socket_.native_handle(), bufs);
}

Task<ClientStream::IoResult> ClientStream::write_rest(std::span<const asio::const_buffer> bufs,
                                                      WriteProgress done,
                                                      const std::function<void()>* on_progress) {
  if (done.finished()) co_return IoResult{done.error, done.written};
  if (ssl_ != nullptr) co_return co_await tls_write_rest(bufs, done, on_progress);
  std::vector<asio::const_buffer> rest;
  remaining_after(bufs, done.written, rest);
  // asio asks the completion condition before each write with the bytes
  // written so far: more than last time is progress.
  size_t reported = 0;
  const auto condition = [on_progress, &reported](const error_code& ec, size_t n) -> size_t {
    if (on_progress != nullptr && n > reported) {
      reported = n;
      (*on_progress)();
    }
    return transfer_all_at_once(ec, n);
  };
  auto [ec, n] = co_await asio::async_write(socket_, rest, condition, kNoThrow);
  co_return IoResult{ec, done.written + n};
}

namespace {
// Small gathers go out as one record: each buffer would be a record of its
// own otherwise. The decision depends on `bufs` only, so write_now() and
// write_rest() of the same write agree on it.
bool coalesces(std::span<const asio::const_buffer> bufs, size_t total) {
  return bufs.size() > 1 && total <= kCoalesceLimit;
}
}  // namespace

ClientStream::TlsStop ClientStream::tls_write_from(std::span<const asio::const_buffer> bufs,
                                                   bool coalesced, size_t& written,
                                                   error_code& failure) {
  const size_t pieces = coalesced ? 1 : bufs.size();
  size_t piece_start = 0;  // offset of piece i in the whole write
  for (size_t i = 0; i < pieces; ++i) {
    const char* data = coalesced ? gather_.data() : static_cast<const char*>(bufs[i].data());
    const size_t size = coalesced ? gather_.size() : bufs[i].size();
    if (written >= piece_start + size) {
      piece_start += size;
      continue;
    }
    while (written < piece_start + size) {
      const size_t off = written - piece_start;
      clear_stale_errors();
      size_t n = 0;
      // After WANT_WRITE / WANT_READ, this retries with the same bytes from
      // the same offset, as OpenSSL requires.
      const int r = SSL_write_ex(ssl_, data + off, size - off, &n);
      if (r == 1) {
        written += n;
        continue;
      }
      const Need need = classify(r, failure);
      if (need == Need::kFailed) return TlsStop::kFailed;
      return need == Need::kWrite ? TlsStop::kWrite : TlsStop::kRead;
    }
    piece_start += size;
  }
  return TlsStop::kDone;
}

WriteProgress ClientStream::tls_write_now(std::span<const asio::const_buffer> bufs) {
  WriteProgress p;
  for (const auto& b : bufs) p.total += b.size();
  const bool coalesced = coalesces(bufs, p.total);
  if (coalesced) {
    gather_.clear();
    for (const auto& b : bufs) gather_.append(static_cast<const char*>(b.data()), b.size());
  }
  tls_write_from(bufs, coalesced, p.written, p.error);
  return p;
}

Task<ClientStream::IoResult> ClientStream::tls_write_rest(std::span<const asio::const_buffer> bufs,
                                                          WriteProgress done,
                                                          const std::function<void()>* on_progress) {
  const bool coalesced = coalesces(bufs, done.total);
  size_t written = done.written;
  for (;;) {
    error_code failure;
    const size_t before = written;
    const TlsStop stop = tls_write_from(bufs, coalesced, written, failure);
    if (on_progress != nullptr && written > before) (*on_progress)();
    if (stop == TlsStop::kDone) co_return IoResult{error_code{}, written};
    if (stop == TlsStop::kFailed) co_return IoResult{failure, written};
    if (stop == TlsStop::kWrite) {
      auto [ec] = co_await socket_.async_wait(TcpSocket::wait_write, kNoThrow);
      if (ec) co_return IoResult{ec, written};
    } else {
      const std::span<char> area = read_area();
      auto [ec, got] =
          co_await socket_.async_read_some(draining_buffer(area.data(), area.size()), kNoThrow);
      if (const error_code fed = feed(ec, got)) co_return IoResult{fed, written};
    }
  }
}

void ClientStream::send_close_notify() {
  if (ssl_ == nullptr || !SSL_is_init_finished(ssl_)) return;
  ERR_clear_error();
  SSL_shutdown(ssl_);  // queues and sends close_notify; the answer is not awaited
  ERR_clear_error();
}

}  // namespace torii::net
