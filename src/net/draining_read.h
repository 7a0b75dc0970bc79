// Reads that remember a drained socket, as nginx does (ngx_unix_recv: a
// read that returns less than it asked for clears `rev->ready`), so a
// request/response connection makes no failed read per message.
//
// Asio's reactor keeps one flag per descriptor, "try a speculative read":
// set by every epoll edge, it lets the next async_read_some try recv() at
// once before waiting. Asio clears it only when a read returns 0 bytes. On
// a keep-alive connection that means every wait for the next message
// starts with a recv() that fails with EAGAIN, twice per proxied request
// (client side and upstream side): measured 3.85 recvfrom per request
// against nginx's 2.00.
//
// `socket.async_read_some(draining_buffer(p, n), token)` reads like
// `asio::buffer(p, n)`, except that a read returning fewer than `n` bytes
// also clears the flag: the next read waits for the next edge without
// trying first. The flag is cleared under the descriptor's lock in the
// same step as the recv() that saw the short read, so no edge can slip in
// between: bytes arriving after that recv() raise a new edge (the socket is
// registered edge-triggered), which sets the flag again and performs the
// waiting read. A short read means the receive queue was empty at that
// moment: TCP's recvmsg copies everything queued up to the size asked for.
//
// How: asio builds its read operation from
// detail::reactive_socket_recv_op_base<Buffers>, and its perform step
// decides what the reactor does with the flag. The specialisation below,
// for our own buffer type only, is asio 1.81's (Boost 1.81, the version
// DESIGN.md fixes) with one changed condition. Any other Boost version, or
// a reactor other than epoll, gets asio's unchanged operation (the reads
// stay correct, they only try first again).
#pragma once

#include <boost/asio/buffer.hpp>
#include <boost/asio/socket_base.hpp>  // before the detail header, which needs it
#include <boost/asio/detail/reactive_socket_recv_op.hpp>
#include <boost/version.hpp>
#include <cstddef>

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

}  // namespace torii::net

#if BOOST_VERSION == 108100 && defined(BOOST_ASIO_HAS_EPOLL) && !defined(BOOST_ASIO_HAS_IO_URING_AS_DEFAULT)
#define TORII_DRAINING_READ 1

namespace boost::asio::detail {

template <>
class reactive_socket_recv_op_base<torii::net::DrainingBuffer> : public reactor_op {
 public:
  reactive_socket_recv_op_base(const boost::system::error_code& success_ec, socket_type socket,
                               socket_ops::state_type state, const torii::net::DrainingBuffer& buffers,
                               socket_base::message_flags flags, func_type complete_func)
      : reactor_op(success_ec, &reactive_socket_recv_op_base::do_perform, complete_func),
        socket_(socket),
        state_(state),
        buffers_(buffers),
        flags_(flags) {}

  // Returns not_done to keep waiting; done when the read finished with the
  // buffer full; done_and_exhausted when it returned less (asio's own
  // condition is "returned 0 bytes": end of stream or an error), which
  // clears the reactor's speculative-read flag.
  static status do_perform(reactor_op* base) {
    auto* o = static_cast<reactive_socket_recv_op_base*>(base);
    const mutable_buffer& b = o->buffers_.buffer();
    const bool stream = (o->state_ & socket_ops::stream_oriented) != 0;
    if (!socket_ops::non_blocking_recv1(o->socket_, b.data(), b.size(), o->flags_, stream, o->ec_,
                                        o->bytes_transferred_)) {
      return not_done;
    }
    if (stream && o->bytes_transferred_ < b.size()) return done_and_exhausted;
    return done;
  }

 private:
  socket_type socket_;
  socket_ops::state_type state_;
  torii::net::DrainingBuffer buffers_;
  socket_base::message_flags flags_;
};

}  // namespace boost::asio::detail

#endif
