// A parsed HTTP/1.x request head. Views point into the connection's input
// buffer (valid until the request ends) or into the owned strings here.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/buffer.h"
#include "http/h1_parser.h"
#include "http/method.h"
#include "http/uri.h"

namespace torii::http {

struct Header {
  std::string_view name;
  std::string_view value;
};

// ASCII case-insensitive equality of `n` bytes at `a` and `b`.
bool iequals_bytes(const char* a, const char* b, size_t n);
// ASCII case-insensitive equality for header names. Inline: most calls
// compare names of different lengths, which needs no call at all.
inline bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && iequals_bytes(a.data(), b.data(), a.size());
}

struct Request {
  Method method = Method::kGet;
  std::string_view method_token;  // as sent, e.g. "GET"
  std::string_view target;        // raw request-target, origin-form
  std::string_view raw_path;      // target without query
  std::string_view query;         // without '?', raw
  std::string path;               // decoded + normalised ($uri), used for routing
  std::string host;               // lower-cased, no port ($host)
  std::string_view host_header;   // Host as sent (with port)
  uint8_t version_major = 1;
  uint8_t version_minor = 1;
  std::vector<Header> headers;
  std::optional<uint64_t> content_length;
  bool chunked = false;
  bool keep_alive = true;
  bool expect_continue = false;
  bool websocket_upgrade = false;  // Upgrade: websocket + Connection: upgrade

  // First header with this name (case-insensitive).
  std::optional<std::string_view> header(std::string_view name) const;
  bool has_body() const { return chunked || (content_length && *content_length > 0); }
  void clear();
};

// Why build_request() refused a head; maps to the local reply's status.
enum class RequestError : uint8_t {
  kNone,
  kBadRequest,         // 400
  kNotImplemented,     // 501: unsupported Transfer-Encoding / method
  kMethodNotAllowed,   // 405: CONNECT
  kVersionNotSupported,  // 505: HTTP/2.0 in an HTTP/1 request line
};

// The status of the local reply for a refused head, as nginx answers it.
int reply_status(RequestError e);

// Fills `req` from a parser whose head is complete, reading header bytes
// from `buf`. Also enforces what llhttp leaves to us: bare LF and obs-fold
// in the head, field names that are not tokens, control characters in the
// target, an HTTP version other than 1.x, a missing or duplicate Host, an
// absolute-form target, a path that does not normalise.
RequestError build_request(const H1Parser& parser, const core::InputBuffer& buf,
                           size_t head_start, Request& req);

}  // namespace torii::http
