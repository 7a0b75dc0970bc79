// resolve_before(): an answer before the deadline comes back whole; a
// deadline that passes first ends the wait without the lookup's answer.
// (A name server that never answers is reproduced by hand in a network
// namespace; a lookup here is always quick.)
#include "net/resolve.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <optional>

namespace torii::net {
namespace {

namespace asio = boost::asio;

Resolved run(const std::string& host, core::Clock::time_point deadline) {
  asio::io_context io;
  std::optional<Resolved> out;
  asio::co_spawn(
      io,
      [&]() -> Task<void> { out = co_await resolve_before(io.get_executor(), host, "80", deadline); },
      asio::detached);
  io.run();
  return out.value_or(Resolved{});
}

TEST(NetResolve, an_answer_before_the_deadline_comes_back) {
  const Resolved r = run("localhost", core::Clock::now() + std::chrono::seconds(30));
  EXPECT_FALSE(r.timed_out);
  EXPECT_FALSE(r.error) << r.error.message();
  ASSERT_FALSE(r.endpoints.empty());
  EXPECT_EQ(r.endpoints.front().port(), 80);
  EXPECT_TRUE(r.endpoints.front().address().is_loopback());
}

// Callers asking for the same name while its lookup runs share it: both
// get the whole answer.
TEST(NetResolve, callers_of_one_name_share_its_lookup) {
  asio::io_context io;
  std::optional<Resolved> first, second;
  const auto deadline = core::Clock::now() + std::chrono::seconds(30);
  asio::co_spawn(
      io, [&]() -> Task<void> { first = co_await resolve_before(io.get_executor(), "localhost", "80", deadline); },
      asio::detached);
  asio::co_spawn(
      io, [&]() -> Task<void> { second = co_await resolve_before(io.get_executor(), "localhost", "81", deadline); },
      asio::detached);
  std::optional<Resolved> third;
  asio::co_spawn(
      io, [&]() -> Task<void> { third = co_await resolve_before(io.get_executor(), "localhost", "80", deadline); },
      asio::detached);
  io.run();
  ASSERT_TRUE(first && second && third);
  for (const Resolved* r : {&*first, &*second, &*third}) {
    EXPECT_FALSE(r->timed_out);
    ASSERT_FALSE(r->endpoints.empty());
  }
  EXPECT_EQ(first->endpoints.front().port(), 80);
  EXPECT_EQ(second->endpoints.front().port(), 81);
  EXPECT_EQ(third->endpoints, first->endpoints);
}

}  // namespace
}  // namespace torii::net
