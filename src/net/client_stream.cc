#include "net/client_stream.h"

#include <boost/asio/write.hpp>
#include <cstring>

#include "net/transfer.h"

namespace torii::net {

namespace asio = boost::asio;

namespace {
// Up to one TLS record's payload: a gather this small costs one copy and
// saves records (and the syscalls that send them).
constexpr size_t kCoalesceLimit = 16 * 1024;
}  // namespace

ClientStream::ClientStream(TcpSocket socket) : plain_(std::move(socket)) {}

ClientStream::ClientStream(TcpSocket socket, asio::ssl::context& tls)
    : plain_(socket.get_executor()),
      tls_(std::make_unique<asio::ssl::stream<TcpSocket>>(std::move(socket), tls)) {}

Task<std::tuple<boost::system::error_code>> ClientStream::handshake() {
  if (!tls_) {
    co_return std::tuple<boost::system::error_code>{};
  }
  co_return co_await tls_->async_handshake(asio::ssl::stream_base::server, kNoThrow);
}

Task<void> ClientStream::shutdown() {
  if (!tls_) co_return;
  co_await tls_->async_shutdown(kNoThrow);
  // Sent (or tried): not a broken session, whatever the client answered.
  SSL_set_shutdown(tls_->native_handle(), SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
}

Task<ClientStream::IoResult> ClientStream::read_some(std::span<char> into) {
  if (tls_) return tls_->async_read_some(asio::buffer(into.data(), into.size()), kNoThrow);
  return plain_.async_read_some(asio::buffer(into.data(), into.size()), kNoThrow);
}

Task<ClientStream::IoResult> ClientStream::write(std::span<const asio::const_buffer> bufs) {
  if (!tls_) return asio::async_write(plain_, bufs, transfer_all_at_once, kNoThrow);
  if (bufs.size() > 1) {
    size_t total = 0;
    for (const auto& b : bufs) total += b.size();
    if (total <= kCoalesceLimit) {
      gather_.clear();
      for (const auto& b : bufs) gather_.append(static_cast<const char*>(b.data()), b.size());
      return asio::async_write(*tls_, asio::buffer(gather_), kNoThrow);
    }
  }
  return asio::async_write(*tls_, bufs, kNoThrow);
}

}  // namespace torii::net
