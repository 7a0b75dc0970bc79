// The accept loop every listener runs (data-plane workers, the Admin API,
// the Prometheus export): each accepted connection goes to `on_accept`,
// until the acceptor is closed or its pending accept is cancelled. A failed
// accept (out of descriptors or memory) keeps the listener: it is logged as
// "<what>: accept: <error>" and retried after kAcceptBackoff, so the loop
// never spins.
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include "net/io.h"

namespace torii::net {

inline constexpr std::chrono::milliseconds kAcceptBackoff{50};

// `what` and `on_accept` are the caller's named locals, alive until the
// task ends: no temporary in the co_await expression (GCC 12 destroys such
// temporaries twice when the await suspends).
Task<void> accept_connections(TcpAcceptor& acceptor, const std::string& what,
                              const std::function<void(TcpSocket)>& on_accept);

}  // namespace torii::net
