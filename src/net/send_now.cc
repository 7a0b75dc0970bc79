#include "net/send_now.h"

#include <sys/socket.h>
#include <sys/uio.h>

#include <cerrno>

#include "net/nocancel.h"

namespace torii::net {

namespace {
constexpr size_t kMaxIov = 64;
}

WriteProgress send_now(int fd, std::span<const boost::asio::const_buffer> bufs) {
  WriteProgress progress;
  iovec iov[kMaxIov];
  size_t count = 0;
  for (const auto& b : bufs) {
    progress.total += b.size();
    if (b.size() == 0 || count == kMaxIov) continue;
    iov[count].iov_base = const_cast<void*>(b.data());
    iov[count].iov_len = b.size();
    ++count;
  }
  if (count == 0) return progress;
  msghdr msg{};
  msg.msg_iov = iov;
  msg.msg_iovlen = count;
  for (;;) {
    const ssize_t n = sendmsg_nocancel(fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n >= 0) {
      progress.written = static_cast<size_t>(n);
      return progress;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      progress.error = boost::system::error_code(errno, boost::system::system_category());
    }
    return progress;
  }
}

void remaining_after(std::span<const boost::asio::const_buffer> bufs, size_t skip,
                     std::vector<boost::asio::const_buffer>& rest) {
  rest.clear();
  for (const auto& b : bufs) {
    if (skip >= b.size()) {
      skip -= b.size();
      continue;
    }
    rest.push_back(b + skip);
    skip = 0;
  }
}

}  // namespace torii::net
