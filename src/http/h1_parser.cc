#include "http/h1_parser.h"

#include <cstring>

namespace torii::http {
namespace {

H1Parser* self(llhttp_t* p) { return static_cast<H1Parser*>(p->data); }

}  // namespace

const llhttp_settings_t* H1Parser::settings() {
  static const llhttp_settings_t s = [] {
    llhttp_settings_t st;
    llhttp_settings_init(&st);
    st.on_url = &H1Parser::on_url;
    st.on_method = &H1Parser::on_method;
    st.on_header_field = &H1Parser::on_header_field;
    st.on_header_value = &H1Parser::on_header_value;
    st.on_url_complete = &H1Parser::on_url_complete;
    st.on_headers_complete = &H1Parser::on_headers_complete;
    st.on_body = &H1Parser::on_body;
    st.on_chunk_header = &H1Parser::on_chunk_header;
    st.on_message_complete = &H1Parser::on_message_complete;
    return st;
  }();
  return &s;
}

H1Parser::H1Parser(Kind kind) : kind_(kind) {
  llhttp_init(&p_, kind == Kind::kRequest ? HTTP_REQUEST : HTTP_RESPONSE, settings());
  p_.data = this;
  headers_.reserve(16);
}

void H1Parser::reset() {
  llhttp_init(&p_, kind_ == Kind::kRequest ? HTTP_REQUEST : HTTP_RESPONSE, settings());
  p_.data = this;
  method_ = url_ = Span{};
  headers_.clear();
  body_.clear();
  content_length_.reset();
  body_bytes_ = 0;
  chunk_left_ = 0;
  crlf_left_ = 0;
  cr_pending_ = false;
  head_end_ = 0;
  last_ = Last::kNone;
  error_ = ParseError::kNone;
  reason_ = nullptr;
  head_complete_ = message_complete_ = upgraded_ = url_complete_ = bytes_after_message_ = false;
  keep_alive_ = until_close_ = no_body_ = false;
}

uint64_t H1Parser::body_left() const {
  if (!head_complete_ || message_complete_ || !content_length_) return 0;
  return p_.content_length;  // llhttp counts it down as body bytes pass
}

void H1Parser::skip_body(uint64_t n) {
  const uint64_t left = body_left();
  if (n > left) n = left;
  p_.content_length -= n;
  body_bytes_ += n;
  if (n == left && left > 0) message_complete_ = true;
}

bool H1Parser::extend(Span& s, const char* at, size_t len) {
  const auto off = static_cast<uint32_t>(at - base_);
  if (s.len == 0) {
    s.off = off;
    s.len = static_cast<uint32_t>(len);
    return true;
  }
  if (s.off + s.len != off) return false;
  s.len += static_cast<uint32_t>(len);
  return true;
}

int H1Parser::on_url(llhttp_t* p, const char* at, size_t len) {
  return self(p)->extend(self(p)->url_, at, len) ? 0 : -1;
}

int H1Parser::on_method(llhttp_t* p, const char* at, size_t len) {
  return self(p)->extend(self(p)->method_, at, len) ? 0 : -1;
}

int H1Parser::on_url_complete(llhttp_t* p) {
  self(p)->url_complete_ = true;
  return 0;
}

int H1Parser::on_header_field(llhttp_t* p, const char* at, size_t len) {
  H1Parser* s = self(p);
  // Trailers (after the last chunk) are not headers: they must not drive
  // routing or be forwarded. They are dropped, like nginx does.
  if (s->head_complete_) return 0;
  if (s->last_ != Last::kField) {
    if (s->headers_.size() >= kMaxHeaders) {
      s->error_ = ParseError::kTooManyHeaders;
      return -1;
    }
    s->headers_.emplace_back();
    s->last_ = Last::kField;
  }
  return s->extend(s->headers_.back().name, at, len) ? 0 : -1;
}

int H1Parser::on_header_value(llhttp_t* p, const char* at, size_t len) {
  H1Parser* s = self(p);
  if (s->head_complete_) return 0;  // a trailer: see on_header_field
  s->last_ = Last::kValue;
  Span& v = s->headers_.back().value;
  if (v.len == 0 && len > 0) {
    v.off = static_cast<uint32_t>(at - s->base_);
  }
  return s->extend(v, at, len) ? 0 : -1;
}

int H1Parser::on_headers_complete(llhttp_t* p) {
  H1Parser* s = self(p);
  s->head_complete_ = true;
  s->keep_alive_ = llhttp_should_keep_alive(p) != 0;
  if (p->flags & F_CONTENT_LENGTH) s->content_length_ = p->content_length;
  if (s->kind_ == Kind::kResponse) {
    const int st = p->status_code;
    const bool bodyless = s->no_body_ || (st >= 100 && st < 200) || st == 204 || st == 304;
    // What returning 1 would do. llhttp 8.1 skips the body of 1xx, 204 and
    // 304 only when they carry no Content-Length and no chunked coding
    // (llhttp 9 always does); RFC 9112 6.3 ends them at the head regardless.
    if (bodyless) p->flags |= F_SKIPBODY;
    s->until_close_ = !bodyless && !(p->flags & (F_CHUNKED | F_CONTENT_LENGTH));
  }
  // Pause so feed() learns where the head ends; it resumes at once.
  return HPE_PAUSED;
}

int H1Parser::on_body(llhttp_t* p, const char* at, size_t len) {
  H1Parser* s = self(p);
  s->body_.push_back(Span{static_cast<uint32_t>(at - s->base_), static_cast<uint32_t>(len)});
  s->body_bytes_ += len;
  if (s->chunk_left_ > 0) {
    s->chunk_left_ -= len;
    if (s->chunk_left_ == 0) {
      s->crlf_left_ = 2;
      if (!s->check_chunk_crlf(at + len, s->feed_end_)) return -1;
    }
  }
  return 0;
}

// The chunk's size is in content_length once its size line is parsed. The
// last chunk (size 0) has no data and no CRLF of its own: what follows it is
// the trailer section, which llhttp parses as a head.
int H1Parser::on_chunk_header(llhttp_t* p) {
  self(p)->chunk_left_ = p->content_length;
  return 0;
}

bool H1Parser::check_chunk_crlf(const char* from, const char* end) {
  for (; crlf_left_ > 0 && from < end; ++from, --crlf_left_) {
    if (*from != (crlf_left_ == 2 ? '\r' : '\n')) return refuse("Expected CRLF after chunk data");
  }
  return true;
}

int H1Parser::on_message_complete(llhttp_t* p) {
  H1Parser* s = self(p);
  // A 1xx interim response (100 Continue) is not the message we wait for.
  if (s->kind_ == Kind::kResponse && p->status_code >= 100 && p->status_code < 200 &&
      p->status_code != 101) {
    s->headers_.clear();
    s->head_complete_ = false;
    s->last_ = Last::kNone;
    return 0;
  }
  s->message_complete_ = true;
  return HPE_PAUSED;
}

const char* H1Parser::error_reason() const {
  if (reason_ != nullptr) return reason_;
  const char* r = llhttp_get_error_reason(&p_);
  return r != nullptr ? r : "invalid message";
}

// llhttp's default build takes any byte after a CR as the LF that must
// follow it: at the end of the head, of a chunk-size line, of the trailer
// section. Outside body data every CR must end a line.
bool H1Parser::crs_end_lines(const char* from, const char* to) {
  if (cr_pending_ && from < to) {
    if (*from != '\n') return false;
    cr_pending_ = false;
    ++from;
  }
  while (from < to) {
    const auto* cr = static_cast<const char*>(std::memchr(from, '\r', static_cast<size_t>(to - from)));
    if (cr == nullptr) return true;
    if (cr + 1 == to) {
      cr_pending_ = true;  // its LF comes with the next bytes
      return true;
    }
    if (cr[1] != '\n') return false;
    from = cr + 2;
  }
  return true;
}

bool H1Parser::check_framing(const char* from, const char* to, size_t first_span) {
  bool clean = true;
  for (size_t i = first_span; clean && i < body_.size(); ++i) {
    const char* data = base_ + body_[i].off;
    clean = crs_end_lines(from, data);
    from = data + body_[i].len;
  }
  return (clean && crs_end_lines(from, to)) || refuse("CR not followed by LF");
}

bool H1Parser::refuse(const char* reason) {
  error_ = kind_ == Kind::kRequest ? ParseError::kBadRequest : ParseError::kBadResponse;
  reason_ = reason;
  return false;
}

size_t H1Parser::feed(const char* base, size_t off, size_t len) {
  base_ = base;
  const char* start = base + off;
  feed_end_ = start + len;
  // The end of a chunk's CRLF that the previous feed() did not have.
  if (crlf_left_ > 0 && !check_chunk_crlf(start, feed_end_)) return 0;
  size_t done = 0;
  for (;;) {
    const char* from = start + done;
    const size_t spans_before = body_.size();
    const llhttp_errno_t err = llhttp_execute(&p_, from, len - done);
    const char* pos = err == HPE_OK ? start + len : llhttp_get_error_pos(&p_);
    const bool parsed = err == HPE_OK || err == HPE_PAUSED || err == HPE_PAUSED_UPGRADE;
    if (parsed && !check_framing(from, pos, spans_before)) return static_cast<size_t>(pos - start);
    if (err == HPE_OK) return len;
    done = pos ? static_cast<size_t>(pos - start) : len;
    if (err == HPE_PAUSED) {
      llhttp_resume(&p_);
      if (message_complete_) {
        bytes_after_message_ = done < len;
        return done;
      }
      head_end_ = static_cast<uint32_t>(pos - base_);  // paused by on_headers_complete
      continue;
    }
    if (err == HPE_PAUSED_UPGRADE) {
      upgraded_ = true;
      message_complete_ = true;
      return done;
    }
    if (error_ == ParseError::kNone) {
      if (kind_ == Kind::kRequest) {
        error_ = err == HPE_INVALID_TRANSFER_ENCODING ? ParseError::kUnsupportedCoding
                                                      : ParseError::kBadRequest;
      } else {
        error_ = ParseError::kBadResponse;
      }
    }
    return done;
  }
}

bool H1Parser::finish() {
  base_ = nullptr;
  const llhttp_errno_t err = llhttp_finish(&p_);
  if (err == HPE_OK || err == HPE_PAUSED) {
    if (until_close_ && head_complete_) message_complete_ = true;
    return message_complete_;
  }
  return false;
}

}  // namespace torii::http
