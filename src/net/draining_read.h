// Reads that know when they drained a TCP socket, so a request/response
// connection makes no failed read per message.
//
// Asio's reactor keeps one flag per descriptor, "try a speculative read":
// set by every epoll edge, it lets the next async_read_some try recv() at
// once before waiting. Asio clears it only when a read returns 0 bytes (end
// of stream or an error). On a keep-alive connection that means every wait
// for the next message starts with a recv() that fails with EAGAIN, twice
// per proxied request (client side and upstream side): measured 3.85
// recvfrom per request against nginx's 2.00.
//
// `socket.async_read_some(draining_buffer(p, n), token)` reads like
// `asio::buffer(p, n)`, except that it also clears the flag when the kernel
// says the socket has nothing left to read: the next read then waits for
// the next edge without trying first. The kernel says so through TCP_INQ
// (Linux >= 4.18; enable_drain_hint() turns it on for a socket): every read
// carries a control message with the bytes still queued, and that count is
// 1, not 0, once the peer's FIN has arrived, so an end of stream that came
// with the last bytes is still read at once. A read of a socket without the
// hint keeps asio's behaviour.
//
// Why no wake-up is lost: the flag is cleared under the descriptor's lock
// in the same step as the recvmsg() that saw the queue empty, and bytes or
// a FIN arriving after it raise a new edge (sockets are registered
// edge-triggered), which sets the flag again and performs the waiting read.
// One case is only bounded by timeouts: a reset (RST) that the kernel
// processed together with the last bytes, before the reactor picked up
// their edge. TCP_INQ does not count a reset, so the next read waits for
// the operation's deadline (the route's timeout.read, the keep-alive
// timeout) instead of failing at once. nginx sees that case in the epoll
// event (EPOLLRDHUP); asio does not hand the event to the operation. Where
// the end of the connection ends the message (an upstream body delimited
// by its close), the caller reads with asio's own buffer instead.
//
// How: asio builds its read operation from
// detail::reactive_socket_recv_op_base<Buffers>, and its perform step
// decides what the reactor does with the flag. The specialisation below,
// for our own buffer type only, is asio 1.26's (Boost 1.81, the version
// DESIGN.md fixes) reading with recvmsg() and deciding "exhausted" from the
// queued count. Any other Boost version, or a reactor other than epoll,
// gets asio's unchanged operation (the reads stay correct, they only try
// first again).
#pragma once

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <boost/asio/buffer.hpp>
#include <boost/asio/socket_base.hpp>
#include <boost/version.hpp>
#include <cerrno>
#include <cstddef>

#include "net/io.h"
#include "net/nocancel.h"

// After socket_base.hpp, which it needs and does not include.
#include <boost/asio/detail/reactive_socket_recv_op.hpp>

namespace torii::net {

// One mutable buffer, as a buffer sequence of its own type.
class DrainingBuffer {
 public:
  DrainingBuffer(void* data, size_t size) : buffer_(data, size) {}
  const boost::asio::mutable_buffer* begin() const { return &buffer_; }
  const boost::asio::mutable_buffer* end() const { return &buffer_ + 1; }
  const boost::asio::mutable_buffer& buffer() const { return buffer_; }

 private:
  boost::asio::mutable_buffer buffer_;
};

inline DrainingBuffer draining_buffer(void* data, size_t size) { return {data, size}; }

// Asks the kernel to report the bytes left after each read of this TCP
// socket (TCP_INQ). Returns false where it cannot (an old kernel, not TCP):
// draining reads of that socket then behave as asio's own.
inline bool enable_drain_hint(int fd) {
#ifdef TCP_INQ
  const int on = 1;
  return ::setsockopt(fd, IPPROTO_TCP, TCP_INQ, &on, sizeof(on)) == 0;
#else
  (void)fd;
  return false;
#endif
}

// Whether `s` may have something to read (bytes, the end of the stream, an
// error) that came after a draining read last found it empty. It answers
// from the flag described above, without a system call: every epoll edge
// the reactor processes sets it, a draining read that empties the socket
// clears it. So false means "no edge since the socket was drained", as far
// as the reactor knows: an edge the kernel raised after the reactor's last
// epoll_wait is not seen yet. true whenever it cannot tell: another Boost
// version or reactor, a socket whose last read was not a draining one
// (TLS, asio's own buffer, a wait), a closed socket.
//
// For a pooled upstream connection: false lets it be reused without the
// recv(MSG_PEEK) that would otherwise check it (upstream/upstream_conn.h).
bool may_have_input(TcpSocket& s);

namespace detail {

// One recvmsg() of `data`: bytes read (0 = end of stream) or -1 with errno;
// `queued` is the kernel's TCP_INQ count after it, or -1 when the socket
// does not report one.
inline ssize_t recv_with_queued(int fd, void* data, size_t size, int flags, int& queued) {
  iovec iov{data, size};
  // Room for TCP_INQ's message only: these sockets enable no other control
  // message (one more would truncate it, and the count would read as -1).
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  queued = -1;
  const ssize_t n = recvmsg_nocancel(fd, &msg, flags);
  if (n < 0) return n;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
#ifdef TCP_CM_INQ
    if (c->cmsg_level == SOL_TCP && c->cmsg_type == TCP_CM_INQ &&
        c->cmsg_len >= CMSG_LEN(sizeof(int))) {
      __builtin_memcpy(&queued, CMSG_DATA(c), sizeof(int));
    }
#endif
  }
  return n;
}

}  // namespace detail
}  // namespace torii::net

#if BOOST_VERSION == 108100 && defined(BOOST_ASIO_HAS_EPOLL) && \
    !defined(BOOST_ASIO_HAS_IO_URING_AS_DEFAULT)
#define TORII_DRAINING_READ 1

namespace boost::asio::detail {

template <>
class reactive_socket_recv_op_base<torii::net::DrainingBuffer> : public reactor_op {
 public:
  reactive_socket_recv_op_base(const boost::system::error_code& success_ec, socket_type socket,
                               socket_ops::state_type state,
                               const torii::net::DrainingBuffer& buffers,
                               socket_base::message_flags flags, func_type complete_func)
      : reactor_op(success_ec, &reactive_socket_recv_op_base::do_perform, complete_func),
        socket_(socket),
        state_(state),
        buffers_(buffers),
        flags_(flags) {}

  // Returns not_done to keep waiting (EAGAIN); done when the read finished
  // and bytes may be left; done_and_exhausted when the kernel reported none
  // left, or, as asio's own operation, when it returned 0 bytes (end of
  // stream or an error). done_and_exhausted clears the reactor's flag.
  static status do_perform(reactor_op* base) {
    auto* o = static_cast<reactive_socket_recv_op_base*>(base);
    const mutable_buffer& b = o->buffers_.buffer();
    for (;;) {
      int queued = -1;
      const ssize_t n =
          torii::net::detail::recv_with_queued(o->socket_, b.data(), b.size(), o->flags_, queued);
      if (n > 0) {
        o->ec_ = boost::system::error_code();
        o->bytes_transferred_ = static_cast<size_t>(n);
        return queued == 0 ? done_and_exhausted : done;
      }
      if (n == 0) {
        o->bytes_transferred_ = 0;
        if ((o->state_ & socket_ops::stream_oriented) == 0) return done;  // an empty datagram
        // A stream read of 0 bytes into a non-empty buffer: end of stream.
        o->ec_ = boost::asio::error::eof;
        return done_and_exhausted;
      }
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return not_done;
      o->ec_ = boost::system::error_code(errno, boost::asio::error::get_system_category());
      o->bytes_transferred_ = 0;
      return done_and_exhausted;
    }
  }

 private:
  socket_type socket_;
  socket_ops::state_type state_;
  torii::net::DrainingBuffer buffers_;
  socket_base::message_flags flags_;
};

}  // namespace boost::asio::detail

#endif
