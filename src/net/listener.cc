#include "net/listener.h"

#include <sys/socket.h>

namespace torii::net {

core::Result<net::TcpAcceptor> open_listener(boost::asio::io_context& io,
                                                           const std::string& ip, uint16_t port,
                                                           int backlog) {
  namespace asio = boost::asio;
  const std::string where = "listen " + ip + ":" + std::to_string(port) + ": ";
  boost::system::error_code ec;
  const auto addr = asio::ip::make_address(ip, ec);
  if (ec) return core::config_error(where + "invalid address");
  asio::ip::tcp::endpoint ep(addr, port);
  net::TcpAcceptor acc(io);
  acc.open(ep.protocol(), ec);
  if (!ec) acc.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) {
    const int one = 1;
    if (::setsockopt(acc.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) {
      ec = boost::system::error_code(errno, boost::system::system_category());
    }
  }
  if (!ec) acc.bind(ep, ec);
  if (!ec) acc.listen(backlog, ec);
  if (ec) return core::Error{core::ErrorKind::kIo, core::ErrorSource::kConfig, false, where + ec.message()};
  return acc;
}

}  // namespace torii::net
