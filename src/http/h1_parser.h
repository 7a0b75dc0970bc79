// HTTP/1.x message parsing on llhttp: its default build, no lenient flags.
//
// Not llhttp's strict build (LLHTTP_STRICT_MODE): it refuses bytes >= 0x80 in
// a request target, which nginx, and so APISIX, accept (raw UTF-8 paths).
// Where the default build is lenient about framing, this class checks
// itself: the CRLF after each chunk's data (skipped unread), and the LF
// after every CR outside body data (the default build takes any byte there:
// end of the head, of a chunk-size line, of the trailer section).
// build_request() adds the request-only checks: field names, control
// characters in the target, bare LF and obs-fold in the head.
//
// One H1Parser per connection direction: kRequest on client connections,
// kResponse on upstream connections. The caller owns the bytes; the parser
// records what it saw as offsets into the caller's buffer (Span), so the
// buffer may grow between feed() calls without invalidating anything.
//
// Contract of feed(): parse `len` bytes at `base + off`; returns how many
// were consumed. Parsing stops right after a complete message (the rest is
// the next pipelined message, parsed after reset()), on an upgrade (the rest
// is tunnel data) or on an error. Body bytes seen by this call are appended
// to body() as spans; the caller forwards them and calls clear_body().
#pragma once

#include <llhttp.h>

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace torii::http {

struct Span {
  uint32_t off = 0;
  uint32_t len = 0;
};

struct HeaderSpan {
  Span name;
  Span value;
};

// Why a message was refused; drives the status code of the local reply.
enum class ParseError : uint8_t {
  kNone,
  kBadRequest,         // any framing or syntax violation -> 400
  kTooManyHeaders,     // -> 431
  kBadResponse,        // upstream response unparsable -> 502
  kUnsupportedCoding,  // a Transfer-Encoding other than chunked -> 501, as nginx
};

class H1Parser {
 public:
  enum class Kind : uint8_t { kRequest, kResponse };
  static constexpr size_t kMaxHeaders = 128;

  explicit H1Parser(Kind kind);
  H1Parser(const H1Parser&) = delete;
  H1Parser& operator=(const H1Parser&) = delete;

  // Prepares for the next message on the same connection.
  void reset();
  // For responses: the request was HEAD, so the response has no body.
  void expect_no_body(bool v) { no_body_ = v; }

  size_t feed(const char* base, size_t off, size_t len);
  // The peer closed the connection: completes a read-until-close body.
  // Returns false when the message was cut short.
  bool finish();

  bool head_complete() const { return head_complete_; }
  bool message_complete() const { return message_complete_; }
  // Bytes followed the complete message in the feed that completed it: a
  // request pipelined behind it, or, from an upstream, bytes nobody asked
  // for (its connection must not serve another request).
  bool bytes_after_message() const { return bytes_after_message_; }
  bool upgraded() const { return upgraded_ || (message_complete_ && p_.upgrade); }
  bool url_complete() const { return url_complete_; }
  ParseError error() const { return error_; }
  // Why the message was refused (never null).
  const char* error_reason() const;

  // Head fields (valid once head_complete()).
  Span method() const { return method_; }
  Span url() const { return url_; }
  const std::vector<HeaderSpan>& headers() const { return headers_; }
  uint8_t http_major() const { return p_.http_major; }
  uint8_t http_minor() const { return p_.http_minor; }
  int status_code() const { return p_.status_code; }
  bool keep_alive() const { return keep_alive_; }
  bool chunked() const { return (p_.flags & F_CHUNKED) != 0; }
  // Content-Length when the message declared one.
  std::optional<uint64_t> content_length() const { return content_length_; }
  // True when the body runs until the connection closes (responses only).
  bool body_until_close() const { return until_close_; }
  // Offset (in the caller's buffer) just past the end of the head.
  uint32_t head_end() const { return head_end_; }

  // Body bytes a Content-Length message still expects (0 when complete or
  // not framed by Content-Length).
  uint64_t body_left() const;
  // The caller moved `n` of those bytes itself, past the parser (splice(2)
  // of a response body, proxy/splice_body.cc): they count as read, and the
  // message completes when none are left. Precondition: n <= body_left().
  void skip_body(uint64_t n);

  std::vector<Span>& body() { return body_; }
  void clear_body() { body_.clear(); }
  uint64_t body_bytes() const { return body_bytes_; }

 private:
  static int on_url(llhttp_t* p, const char* at, size_t len);
  static int on_method(llhttp_t* p, const char* at, size_t len);
  static int on_header_field(llhttp_t* p, const char* at, size_t len);
  static int on_header_value(llhttp_t* p, const char* at, size_t len);
  static int on_url_complete(llhttp_t* p);
  static int on_headers_complete(llhttp_t* p);
  static int on_body(llhttp_t* p, const char* at, size_t len);
  static int on_chunk_header(llhttp_t* p);
  static int on_message_complete(llhttp_t* p);
  static const llhttp_settings_t* settings();

  // Appends [at, at+len) to `s`; false when not contiguous (cannot happen
  // when the caller only appends to its buffer during the head).
  bool extend(Span& s, const char* at, size_t len);
  // Checks the CRLF due after a chunk's data against the bytes in
  // [from, end); what is not there yet is checked at the next feed().
  // False on any other byte.
  bool check_chunk_crlf(const char* from, const char* end);
  // Checks that every CR in [from, to) outside the body spans from
  // body_[first_span] on is followed by LF; sets the error when not.
  bool check_framing(const char* from, const char* to, size_t first_span);
  bool crs_end_lines(const char* from, const char* to);
  // Records a framing error our own checks found (400 for a request, 502
  // for a response); returns false.
  bool refuse(const char* reason);

  llhttp_t p_;
  Kind kind_;
  const char* base_ = nullptr;
  const char* feed_end_ = nullptr;  // end of the bytes of the current feed()
  Span method_, url_;
  std::vector<HeaderSpan> headers_;
  std::vector<Span> body_;
  std::optional<uint64_t> content_length_;
  uint64_t body_bytes_ = 0;
  uint64_t chunk_left_ = 0;  // data bytes of the current chunk not seen yet
  uint8_t crlf_left_ = 0;    // bytes of the CRLF after chunk data not checked yet
  bool cr_pending_ = false;  // the last framing byte fed was a CR: the next must be LF
  uint32_t head_end_ = 0;
  enum class Last : uint8_t { kNone, kField, kValue } last_ = Last::kNone;
  ParseError error_ = ParseError::kNone;
  const char* reason_ = nullptr;  // set by our own checks; else llhttp's reason
  bool head_complete_ = false;
  bool message_complete_ = false;
  bool bytes_after_message_ = false;
  bool upgraded_ = false;
  bool url_complete_ = false;
  bool keep_alive_ = false;
  bool until_close_ = false;
  bool no_body_ = false;
};

}  // namespace torii::http
