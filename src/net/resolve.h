// Name lookups with a deadline the caller can rely on.
//
// getaddrinfo blocks and cannot be stopped, and Asio runs the lookups of
// one io_context one at a time on a single thread of its own: one name
// whose server does not answer (getaddrinfo's retries: 10 s here) held
// every lookup queued behind it, on every route of that worker, and racing
// async_resolve against a timer still waited for it. resolve_before()
// stops waiting at `deadline`, and runs lookups on a process-wide pool of
// lookup threads (net/lookup_pool.h: started as needed, at most
// kMaxLookupThreads), so a stuck name holds one thread and the lookups of
// other names go on. A lookup that
// outlives its deadline finishes in the background. Callers on one thread
// asking for the same name while its lookup runs share it, so requests that
// gave up leave no queue of lookups behind them.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/system/error_code.hpp>
#include <cstddef>
#include <string>
#include <vector>

#include "core/deadline.h"
#include "net/io.h"

namespace torii::net {

// Lookups running at once in the process; more wait for a free thread.
inline constexpr size_t kMaxLookupThreads = 16;

struct Resolved {
  bool timed_out = false;              // `deadline` passed first
  boost::system::error_code error;     // the lookup's own failure (asio's netdb errors)
  std::vector<boost::asio::ip::tcp::endpoint> endpoints;  // in getaddrinfo's order
};

// Resolves `host`:`port` (TCP, AI_ADDRCONFIG, as asio's resolver does),
// giving up at `deadline`. The answer is delivered on `ex`, which must be
// the calling coroutine's executor (one thread per io_context).
Task<Resolved> resolve_before(Executor ex, std::string host, std::string port,
                              core::Clock::time_point deadline);

}  // namespace torii::net
