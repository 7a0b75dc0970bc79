// Listening sockets. Each worker opens its own socket per address with
// SO_REUSEPORT, so the kernel spreads connections across workers and no
// accept lock or shared queue exists (nginx `reuseport`, Envoy workers).
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <string>

#include "net/io.h"
#include "core/result.h"

namespace torii::net {

// Opens, binds (SO_REUSEADDR + SO_REUSEPORT) and listens. Errors name the
// address: `listen 0.0.0.0:9080: Address already in use`.
core::Result<net::TcpAcceptor> open_listener(boost::asio::io_context& io,
                                                           const std::string& ip, uint16_t port,
                                                           int backlog = 4096);

}  // namespace torii::net
