// forward-auth's HTTP/1.1 client: sends one authorization request to the
// auth service on the calling worker's loop and returns its whole answer.
// The request coroutine awaits it; the worker keeps serving other requests
// meanwhile (nothing here blocks: name resolution runs on Asio's resolver
// thread, sockets and TLS on the loop).
//
// Connections. Plain TCP or TLS (upstream::UpstreamConn). With keep-alive,
// a connection whose exchange ended cleanly (complete response, the service
// allows keep-alive, no stray bytes) goes back to the worker's pool for its
// Service::pool_key: at most KeepAlive::pool_size idle per key, each closed
// after KeepAlive::idle_timeout idle (lua-resty-http's set_keepalive). A
// pooled connection the service closed meanwhile is skipped; when one fails
// before any byte of the answer came back, the call is retried once on a
// new connection.
//
// Deadline. Call::timeout bounds the whole exchange (connect, TLS
// handshake, sending, reading the answer); name resolution counts against
// it but cannot be interrupted.
//
// TLS. SNI carries a host name (never an IP literal). With Service::verify
// the chain is checked against OpenSSL's default trust store (honours
// SSL_CERT_FILE / SSL_CERT_DIR) and the certificate must name the host: its
// DNS name, or for an IP literal an iPAddress SAN matching it; a failed
// check fails the call before any request byte is sent.
//
// Threading: send() runs on a worker's io_context; the pool, the TLS client
// context and the deadline sweeper are per worker (an io_context service).
#pragma once

#include <boost/asio/ip/address.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"
#include "net/io.h"

namespace torii::plugins::forward_auth {

// Largest answer head and body accepted from the auth service; over them
// the call fails with kTooLarge (head: kBadResponse).
inline constexpr size_t kMaxReplyHead = 64 * 1024;
inline constexpr size_t kMaxReplyBody = 1 << 20;

// Where authorization requests go: built once per plugin instance from its
// `uri`, immutable, shared by every worker.
struct Service {
  bool tls = false;
  bool verify = true;  // ssl_verify
  std::string host;    // without brackets
  uint16_t port = 80;
  std::optional<boost::asio::ip::address> address;  // set for IP literals
  std::string sni;                                  // host names only
  std::string authority;  // the Host header: host, plus ":port" when not the scheme's default
  std::string target;     // path and query sent in the request line
  std::string pool_key;   // connections are shared between equal keys
  std::string name;       // "host:port", for logs
};

struct KeepAlive {
  bool enabled = true;
  std::chrono::milliseconds idle_timeout{60000};
  uint32_t pool_size = 5;
};

struct Call {
  std::shared_ptr<const Service> service;
  // The complete request head (request line, headers, blank line). The
  // caller sets Content-Length for `body` and "Connection: close" when
  // keep-alive is off.
  std::string head;
  std::string_view body;  // must stay valid until send() completes
  std::chrono::milliseconds timeout{3000};
  KeepAlive keepalive;
};

struct Reply {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // as received, in order
  std::string body;

  // Every value of the headers called `name` (case-insensitive), in order.
  std::vector<std::string_view> header_values(std::string_view name) const;
};

// Sends `call` and reads the answer. Errors (source kUpstream):
//   kConnectFailed  resolution, connect or TLS handshake/verification failed
//   kTimeout        Call::timeout passed
//   kReset/kClosed  the service closed or reset the connection before the
//                   answer was complete
//   kBadResponse    the answer is not valid HTTP/1.x (or is a 1xx)
//   kTooLarge       the answer's body is over kMaxReplyBody
//   kIo             sending failed
net::Task<core::Result<Reply>> send(Call call);

}  // namespace torii::plugins::forward_auth
