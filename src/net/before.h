// An operation raced against a deadline, for coroutines off the data path
// (config-store clients, health probes): the data path uses core::Deadline.
#pragma once

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/this_coro.hpp>
#include <optional>
#include <utility>

#include "core/deadline.h"
#include "net/io.h"

namespace torii::net {

// Runs `op` unless `deadline` passes first; nullopt on timeout (the
// operation was cancelled, and has completed, by then).
template <class T>
Task<std::optional<T>> before(core::Clock::time_point deadline, Task<T> op) {
  using namespace boost::asio::experimental::awaitable_operators;
  Timer timer(co_await boost::asio::this_coro::executor, deadline);
  auto r = co_await (std::move(op) || timer.async_wait(kNoThrow));
  if (r.index() == 0) co_return std::move(std::get<0>(r));
  co_return std::nullopt;
}

}  // namespace torii::net
