// One try of a request on one upstream node: what upstream_exchange.cc and
// splice_body.cc share about it.
#pragma once

#include <optional>

#include "core/result.h"
#include "proxy/http_session.h"
#include "upstream/upstream.h"

namespace torii::proxy {

struct HttpSession::Attempt {
  const upstream::Upstream* up = nullptr;
  const upstream::Node* node = nullptr;
  upstream::Timeouts timeouts;
  bool sent_any = false;      // request bytes reached the upstream socket
  bool received_any = false;  // response bytes came back
  bool keep_upstream = true;  // false: the connection must not go back to the pool
  std::optional<core::Error> error;
};

}  // namespace torii::proxy
