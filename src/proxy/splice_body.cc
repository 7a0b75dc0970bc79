// A response body moved from the upstream socket to the client socket with
// splice(2) through a pipe (net/splice_pipe.h): the kernel passes page
// references along, and the bytes are never copied into torii or back.
//
// The loop alternates: fill the pipe from the upstream with whatever has
// arrived, drain the pipe into the client as far as it takes. When neither
// moves a byte it waits for the side that holds things up: the client when
// the pipe holds bytes (it is full, or the upstream has nothing more yet
// and the client is the slower one), the upstream when the pipe is empty.
// So at most one pipe's worth (256 KiB) sits between the two sockets, and a
// slow client slows the upstream through TCP flow control, as the read and
// write loop of forward_response() does.
//
// Timeouts as on the copying path: the route's read timeout for each wait
// on the upstream, the send timeout for each wait on the client (nginx's
// proxy_read_timeout and send_timeout: between two successive operations).
// When the upstream fails or closes mid-body, what the pipe already holds
// still goes to the client before the response is cut, as the copying path
// writes what it has read.
#include <boost/asio/post.hpp>
#include <cerrno>
#include <optional>
#include <string>
#include <system_error>

#include "proxy/http_session.h"
#include "proxy/upstream_attempt.h"
#include "proxy/worker.h"

namespace torii::proxy {

namespace {

using core::ErrorKind;
using core::ErrorSource;

// Less than this left after the first read: the copying path (the pipe's
// two calls would not save a copy worth having).
constexpr uint64_t kMinSpliceBody = 4096;
// Bytes moved between two trips through the event loop: one large body
// on fast sockets must not keep the worker's other connections waiting.
constexpr uint64_t kYieldEvery = 1024 * 1024;
// Wake-ups in a row that moved nothing: the socket reports readiness that
// splice() cannot use (urgent data in the stream). The upstream side falls
// back to copying, the client side fails.
constexpr int kMaxIdleWakeups = 64;

core::Error upstream_failure(ErrorKind kind, std::string message) {
  return core::Error{kind, ErrorSource::kUpstream, false, std::move(message)};
}

core::Error client_gone() {
  return core::Error{ErrorKind::kReset, ErrorSource::kDownstream, false,
                     "client closed during the response"};
}

std::string errno_text(int error) { return std::generic_category().message(error); }

}  // namespace

bool HttpSession::splice_possible(const upstream::UpstreamConn& conn) const {
  return ctx_.snapshot().http->splice_response_body && worker_.pipes().available() &&
         !stream_.is_tls() && !conn.is_tls();
}

bool HttpSession::may_splice_response(upstream::UpstreamConn& conn) const {
  return splice_possible(conn) && conn.parser().body_left() >= kMinSpliceBody;
}

net::Task<HttpSession::SpliceEnd> HttpSession::splice_body(upstream::UpstreamConn& conn,
                                                           Attempt& attempt, uint64_t& sent) {
  http::H1Parser& parser = conn.parser();
  const uint64_t length = parser.body_left();
  net::PipePool& pipes = worker_.pipes();
  std::unique_ptr<net::SplicePipe> pipe = pipes.acquire();
  if (!pipe) co_return SpliceEnd::kCopyRest;
  const std::string& node = attempt.node->name;
  uint64_t left = length;
  uint64_t since_yield = 0;
  int idle_wakeups = 0;
  std::optional<core::Error> upstream_ended;  // set: stop filling, drain, then fail
  SpliceEnd end = SpliceEnd::kDone;
  while ((left > 0 && !upstream_ended) || pipe->buffered() > 0) {
    bool moved = false;
    if (left > 0 && !upstream_ended && pipe->room() > 0) {
      const net::SpliceStep in = pipe->fill(conn.plain_fd(), left);
      switch (in.result) {
        case net::SpliceStep::Result::kMoved:
          left -= in.bytes;
          since_yield += in.bytes;
          moved = true;
          break;
        case net::SpliceStep::Result::kWouldBlock:
          break;
        case net::SpliceStep::Result::kEndOfStream:
          upstream_ended = upstream_failure(ErrorKind::kReset,
                                            "upstream " + node + " closed mid-response");
          break;
        case net::SpliceStep::Result::kFailed:
          if (left == length && net::splice_unsupported(in.error)) {
            // Nothing moved yet: the copying path takes this body and the next.
            pipes.mark_unsupported(in.error);
            end = SpliceEnd::kCopyRest;
          } else {
            upstream_ended = upstream_failure(
                ErrorKind::kReset, "upstream " + node + " failed mid-response: " + errno_text(in.error));
          }
          break;
      }
      if (end == SpliceEnd::kCopyRest) break;
    }
    if (pipe->buffered() > 0) {
      const net::SpliceStep out = pipe->drain(stream_.plain_fd());
      if (out.result == net::SpliceStep::Result::kFailed) {
        attempt.error = client_gone();
        end = SpliceEnd::kFailed;
        break;
      }
      if (out.result == net::SpliceStep::Result::kMoved && out.bytes > 0) {
        sent += out.bytes;
        moved = true;
      }
    }
    if (moved) {
      idle_wakeups = 0;
      if (since_yield >= kYieldEvery) {
        since_yield = 0;
        co_await boost::asio::post(worker_.io().get_executor(), net::kNoThrow);
      }
      continue;
    }
    if (pipe->buffered() == 0 && (left == 0 || upstream_ended)) break;
    if (++idle_wakeups > kMaxIdleWakeups) {
      if (pipe->buffered() == 0) {
        // The upstream side: recv() can read what splice() cannot.
        end = SpliceEnd::kCopyRest;
      } else {
        attempt.error = client_gone();
        end = SpliceEnd::kFailed;
      }
      break;
    }
    if (pipe->buffered() > 0) {
      // The client holds things up.
      deadline_.arm(ctx_.snapshot().http->send_timeout);
      auto [ec] = co_await stream_.wait_writable();
      deadline_.disarm();
      if (ec) {
        attempt.error = client_gone();
        end = SpliceEnd::kFailed;
        break;
      }
    } else {
      // Nothing has arrived from the upstream yet.
      conn.arm(attempt.timeouts.read);
      auto [ec] = co_await conn.wait_readable();
      conn.disarm();
      if (ec) {
        const bool timeout = conn.timed_out();
        upstream_ended = upstream_failure(
            timeout ? ErrorKind::kTimeout : ErrorKind::kReset,
            "upstream " + node + (timeout ? " timed out mid-response" : " failed mid-response: ") +
                (timeout ? std::string() : ec.message()));
      }
    }
  }
  if (end == SpliceEnd::kDone && upstream_ended) {
    attempt.error = std::move(upstream_ended);
    end = SpliceEnd::kFailed;
  }
  // A pipe still holding bytes is closed by release(), not reused.
  pipes.release(std::move(pipe));
  if (end == SpliceEnd::kFailed) co_return end;
  parser.skip_body(length - left);  // kCopyRest: the copying loop reads the rest
  // Bytes past Content-Length stay in the socket (the copying path would
  // have read and dropped them): such a connection is not reused.
  // splice(2) reads past the reactor, so only a peek can tell.
  if (end == SpliceEnd::kDone && !conn.peek_usable()) attempt.keep_upstream = false;
  co_return end;
}

}  // namespace torii::proxy
