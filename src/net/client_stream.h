// A client connection of the data plane: plain TCP, or TLS over it (the
// TLS listener). The session reads and writes through this one type and
// never asks which it is, except for what TLS adds (the handshake, the
// negotiated server name, the client certificate, close_notify).
//
// TLS writes go from OpenSSL straight to the socket's descriptor (one
// write() per record, as nginx does). Reads, plain or TLS, are draining
// reads (net/draining_read.h): after a read that drained the socket, a
// keep-alive connection waits for the next request with no failed read; TLS
// bytes are handed to OpenSSL through a memory BIO (one small copy).
// I/O is returned unstarted; buffers must stay valid until the await
// completes. Cancelling socket() aborts a pending operation, TLS or not
// (the session's deadline does that).
//
// Errors: a TLS failure is an error_code in asio's SSL category; the
// client closing the connection (with or without close_notify) reads as
// asio::error::eof, as on plain TCP.
#pragma once

#include <openssl/ssl.h>

#include <boost/asio/ssl/context.hpp>
#include <memory>
#include <functional>
#include <span>
#include <string>
#include <tuple>

#include "net/io.h"
#include "net/send_now.h"

namespace torii::net {

class ClientStream {
 public:
  using IoResult = std::tuple<boost::system::error_code, size_t>;

  // A plain TCP connection.
  explicit ClientStream(TcpSocket socket);
  // A TLS connection on `tls` (the listener's server context); the
  // handshake has not happened yet.
  ClientStream(TcpSocket socket, boost::asio::ssl::context& tls);
  ~ClientStream();
  ClientStream(const ClientStream&) = delete;
  ClientStream& operator=(const ClientStream&) = delete;

  bool is_tls() const { return ssl_ != nullptr; }
  TcpSocket& socket() { return socket_; }
  // The TLS connection (null for plain TCP).
  SSL* ssl() { return ssl_; }

  // The TLS handshake as a server; a plain stream completes at once.
  Task<std::tuple<boost::system::error_code>> handshake();
  Task<IoResult> read_some(std::span<char> into);
  // Writes every byte of `bufs`. Over TLS, small gathers are copied into
  // one record first: each buffer would be a record of its own otherwise.
  // `on_progress` (may be null; must outlive the write) is called each time
  // a wait for room ends with more bytes taken: a timeout between
  // successive writes (nginx's send_timeout) re-arms there.
  Task<IoResult> write(std::span<const boost::asio::const_buffer> bufs,
                       const std::function<void()>* on_progress = nullptr);
  // write() in two steps, for the request path: write_now() writes what the
  // socket takes at once, without waiting (net/send_now.h; over TLS, the
  // records OpenSSL can send without waiting); when that did not finish,
  // write_rest() writes the remainder of the same `bufs`, waiting for room.
  // IoResult counts all bytes written.
  WriteProgress write_now(std::span<const boost::asio::const_buffer> bufs);
  Task<IoResult> write_rest(std::span<const boost::asio::const_buffer> bufs, WriteProgress done,
                            const std::function<void()>* on_progress = nullptr);
  // For moving a body with splice(2) (net/splice_pipe.h), plain TCP only:
  // the socket's descriptor, non-blocking (-1 once closed), and a wait until
  // it takes more bytes (or failed, or was cancelled).
  int plain_fd();
  Task<std::tuple<boost::system::error_code>> wait_writable();
  // TLS: sends close_notify if the socket takes it now (never waits, never
  // reads the client's), so the client can tell a complete response from a
  // cut one and the session stays resumable. Plain: nothing.
  void send_close_notify();

 private:
  Task<std::tuple<boost::system::error_code>> tls_handshake();
  Task<IoResult> tls_read_some(std::span<char> into);
  // Why tls_write_from() stopped.
  enum class TlsStop : uint8_t { kDone, kRead, kWrite, kFailed };
  // SSL_write of `bufs` (or of gather_ when `coalesced`) from byte
  // `written` on, until everything went or OpenSSL needs the socket;
  // `written` advances, `failure` is set with kFailed.
  TlsStop tls_write_from(std::span<const boost::asio::const_buffer> bufs, bool coalesced,
                         size_t& written, boost::system::error_code& failure);
  WriteProgress tls_write_now(std::span<const boost::asio::const_buffer> bufs);
  Task<IoResult> tls_write_rest(std::span<const boost::asio::const_buffer> bufs, WriteProgress done,
                                const std::function<void()>* on_progress);
  // What an OpenSSL call that failed with `ret` needs: bytes from the
  // client, room to write, or nothing more (kFailed, with `failure` set:
  // eof for a client that closed, with or without close_notify).
  enum class Need : uint8_t { kRead, kWrite, kFailed };
  Need classify(int ret, boost::system::error_code& failure);
  // Where the socket's bytes for OpenSSL are read to (allocated once).
  std::span<char> read_area();
  // Hands `n` bytes of read_area() to OpenSSL; the read's error, or eof
  // for an empty read, otherwise.
  boost::system::error_code feed(boost::system::error_code ec, size_t n);

  TcpSocket socket_;
  SSL* ssl_ = nullptr;   // owned; writes to socket_'s descriptor
  BIO* rbio_ = nullptr;  // owned by ssl_: what OpenSSL reads, fed from read_buffer_
  std::unique_ptr<char[]> read_buffer_;  // allocated on the first read
  std::string gather_;  // TLS: the coalesced write (from write_now until the write is done)
};

}  // namespace torii::net
