#include "store/http_client.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <boost/asio/this_coro.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>
#include <charconv>
#include <optional>
#include <tuple>

#include "net/before.h"
#include "net/resolve.h"
#include "net/transfer.h"

namespace torii::store {
namespace {

namespace asio = boost::asio;
using core::Error;
using core::ErrorKind;
using core::ErrorSource;
using net::before;
using net::kNoThrow;

constexpr size_t kReadChunk = 16 * 1024;


ErrorKind kind_of(const boost::system::error_code& ec) {
  if (ec == asio::error::eof) return ErrorKind::kClosed;
  if (ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
      ec == asio::error::connection_aborted) {
    return ErrorKind::kReset;
  }
  if (ec == asio::error::operation_aborted) return ErrorKind::kClosed;
  return ErrorKind::kIo;
}

}  // namespace

core::Result<HttpTarget> parse_http_url(std::string_view url) {
  auto bad = [&](std::string_view why) {
    return core::config_error("etcd host \"" + std::string(url) + "\": " + std::string(why));
  };
  constexpr std::string_view kHttp = "http://";
  constexpr std::string_view kHttps = "https://";
  auto starts_with_nocase = [&](std::string_view prefix) {
    if (url.size() < prefix.size()) return false;
    for (size_t i = 0; i < prefix.size(); ++i) {
      char c = url[i];
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      if (c != prefix[i]) return false;
    }
    return true;
  };
  if (starts_with_nocase(kHttps)) {
    return bad("https is not supported (TLS to etcd is out of scope); use http://");
  }
  if (!starts_with_nocase(kHttp)) return bad("must start with http://");
  std::string_view rest = url.substr(kHttp.size());
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  if (rest.find_first_of("/?#@ ") != std::string_view::npos) {
    return bad("only http://host[:port] is allowed (no path, query or user info)");
  }
  HttpTarget t;
  std::string_view port_text;
  if (!rest.empty() && rest.front() == '[') {
    const size_t close = rest.find(']');
    if (close == std::string_view::npos) return bad("unterminated IPv6 address");
    t.host = std::string(rest.substr(1, close - 1));
    std::string_view after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return bad("garbage after the IPv6 address");
      port_text = after.substr(1);
    }
  } else {
    const size_t colon = rest.find(':');
    t.host = std::string(rest.substr(0, colon));
    if (colon != std::string_view::npos) port_text = rest.substr(colon + 1);
  }
  if (t.host.empty()) return bad("no host");
  if (!port_text.empty() || rest.find(':') != std::string_view::npos) {
    unsigned port = 0;
    auto [p, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || p != port_text.data() + port_text.size() || port == 0 ||
        port > 65535) {
      return bad("invalid port");
    }
    t.port = static_cast<uint16_t>(port);
  }
  const bool v6 = t.host.find(':') != std::string::npos;
  t.authority = (v6 ? "[" + t.host + "]" : t.host) + ":" + std::to_string(t.port);
  return t;
}

HttpConnection::HttpConnection(net::Executor ex, HttpTarget target)
    : target_(std::move(target)), socket_(ex) {}

Error HttpConnection::fail(ErrorKind kind, std::string message) {
  broken_ = true;
  in_response_ = false;
  boost::system::error_code ignored;
  socket_.close(ignored);
  return Error{kind, ErrorSource::kUpstream, true, target_.authority + ": " + std::move(message)};
}

void HttpConnection::cancel() {
  broken_ = true;
  boost::system::error_code ignored;
  socket_.close(ignored);
}

net::Task<core::Status> HttpConnection::connect(Clock::time_point deadline) {
  std::vector<asio::ip::tcp::endpoint> endpoints;
  boost::system::error_code ec;
  const auto addr = asio::ip::make_address(target_.host, ec);
  if (!ec) {
    endpoints.emplace_back(addr, target_.port);
  } else {
    // Bounded for real (net/resolve.h): racing the lookup with before()
    // would still wait for it to end.
    net::Resolved r = co_await net::resolve_before(co_await asio::this_coro::executor, target_.host,
                                                   std::to_string(target_.port), deadline);
    if (r.timed_out) co_return fail(ErrorKind::kTimeout, "resolving the host timed out");
    if (r.error) co_return fail(ErrorKind::kConnectFailed, "cannot resolve: " + r.error.message());
    endpoints = std::move(r.endpoints);
  }
  std::string last = "no address";
  for (const auto& ep : endpoints) {
    boost::system::error_code ignored;
    socket_.close(ignored);
    auto r = co_await before(deadline, socket_.async_connect(ep, kNoThrow));
    if (!r) co_return fail(ErrorKind::kTimeout, "connect timed out");
    auto [cec] = *r;
    if (cec == asio::error::operation_aborted) co_return fail(ErrorKind::kClosed, "cancelled");
    if (cec) {
      last = cec.message();
      continue;
    }
    socket_.set_option(asio::ip::tcp::no_delay(true), ignored);
    // Keepalive probes find a dead peer on an idle watch stream.
    socket_.set_option(asio::socket_base::keep_alive(true), ignored);
    const int idle = 10, interval = 5, count = 3;
    const int fd = socket_.native_handle();
    ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
    ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof(interval));
    ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof(count));
    connected_ = true;
    broken_ = false;
    co_return core::ok_status();
  }
  co_return fail(ErrorKind::kConnectFailed, "connect: " + last);
}

net::Task<core::Status> HttpConnection::send(const HttpRequest& req, Clock::time_point deadline) {
  if (!connected_ || broken_ || in_response_) {
    co_return fail(ErrorKind::kIo, "connection not ready for a request");
  }
  received_ = 0;
  std::string out;
  out.reserve(256 + req.body.size());
  out += "POST ";
  out += req.path;
  out += " HTTP/1.1\r\nHost: ";
  out += target_.authority;
  out += "\r\nContent-Type: application/json\r\nAccept: application/json\r\nContent-Length: ";
  out += std::to_string(req.body.size());
  out += "\r\n";
  for (const auto& [name, value] : req.headers) {
    out += name;
    out += ": ";
    out += value;
    out += "\r\n";
  }
  out += "\r\n";
  out += req.body;
  auto r = co_await before(
      deadline, asio::async_write(socket_, asio::buffer(out), net::transfer_all_at_once, kNoThrow));
  if (!r) co_return fail(ErrorKind::kTimeout, "sending the request timed out");
  auto [ec, n] = *r;
  if (ec) co_return fail(kind_of(ec), "send: " + ec.message());
  co_return core::ok_status();
}

net::Task<core::Status> HttpConnection::fill(Clock::time_point deadline) {
  const size_t old = buf_.size();
  buf_.resize(old + kReadChunk);
  auto r = co_await before(
      deadline, socket_.async_read_some(asio::buffer(buf_.data() + old, kReadChunk), kNoThrow));
  if (!r) {
    buf_.resize(old);
    co_return fail(ErrorKind::kTimeout, "no answer before the deadline");
  }
  auto [ec, n] = *r;
  buf_.resize(old + n);
  received_ += n;
  if (ec == asio::error::eof) {
    peer_closed_ = true;
    co_return Error{ErrorKind::kClosed, ErrorSource::kUpstream, true, "closed"};
  }
  if (ec) co_return fail(kind_of(ec), "read: " + ec.message());
  co_return core::ok_status();
}

core::Status HttpConnection::parse_available() {
  if (parsed_ >= buf_.size() || parser_.message_complete()) return core::ok_status();
  parsed_ += parser_.feed(buf_.data(), parsed_, buf_.size() - parsed_);
  if (parser_.error() != http::ParseError::kNone) {
    return fail(ErrorKind::kBadResponse,
                std::string("malformed HTTP response: ") + parser_.error_reason());
  }
  return core::ok_status();
}

net::Task<core::Result<int>> HttpConnection::start(const HttpRequest& req,
                                                   Clock::time_point deadline) {
  if (auto st = co_await send(req, deadline); !st) co_return st.error();
  parser_.reset();
  in_response_ = true;
  for (;;) {
    if (auto st = parse_available(); !st) co_return st.error();
    if (parser_.head_complete()) break;
    if (buf_.size() > kMaxHead) co_return fail(ErrorKind::kTooLarge, "response head too large");
    if (auto st = co_await fill(deadline); !st) {
      if (st.error().kind != ErrorKind::kClosed) co_return st.error();
      co_return fail(received_ == 0 ? ErrorKind::kClosed : ErrorKind::kBadResponse,
                     "connection closed before a complete response head");
    }
  }
  co_return parser_.status_code();
}

net::Task<core::Result<BodyPiece>> HttpConnection::read_body(Clock::time_point deadline) {
  if (!in_response_) co_return fail(ErrorKind::kIo, "no response in progress");
  for (;;) {
    BodyPiece piece;
    for (const http::Span& s : parser_.body()) piece.data.append(buf_.data() + s.off, s.len);
    parser_.clear_body();
    // Body spans are copied out and the head is no longer needed: drop the
    // parsed bytes so an endless stream does not grow the buffer.
    buf_.erase(0, parsed_);
    parsed_ = 0;
    if (parser_.message_complete()) {
      in_response_ = false;
      piece.last = true;
      co_return piece;
    }
    if (!piece.data.empty()) co_return piece;
    if (!buf_.empty()) {
      if (auto st = parse_available(); !st) co_return st.error();
      continue;
    }
    if (auto st = co_await fill(deadline); !st) {
      if (st.error().kind != ErrorKind::kClosed) co_return st.error();
      if (parser_.body_until_close() && parser_.finish()) {
        in_response_ = false;
        co_return BodyPiece{{}, true};
      }
      co_return fail(ErrorKind::kClosed, "connection closed in the middle of the response");
    }
    if (auto st = parse_available(); !st) co_return st.error();
  }
}

net::Task<core::Result<HttpReply>> HttpConnection::request(const HttpRequest& req,
                                                           Clock::time_point deadline,
                                                           size_t max_body) {
  auto status = co_await start(req, deadline);
  if (!status) co_return status.error();
  HttpReply reply;
  reply.status = *status;
  for (;;) {
    auto piece = co_await read_body(deadline);
    if (!piece) co_return piece.error();
    if (reply.body.size() + piece->data.size() > max_body) {
      co_return fail(ErrorKind::kTooLarge,
                     "response body over " + std::to_string(max_body) + " bytes");
    }
    reply.body += piece->data;
    if (piece->last) break;
  }
  co_return reply;
}

bool HttpConnection::reusable() {
  if (!connected_ || broken_ || in_response_ || peer_closed_ || !parser_.keep_alive() ||
      !buf_.empty() || !socket_.is_open()) {
    return false;
  }
  char byte;
  const ssize_t n = ::recv(socket_.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n >= 0) return false;  // EOF, or bytes nobody asked for
  return errno == EAGAIN || errno == EWOULDBLOCK;
}

}  // namespace torii::store
