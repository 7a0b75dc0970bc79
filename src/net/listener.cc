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

core::Status ensure_not_listened(const std::string& ip, uint16_t port) {
  namespace asio = boost::asio;
  if (port == 0) return core::ok_status();
  boost::system::error_code ec;
  const auto addr = asio::ip::make_address(ip, ec);
  if (ec) return core::ok_status();  // open_listener reports the address
  asio::io_context io;
  asio::ip::tcp::acceptor probe(io);
  const asio::ip::tcp::endpoint ep(addr, port);
  probe.open(ep.protocol(), ec);
  if (!ec) probe.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) probe.bind(ep, ec);
  if (ec == asio::error::address_in_use) {
    return core::Error{core::ErrorKind::kIo, core::ErrorSource::kConfig, false,
                       "listen " + ip + ":" + std::to_string(port) + ": " + ec.message() +
                           " (another process listens there)"};
  }
  return core::ok_status();  // other failures: open_listener reports them
}

}  // namespace torii::net
