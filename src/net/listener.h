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

// Fails when another process already listens on ip:port. SO_REUSEPORT lets
// any process of the same user join a port's group, so without this check a
// second gateway started on a port in use (a stale instance, a typo in
// config.yaml) would bind, and the kernel would split the connections
// between the two. Probes with a plain bind (SO_REUSEADDR only, so sockets
// in TIME_WAIT do not count); call it before this process's own listeners
// exist. Port 0 is not checked. Errors read
// `listen 127.0.0.1:9080: Address already in use (another process listens there)`.
core::Status ensure_not_listened(const std::string& ip, uint16_t port);

}  // namespace torii::net
