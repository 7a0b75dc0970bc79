// A minimal HTTP/1.1 client connection for the config store's HTTP backends
// (the etcd v3 JSON gateway): plain TCP, one request at a time, POST with a
// body, responses framed by Content-Length, chunked encoding or close, read
// with http::H1Parser. No TLS, no redirects, no pipelining: the etcd gateway
// needs none of them.
//
// Two ways to read a response: request() collects the whole body (unary
// calls, keep-alive reuse), start() + read_body() hand body bytes over as
// they arrive (etcd's watch is an endless chunked stream).
//
// Every operation takes an absolute deadline; an expired deadline cancels
// the socket and the operation returns kTimeout. Errors are values (never
// exceptions): kConnectFailed for connect(), kTimeout, kReset / kClosed /
// kIo / kBadResponse / kTooLarge otherwise; all from ErrorSource::kUpstream.
// A connection that failed is dead: the caller drops it.
//
// Threading: one executor; cancel() may be called from any coroutine on it
// while another one is suspended in an operation (which then completes with
// an error promptly).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"
#include "http/h1_parser.h"
#include "net/io.h"

namespace torii::store {

using Clock = std::chrono::steady_clock;

// Where an http:// URL points.
struct HttpTarget {
  std::string host;  // name or address, without brackets
  uint16_t port = 80;
  std::string authority;  // "host:port", the Host header
};

// Parses "http://host[:port][/]". Anything else (https://, a path, user
// info) is a config error naming `url`.
core::Result<HttpTarget> parse_http_url(std::string_view url);

struct HttpRequest {
  std::string path;  // "/v3/kv/range"
  std::string body;  // sent with Content-Type: application/json
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers
};

struct HttpReply {
  int status = 0;
  std::string body;
};

// One piece of a streamed body; `last` when the response ended with it.
struct BodyPiece {
  std::string data;
  bool last = false;
};

class HttpConnection {
 public:
  static constexpr size_t kMaxHead = 64 * 1024;

  HttpConnection(net::Executor ex, HttpTarget target);
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  const HttpTarget& target() const { return target_; }

  // Resolves and connects (TCP_NODELAY, TCP keepalive). kConnectFailed when
  // refused or unreachable, kTimeout when `deadline` passed first.
  net::Task<core::Status> connect(Clock::time_point deadline);

  // Sends `req` as a POST and reads the whole response, up to `max_body`
  // bytes of body (kTooLarge beyond).
  net::Task<core::Result<HttpReply>> request(const HttpRequest& req, Clock::time_point deadline,
                                             size_t max_body);

  // Sends `req` as a POST and reads the response head; returns its status.
  // The body follows through read_body().
  net::Task<core::Result<int>> start(const HttpRequest& req, Clock::time_point deadline);

  // The next body bytes of the response start() began: waits until at least
  // one byte arrived, the response ended (`last`), or `deadline` passed
  // (kTimeout). A stream cut short is kReset / kClosed.
  net::Task<core::Result<BodyPiece>> read_body(Clock::time_point deadline);

  // Closes the socket: a pending operation completes with an error at once.
  void cancel();

  // True when the last response was complete, the server allows keep-alive,
  // and the idle socket shows neither EOF nor unsolicited bytes.
  bool reusable();
  bool connected() const { return connected_; }
  // Bytes received for the current request; 0 means the server answered
  // nothing (a stale kept-alive connection, safe to retry elsewhere).
  uint64_t received() const { return received_; }

 private:
  net::Task<core::Status> send(const HttpRequest& req, Clock::time_point deadline);
  // Reads more bytes into buf_; an error when none can be read.
  net::Task<core::Status> fill(Clock::time_point deadline);
  core::Status parse_available();
  core::Error fail(core::ErrorKind kind, std::string message);

  HttpTarget target_;
  net::TcpSocket socket_;
  http::H1Parser parser_{http::H1Parser::Kind::kResponse};
  std::string buf_;  // bytes read; [0, parsed_) went through the parser
  size_t parsed_ = 0;
  uint64_t received_ = 0;
  bool connected_ = false;
  bool in_response_ = false;  // start() done, message not complete yet
  bool broken_ = false;
  bool peer_closed_ = false;
};

}  // namespace torii::store
