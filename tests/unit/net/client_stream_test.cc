// ClientStream::write(): a write that waits for room reports each step of
// progress, so the session can restart send_timeout between successive
// writes (nginx's meaning) instead of bounding the whole transfer.
#include "net/client_stream.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <thread>

namespace torii::net {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

TEST(NetClientStream, a_write_that_waits_reports_every_step_of_progress) {
  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  tcp::socket reader(io);
  TcpSocket writer(io.get_executor());
  writer.connect(acceptor.local_endpoint());
  acceptor.accept(reader);
  // Small buffers on both sides: the write has to wait for the reader.
  writer.set_option(asio::socket_base::send_buffer_size(4096));
  reader.set_option(asio::socket_base::receive_buffer_size(4096));
  writer.non_blocking(true);
  ClientStream stream(std::move(writer));

  const std::string body(128 * 1024, 'x');
  int progress = 0;
  const std::function<void()> on_progress = [&progress] { ++progress; };
  std::optional<ClientStream::IoResult> result;
  asio::co_spawn(
      io,
      [&]() -> Task<void> {
        const asio::const_buffer b(body.data(), body.size());
        result = co_await stream.write(std::span(&b, 1), &on_progress);
      },
      asio::detached);
  // A steady reader on another thread, held back by its small buffer.
  std::thread drain([fd = reader.native_handle(), &body] {
    size_t got = 0;
    char buf[16384];
    while (got < body.size()) {
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      got += static_cast<size_t>(n);
    }
  });
  io.run();
  drain.join();
  ASSERT_TRUE(result);
  EXPECT_FALSE(std::get<0>(*result));
  EXPECT_EQ(std::get<1>(*result), body.size());
  // Each wait for room that ended with bytes taken reports once; without the
  // hook's calls the session's deadline would bound the whole transfer.
  EXPECT_GE(progress, 2);
}

}  // namespace
}  // namespace torii::net
