// Builds the request head sent to an upstream from the client's request:
// hop-by-hop headers removed (RFC 9110 7.6.1, plus those the client listed
// in Connection), Host per pass_host, X-Real-IP and X-Forwarded-* set the way
// APISIX sets them, framing re-declared by torii (never copied), so the
// upstream cannot be made to see a different message boundary than we did.
// A pure function of its inputs: the HTTP fuzz target drives it directly.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "http/header_edits.h"
#include "http/request.h"

namespace torii::proxy {

struct UpstreamHeadParams {
  std::string_view host;         // Host header value to send
  std::string_view target;       // request-target to send (origin-form)
  std::string_view remote_addr;  // client address, for X-Real-IP / X-Forwarded-For
  std::string_view scheme;       // "http" / "https", for X-Forwarded-Proto
  std::string_view server_port;  // for X-Forwarded-Port
  bool websocket = false;        // keep Upgrade/Connection for a tunnel
  // The client is in apisix.trusted_addresses: its X-Forwarded-Proto/-Host/
  // -Port and Forwarded are kept (APISIX); otherwise torii's own replace them.
  bool trust_forwarded = false;
  // Plugin changes (proxy-rewrite, request-id, ...): the method token sent
  // (empty: the client's), header edits (null: none). Edits never touch the
  // headers torii manages (Host, framing, X-Real-IP, X-Forwarded-*).
  std::string_view method;
  const http::HeaderEdits* edits = nullptr;
  // A body torii read whole (read_request_body): framed with this
  // Content-Length, whatever the client's framing was.
  std::optional<uint64_t> body_length = std::nullopt;
};

// Appends the complete head ("...\r\n\r\n") to `out`.
void build_upstream_request_head(const http::Request& req, const UpstreamHeadParams& p,
                                 std::string& out);

// Response headers that must not be copied to the client (hop-by-hop and
// the framing headers torii re-declares).
bool is_hop_by_hop_response_header(std::string_view name);

// Headers that frame a response (Content-Length, Transfer-Encoding,
// Connection, ...): plugins cannot set them; torii writes its own.
bool is_framing_header(std::string_view name);

}  // namespace torii::proxy
