// Writing to a socket without waiting: one non-blocking sendmsg of a gather.
//
// The data path tries this before any asynchronous write. A request head or
// a small response almost always fits the socket's send buffer whole, and
// then the write costs one syscall: no asio operation, no completion
// handler, no trip through the event loop. Only what the socket did not
// take (a full send buffer: a slow client, a large body) goes to an
// asynchronous write, which waits for room.
#pragma once

#include <boost/asio/buffer.hpp>
#include <boost/system/error_code.hpp>
#include <cstddef>
#include <span>
#include <vector>

namespace torii::net {

// How far a write got.
struct WriteProgress {
  boost::system::error_code error;  // the socket failed (closed, reset); not "would block"
  size_t written = 0;               // bytes the socket took, from the front of the gather
  size_t total = 0;                 // bytes in the gather
  bool finished() const { return error || written == total; }
};

// One sendmsg(MSG_DONTWAIT | MSG_NOSIGNAL) of up to 64 buffers of `bufs`
// on the connected stream socket `fd`, retried on EINTR. A full send buffer
// is no error: `written` says how much went (possibly 0).
WriteProgress send_now(int fd, std::span<const boost::asio::const_buffer> bufs);

// `bufs` without its first `skip` bytes, into `rest` (cleared first).
void remaining_after(std::span<const boost::asio::const_buffer> bufs, size_t skip,
                     std::vector<boost::asio::const_buffer>& rest);

}  // namespace torii::net
