// A client connection of the data plane: plain TCP, or TLS over it (the
// TLS listener). The session reads and writes through this one type and
// never asks which it is, except for what TLS adds (the handshake, the
// negotiated server name, the client certificate).
//
// I/O is returned unstarted (no coroutine frame of its own); buffers must
// stay valid until the await completes. Cancelling socket() aborts any
// pending operation, TLS or not (the session's deadline does that).
#pragma once

#include <openssl/ssl.h>

#include <boost/asio/ssl/stream.hpp>
#include <memory>
#include <span>
#include <string>
#include <tuple>

#include "net/io.h"

namespace torii::net {

class ClientStream {
 public:
  using IoResult = std::tuple<boost::system::error_code, size_t>;

  // A plain TCP connection.
  explicit ClientStream(TcpSocket socket);
  // A TLS connection on `tls` (the listener's server context); the
  // handshake has not happened yet.
  ClientStream(TcpSocket socket, boost::asio::ssl::context& tls);

  bool is_tls() const { return tls_ != nullptr; }
  TcpSocket& socket() { return tls_ ? tls_->next_layer() : plain_; }
  // The TLS connection (null for plain TCP).
  SSL* ssl() { return tls_ ? tls_->native_handle() : nullptr; }

  // The TLS handshake as a server; a plain stream completes at once.
  Task<std::tuple<boost::system::error_code>> handshake();
  Task<IoResult> read_some(std::span<char> into);
  // TLS: sends close_notify and waits for the client's (cancel socket() to
  // stop waiting). The session stays resumable either way. Plain: nothing.
  Task<void> shutdown();
  // Writes every byte of `bufs`. Over TLS, small gathers are copied into
  // one record first: OpenSSL writes one record per buffer otherwise.
  Task<IoResult> write(std::span<const boost::asio::const_buffer> bufs);

 private:
  TcpSocket plain_;  // unused (moved from) when TLS
  std::unique_ptr<boost::asio::ssl::stream<TcpSocket>> tls_;
  std::string gather_;  // TLS: the coalesced write
};

}  // namespace torii::net
