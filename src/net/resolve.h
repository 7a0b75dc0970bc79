// Name lookups with a deadline the caller can rely on.
//
// Asio runs the lookups of one io_context one at a time on a thread of its
// own (getaddrinfo blocks), and cannot stop one in progress: racing
// async_resolve against a timer with `||` still waits for the lookup to end,
// so a name server that does not answer held a request for getaddrinfo's
// own retries (10 s per lookup here, and each lookup queued behind it
// another 10 s). resolve_before() stops waiting at `deadline`; a lookup that
// outlives it finishes in the background. Callers on one thread asking for
// the same name while its lookup runs share it, so requests that gave up
// leave no queue of lookups behind them.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/system/error_code.hpp>
#include <string>
#include <vector>

#include "core/deadline.h"
#include "net/io.h"

namespace torii::net {

struct Resolved {
  bool timed_out = false;              // `deadline` passed first
  boost::system::error_code error;     // the lookup's own failure
  std::vector<boost::asio::ip::tcp::endpoint> endpoints;  // in the resolver's order
};

// Resolves `host`:`port` on `ex`'s io_context, giving up at `deadline`.
Task<Resolved> resolve_before(Executor ex, std::string host, std::string port,
                              core::Clock::time_point deadline);

}  // namespace torii::net
