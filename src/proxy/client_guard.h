// Where the data path meets net::ClientLimiter (the listener's abuse limits,
// config.yaml `torii.client_limits`): the accept loop and the HTTP session
// call these few functions, which decide, count into the metrics registry
// and shape what the client gets. Counters (docs/config.md):
//   <prefix>client_limit_rejected_total{reason}  connections / requests refused
//   <prefix>client_limit_bans_total              bans started
//   <prefix>client_timeouts_total{phase}         header / body read timeouts
// Called on worker threads; `worker` is the caller's index (metric shard).
#pragma once

#include <boost/asio/ip/address.hpp>
#include <optional>

#include "core/result.h"
#include "http/local_reply.h"
#include "net/client_limits.h"
#include "net/io.h"

namespace torii::proxy {

// Right after accept, before anything is read. Admitted: the admission to
// keep while the connection lives. Refused: counted, the connection reset
// (RST: no reply, no TIME_WAIT left on the node) and `socket` closed; the
// returned admission is false. A null `limiter` admits everything.
net::ClientLimiter::Admission admit_client(net::ClientLimiter* limiter, net::TcpSocket& socket,
                                           unsigned worker);

// A refused request: the reply (429, `Retry-After`, JSON body; the caller
// sends it with `Connection: close`) and the error for the access log.
struct RequestRefusal {
  http::LocalReply reply;
  core::Error error;
};
// After the request head is parsed, before routing. nullopt: go on. One
// relaxed load when the rate limit is off.
std::optional<RequestRefusal> check_client_request(net::ClientLimiter* limiter,
                                                   const boost::asio::ip::address& ip,
                                                   unsigned worker);

// When a request ends: counts `error` if it is a client read timeout
// (`head_complete` false: the request head's, else the body's).
void count_client_timeout(unsigned worker, const std::optional<core::Error>& error,
                          bool head_complete);

}  // namespace torii::proxy
