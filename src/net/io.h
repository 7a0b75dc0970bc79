// The executor the data path runs on, named concretely: a worker's
// io_context. Asio's default (any_io_executor) type-erases the executor in
// every awaitable and every asynchronous operation; the data path only ever
// runs on one io_context type, so it pays for no erasure. Sockets, timers
// and coroutines of the request path use these aliases.
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/basic_waitable_timer.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>

namespace torii::net {

using Executor = boost::asio::io_context::executor_type;
template <class T>
using Task = boost::asio::awaitable<T, Executor>;
using TcpSocket = boost::asio::basic_stream_socket<boost::asio::ip::tcp, Executor>;
using TcpAcceptor = boost::asio::basic_socket_acceptor<boost::asio::ip::tcp, Executor>;
using TcpResolver = boost::asio::ip::basic_resolver<boost::asio::ip::tcp, Executor>;
using Timer = boost::asio::basic_waitable_timer<
    std::chrono::steady_clock, boost::asio::wait_traits<std::chrono::steady_clock>, Executor>;

// Completion token: await an operation and get (error_code, ...) back, no throw.
inline constexpr auto kNoThrow = boost::asio::as_tuple(boost::asio::use_awaitable_t<Executor>{});

// The socket's descriptor in non-blocking mode, for system calls made
// outside asio (splice(2)); -1 when the socket is closed or cannot be
// switched.
inline int nonblocking_fd(TcpSocket& s) {
  if (!s.is_open()) return -1;
  boost::system::error_code ec;
  if (!s.native_non_blocking()) s.native_non_blocking(true, ec);
  return ec ? -1 : s.native_handle();
}

}  // namespace torii::net
