// Completion condition for async_write: "everything, in as few syscalls as
// the kernel allows". Asio's transfer_all caps each write at 64 KiB
// (default_max_transfer_size), so a 64 KiB body with its head took two
// sendmsg calls and woke the peer twice; with this condition one sendmsg
// carries all of it when the socket buffer has room.
#pragma once

#include <boost/system/error_code.hpp>
#include <cstddef>

namespace torii::net {

struct TransferAllAtOnce {
  size_t operator()(const boost::system::error_code& ec, size_t /*transferred*/) const {
    return ec ? 0 : kMaxPerCall;
  }
  static constexpr size_t kMaxPerCall = size_t{1} << 30;
};

inline constexpr TransferAllAtOnce transfer_all_at_once{};

}  // namespace torii::net
