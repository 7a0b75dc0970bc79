#include "net/accept_loop.h"

#include <spdlog/spdlog.h>

#include <boost/asio/error.hpp>

namespace torii::net {

Task<void> accept_connections(TcpAcceptor& acceptor, const std::string& what,
                              const std::function<void(TcpSocket)>& on_accept) {
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(kNoThrow);
    if (ec) {
      if (ec == boost::asio::error::operation_aborted || !acceptor.is_open()) co_return;
      spdlog::error("{}: accept: {}", what, ec.message());
      Timer backoff(acceptor.get_executor());
      backoff.expires_after(kAcceptBackoff);
      co_await backoff.async_wait(kNoThrow);
      continue;
    }
    on_accept(std::move(socket));
  }
}

}  // namespace torii::net
