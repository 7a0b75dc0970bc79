// A timeout for the operation in progress on one connection's socket, for
// the control-plane listeners (Admin API, Prometheus export): arm() before
// an operation, disarm() after it; if the time passes first, the socket's
// pending operations are cancelled and complete with operation_aborted.
// One timer per connection, re-armed per operation; a generation number
// makes a stale expiry (one that raced with the operation's completion)
// harmless. (The data plane uses core::Deadline instead: no timer per
// operation at all.)
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>

#include "net/io.h"

namespace torii::net {

class IoTimeout {
 public:
  explicit IoTimeout(Executor ex) : timer_(ex) {}
  IoTimeout(const IoTimeout&) = delete;
  IoTimeout& operator=(const IoTimeout&) = delete;

  // Cancels `socket`'s pending operations `after` from now, unless
  // disarmed or re-armed first. `owner` owns this object and `socket`: the
  // expiry does nothing once it is gone.
  void arm(std::chrono::steady_clock::duration after, std::weak_ptr<const void> owner,
           TcpSocket& socket) {
    const uint64_t generation = ++generation_;
    timer_.expires_after(after);
    timer_.async_wait([this, owner = std::move(owner), generation, &socket](
                          const boost::system::error_code& ec) {
      if (ec) return;
      const auto alive = owner.lock();
      if (!alive || generation_ != generation) return;
      boost::system::error_code ignored;
      socket.cancel(ignored);
    });
  }
  void disarm() {
    ++generation_;
    timer_.cancel();
  }

 private:
  Timer timer_;
  uint64_t generation_ = 0;
};

}  // namespace torii::net
