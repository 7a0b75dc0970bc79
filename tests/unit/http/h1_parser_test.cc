// H1Parser: llhttp-based HTTP/1.x parsing as the proxy sees it: the same
// result however the bytes are split, pipelined messages left for the next
// round, chunked / Content-Length / read-until-close bodies, 1xx responses
// skipped, HEAD responses without a body, and the typed errors.
#include "http/h1_parser.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace torii::http {
namespace {

std::string text(const std::string& buf, Span s) { return buf.substr(s.off, s.len); }

// What a parse produced, rendered as strings so that two runs compare.
struct Parsed {
  size_t consumed = 0;
  bool head_complete = false;
  bool message_complete = false;
  ParseError error = ParseError::kNone;
  std::string method;
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  uint32_t head_end = 0;
  std::string body;
  int status = 0;

  bool operator==(const Parsed&) const = default;
};

void collect_body(H1Parser& p, const std::string& buf, std::string& body) {
  for (const Span& s : p.body()) body += text(buf, s);
  p.clear_body();
}

Parsed snapshot(H1Parser& p, const std::string& buf, size_t consumed, std::string body) {
  Parsed r;
  r.consumed = consumed;
  r.head_complete = p.head_complete();
  r.message_complete = p.message_complete();
  r.error = p.error();
  r.method = text(buf, p.method());
  r.url = text(buf, p.url());
  for (const HeaderSpan& h : p.headers()) r.headers.emplace_back(text(buf, h.name), text(buf, h.value));
  r.head_end = p.head_end();
  r.body = std::move(body);
  r.status = p.status_code();
  return r;
}

// Feeds `buf` from `off` in one call.
Parsed parse_whole(H1Parser& p, const std::string& buf, size_t off = 0) {
  const size_t n = p.feed(buf.data(), off, buf.size() - off);
  std::string body;
  collect_body(p, buf, body);
  return snapshot(p, buf, n, body);
}

// Feeds `buf` from `off` one byte per call, stopping where the parser stops.
Parsed parse_bytewise(H1Parser& p, const std::string& buf, size_t off = 0) {
  std::string body;
  size_t consumed = 0;
  for (size_t i = off; i < buf.size(); ++i) {
    const size_t n = p.feed(buf.data(), i, 1);
    consumed += n;
    collect_body(p, buf, body);
    if (p.error() != ParseError::kNone || p.message_complete() || n == 0) break;
  }
  return snapshot(p, buf, consumed, body);
}

// Feeds `buf` in two reads cut at `cut`: the second only when the first
// left the message open without an error.
Parsed parse_in_two(H1Parser& p, const std::string& buf, size_t cut) {
  std::string body;
  size_t n = p.feed(buf.data(), 0, cut);
  collect_body(p, buf, body);
  if (p.error() == ParseError::kNone && !p.message_complete()) {
    n += p.feed(buf.data(), n, buf.size() - n);
    collect_body(p, buf, body);
  }
  return snapshot(p, buf, n, body);
}

Parsed parse_request(const std::string& buf) {
  H1Parser p(H1Parser::Kind::kRequest);
  return parse_whole(p, buf);
}

TEST(HttpH1ParserTest, request_head_fields_point_into_the_buffer) {
  const std::string buf = "GET /a/b?x=1 HTTP/1.1\r\nHost: example.com\r\nX-Id:  42 \r\n\r\n";
  H1Parser p(H1Parser::Kind::kRequest);
  const Parsed r = parse_whole(p, buf);
  EXPECT_EQ(r.consumed, buf.size());
  EXPECT_TRUE(r.head_complete);
  EXPECT_TRUE(r.message_complete);
  EXPECT_EQ(r.method, "GET");
  EXPECT_EQ(r.url, "/a/b?x=1");
  ASSERT_EQ(r.headers.size(), 2u);
  EXPECT_EQ(r.headers[0], (std::pair<std::string, std::string>{"Host", "example.com"}));
  EXPECT_EQ(r.headers[1].first, "X-Id");
  EXPECT_EQ(r.head_end, buf.size());
  EXPECT_EQ(p.http_major(), 1);
  EXPECT_EQ(p.http_minor(), 1);
  EXPECT_TRUE(p.keep_alive());
  EXPECT_TRUE(p.url_complete());
  EXPECT_FALSE(p.content_length().has_value());
}

TEST(HttpH1ParserTest, one_byte_at_a_time_gives_the_same_result_as_all_at_once) {
  const std::vector<std::string> messages = {
      "GET /a/b?x=1 HTTP/1.1\r\nHost: example.com\r\nX-Long-Name: some value here\r\n\r\n",
      "POST /upload HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\nhello world",
      "POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
      "GET / HTTP/1.0\r\n\r\n",
  };
  for (const std::string& m : messages) {
    H1Parser whole(H1Parser::Kind::kRequest);
    H1Parser bytewise(H1Parser::Kind::kRequest);
    const Parsed a = parse_whole(whole, m);
    const Parsed b = parse_bytewise(bytewise, m);
    EXPECT_TRUE(a.message_complete) << m;
    EXPECT_EQ(a.consumed, m.size()) << m;
    EXPECT_EQ(a, b) << m;
    EXPECT_EQ(whole.body_bytes(), bytewise.body_bytes()) << m;
  }
}

TEST(HttpH1ParserTest, one_byte_at_a_time_response_matches) {
  const std::vector<std::string> messages = {
      "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nServer: up\r\n\r\nabc",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok",
      "HTTP/1.1 204 No Content\r\nX: y\r\n\r\n",
  };
  for (const std::string& m : messages) {
    H1Parser whole(H1Parser::Kind::kResponse);
    H1Parser bytewise(H1Parser::Kind::kResponse);
    const Parsed a = parse_whole(whole, m);
    const Parsed b = parse_bytewise(bytewise, m);
    EXPECT_TRUE(a.message_complete) << m;
    EXPECT_EQ(a.consumed, m.size()) << m;
    EXPECT_EQ(a, b) << m;
  }
}

TEST(HttpH1ParserTest, pipelined_requests_stop_after_the_first_message) {
  const std::string first = "GET /a HTTP/1.1\r\nHost: x\r\n\r\n";
  const std::string second = "POST /b HTTP/1.1\r\nHost: y\r\nContent-Length: 2\r\n\r\nhi";
  const std::string buf = first + second;
  H1Parser p(H1Parser::Kind::kRequest);
  const Parsed a = parse_whole(p, buf);
  EXPECT_EQ(a.consumed, first.size());
  EXPECT_TRUE(a.message_complete);
  EXPECT_EQ(a.url, "/a");

  p.reset();
  EXPECT_FALSE(p.message_complete());
  EXPECT_FALSE(p.head_complete());
  const Parsed b = parse_whole(p, buf, first.size());
  EXPECT_EQ(b.consumed, second.size());
  EXPECT_TRUE(b.message_complete);
  EXPECT_EQ(b.method, "POST");
  EXPECT_EQ(b.url, "/b");
  ASSERT_EQ(b.headers.size(), 2u);
  EXPECT_EQ(b.headers[0].second, "y");
  EXPECT_EQ(b.body, "hi");
  EXPECT_EQ(b.head_end, buf.size() - 2);
}

TEST(HttpH1ParserTest, pipelined_with_body_stops_exactly_at_message_end) {
  const std::string first = "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc";
  const std::string buf = first + "GET /next HTTP/1.1\r\n";
  H1Parser p(H1Parser::Kind::kRequest);
  const Parsed a = parse_whole(p, buf);
  EXPECT_EQ(a.consumed, first.size());
  EXPECT_EQ(a.body, "abc");
  EXPECT_EQ(p.body_bytes(), 3u);
}

TEST(HttpH1ParserTest, content_length_body_spans_cover_the_body_bytes) {
  const std::string head = "PUT /x HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n";
  std::string buf = head + "01234";
  H1Parser p(H1Parser::Kind::kRequest);
  size_t n = p.feed(buf.data(), 0, buf.size());
  EXPECT_EQ(n, buf.size());
  EXPECT_TRUE(p.head_complete());
  EXPECT_FALSE(p.message_complete());
  ASSERT_EQ(p.content_length(), std::optional<uint64_t>(10));
  EXPECT_EQ(p.head_end(), head.size());
  ASSERT_EQ(p.body().size(), 1u);
  EXPECT_EQ(p.body()[0].off, head.size());
  EXPECT_EQ(p.body()[0].len, 5u);
  p.clear_body();

  // The caller's buffer grows (and may move) between calls: offsets stay valid.
  buf += "56789";
  n = p.feed(buf.data(), head.size() + 5, 5);
  EXPECT_EQ(n, 5u);
  EXPECT_TRUE(p.message_complete());
  ASSERT_EQ(p.body().size(), 1u);
  EXPECT_EQ(text(buf, p.body()[0]), "56789");
  EXPECT_EQ(p.body_bytes(), 10u);
}

TEST(HttpH1ParserTest, chunked_body_spans_exclude_chunk_framing) {
  const std::string buf =
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\nA;ext=1\r\n0123456789\r\n0\r\n\r\n";
  H1Parser p(H1Parser::Kind::kRequest);
  const size_t n = p.feed(buf.data(), 0, buf.size());
  EXPECT_EQ(n, buf.size());
  EXPECT_TRUE(p.message_complete());
  EXPECT_TRUE(p.chunked());
  EXPECT_FALSE(p.content_length().has_value());
  ASSERT_EQ(p.body().size(), 2u);
  EXPECT_EQ(text(buf, p.body()[0]), "hello");
  EXPECT_EQ(text(buf, p.body()[1]), "0123456789");
  EXPECT_EQ(p.body_bytes(), 15u);
}

TEST(HttpH1ParserTest, trailers_are_not_appended_to_headers) {
  const std::string buf =
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3\r\nabc\r\n0\r\nX-Trailer: evil\r\nHost: other\r\n\r\n";
  for (bool bytewise : {false, true}) {
    H1Parser p(H1Parser::Kind::kRequest);
    const Parsed r = bytewise ? parse_bytewise(p, buf) : parse_whole(p, buf);
    EXPECT_TRUE(r.message_complete);
    EXPECT_EQ(r.consumed, buf.size());
    ASSERT_EQ(r.headers.size(), 2u) << bytewise;
    EXPECT_EQ(r.headers[0].first, "Host");
    EXPECT_EQ(r.headers[0].second, "x");
    EXPECT_EQ(r.headers[1].first, "Transfer-Encoding");
    EXPECT_EQ(r.body, "abc");
  }
}

TEST(HttpH1ParserTest, response_parser_skips_1xx_interim_responses) {
  const std::string buf =
      "HTTP/1.1 100 Continue\r\nX-Interim: 1\r\n\r\n"
      "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Final: 1\r\n\r\nok";
  H1Parser p(H1Parser::Kind::kResponse);
  const Parsed r = parse_whole(p, buf);
  EXPECT_EQ(r.consumed, buf.size());
  EXPECT_TRUE(r.message_complete);
  EXPECT_EQ(r.status, 200);
  ASSERT_EQ(r.headers.size(), 2u);
  EXPECT_EQ(r.headers[0].first, "Content-Length");
  EXPECT_EQ(r.headers[1].first, "X-Final");
  EXPECT_EQ(r.body, "ok");
  EXPECT_EQ(r.head_end, buf.size() - 2);
}

TEST(HttpH1ParserTest, response_101_is_an_upgrade_not_skipped) {
  const std::string head =
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n";
  const std::string buf = head + "\x81\x05hello";
  H1Parser p(H1Parser::Kind::kResponse);
  const size_t n = p.feed(buf.data(), 0, buf.size());
  EXPECT_EQ(n, head.size());
  EXPECT_EQ(p.status_code(), 101);
  EXPECT_TRUE(p.upgraded());
  EXPECT_TRUE(p.message_complete());
  EXPECT_EQ(p.error(), ParseError::kNone);
}

TEST(HttpH1ParserTest, head_response_has_no_body_despite_content_length) {
  const std::string buf = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n";
  H1Parser p(H1Parser::Kind::kResponse);
  p.expect_no_body(true);
  const Parsed r = parse_whole(p, buf);
  EXPECT_EQ(r.consumed, buf.size());
  EXPECT_TRUE(r.message_complete);
  EXPECT_TRUE(r.body.empty());
  EXPECT_FALSE(p.body_until_close());
  EXPECT_EQ(p.content_length(), std::optional<uint64_t>(100));
}

TEST(HttpH1ParserTest, head_response_without_length_does_not_read_until_close) {
  const std::string buf = "HTTP/1.1 200 OK\r\nX: y\r\n\r\n";
  H1Parser p(H1Parser::Kind::kResponse);
  p.expect_no_body(true);
  const Parsed r = parse_whole(p, buf);
  EXPECT_TRUE(r.message_complete);
  EXPECT_FALSE(p.body_until_close());
}

TEST(HttpH1ParserTest, reset_clears_expect_no_body) {
  H1Parser p(H1Parser::Kind::kResponse);
  p.expect_no_body(true);
  p.reset();
  const std::string buf = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
  const Parsed r = parse_whole(p, buf);
  EXPECT_TRUE(r.message_complete);
  EXPECT_EQ(r.body, "ok");
}

TEST(HttpH1ParserTest, body_until_close_completes_on_finish) {
  const std::string buf = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nabc";
  H1Parser p(H1Parser::Kind::kResponse);
  const Parsed r = parse_whole(p, buf);
  EXPECT_EQ(r.consumed, buf.size());
  EXPECT_TRUE(r.head_complete);
  EXPECT_FALSE(r.message_complete);
  EXPECT_TRUE(p.body_until_close());
  EXPECT_EQ(r.body, "abc");
  EXPECT_TRUE(p.finish());
  EXPECT_TRUE(p.message_complete());
}

TEST(HttpH1ParserTest, no_body_statuses_are_not_read_until_close) {
  for (const char* status : {"204 No Content", "304 Not Modified"}) {
    const std::string buf = std::string("HTTP/1.1 ") + status + "\r\nX: y\r\n\r\n";
    H1Parser p(H1Parser::Kind::kResponse);
    const Parsed r = parse_whole(p, buf);
    EXPECT_TRUE(r.message_complete) << status;
    EXPECT_FALSE(p.body_until_close()) << status;
  }
}

// RFC 9112 6.3: a 204 or 304 ends at its head even with a Content-Length
// or a chunked coding (llhttp 8.1 would read a body); what follows is the
// next response.
TEST(HttpH1ParserTest, no_body_statuses_end_at_the_head_whatever_their_framing) {
  for (const char* head : {"HTTP/1.1 304 Not Modified\r\nContent-Length: 1234\r\n\r\n",
                           "HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\n\r\n"}) {
    const std::string buf = std::string(head) + "HTTP/1.1 200 OK";
    H1Parser p(H1Parser::Kind::kResponse);
    const Parsed r = parse_whole(p, buf);
    EXPECT_TRUE(r.message_complete) << head;
    EXPECT_EQ(r.consumed, std::string_view(head).size()) << head;
    EXPECT_TRUE(r.body.empty()) << head;
    EXPECT_FALSE(p.body_until_close()) << head;
  }
}

TEST(HttpH1ParserTest, finish_reports_a_body_cut_short) {
  const std::string buf = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc";
  H1Parser p(H1Parser::Kind::kResponse);
  parse_whole(p, buf);
  EXPECT_FALSE(p.message_complete());
  EXPECT_FALSE(p.finish());
  EXPECT_FALSE(p.message_complete());
}

TEST(HttpH1ParserTest, finish_reports_a_head_cut_short) {
  const std::string buf = "HTTP/1.1 200 OK\r\nContent-Le";
  H1Parser p(H1Parser::Kind::kResponse);
  parse_whole(p, buf);
  EXPECT_FALSE(p.finish());
}

TEST(HttpH1ParserTest, malformed_request_line_is_a_bad_request) {
  for (const std::string buf : {"GET /a HTTP/1.1 extra\r\n\r\n", "GET /a HTTQ/1.1\r\n\r\n",
                                "GET\r\n\r\n", "GET /a HTTP/1.1\r\nHost x\r\n\r\n"}) {
    const Parsed r = parse_request(buf);
    EXPECT_EQ(r.error, ParseError::kBadRequest) << buf;
    EXPECT_FALSE(r.message_complete) << buf;
  }
}

TEST(HttpH1ParserTest, unknown_method_is_refused_with_a_400_class_error) {
  const Parsed r = parse_request("FOO / HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_TRUE(r.error == ParseError::kBadRequest)
      << static_cast<int>(r.error);
}

TEST(HttpH1ParserTest, content_length_with_transfer_encoding_is_refused) {
  const Parsed r = parse_request(
      "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
      "0\r\n\r\n");
  EXPECT_NE(r.error, ParseError::kNone);
  EXPECT_FALSE(r.message_complete);
}

TEST(HttpH1ParserTest, invalid_content_length_is_a_bad_request) {
  for (const char* cl : {"abc", "-1", "1, 2"}) {
    const Parsed r =
        parse_request(std::string("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: ") + cl + "\r\n\r\n");
    EXPECT_EQ(r.error, ParseError::kBadRequest) << cl;
  }
}

TEST(HttpH1ParserTest, bad_chunk_size_is_a_bad_request) {
  const Parsed r = parse_request(
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n");
  EXPECT_EQ(r.error, ParseError::kBadRequest);
}

// llhttp's default build skips the two bytes after a chunk's data without
// reading them; the parser checks they are CRLF, wherever the reads split.
TEST(HttpH1ParserTest, chunk_data_not_followed_by_crlf_is_refused_however_split) {
  const std::string head = "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (const std::string bad : {"5\r\nhelloXX0\r\n\r\n", "5\r\nhello\rX0\r\n\r\n",
                                "5\r\nhello\n\r0\r\n\r\n", "5\r\nhello\r\r0\r\n\r\n",
                                "2\r\nab\r\n3\r\nabc\n\n0\r\n\r\n"}) {
    const std::string buf = head + bad;
    H1Parser whole(H1Parser::Kind::kRequest);
    EXPECT_EQ(parse_whole(whole, buf).error, ParseError::kBadRequest) << bad;
    EXPECT_STREQ(whole.error_reason(), "Expected CRLF after chunk data");
    H1Parser bytewise(H1Parser::Kind::kRequest);
    EXPECT_EQ(parse_bytewise(bytewise, buf).error, ParseError::kBadRequest) << bad;
    // Split once at every position: the CRLF may straddle two reads.
    for (size_t cut = head.size(); cut < buf.size(); ++cut) {
      H1Parser p(H1Parser::Kind::kRequest);
      const Parsed r = parse_in_two(p, buf, cut);
      EXPECT_EQ(r.error, ParseError::kBadRequest) << bad << " cut at " << cut;
      EXPECT_FALSE(r.message_complete) << bad << " cut at " << cut;
    }
  }
}

TEST(HttpH1ParserTest, well_formed_chunks_pass_however_split) {
  const std::string buf =
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n1;e=1\r\n!\r\n0\r\nX-T: 1\r\n\r\n";
  for (size_t cut = 1; cut < buf.size(); ++cut) {
    H1Parser p(H1Parser::Kind::kRequest);
    const Parsed r = parse_in_two(p, buf, cut);
    EXPECT_EQ(r.error, ParseError::kNone) << "cut at " << cut;
    EXPECT_TRUE(r.message_complete) << "cut at " << cut;
    EXPECT_EQ(r.consumed, buf.size());
    EXPECT_EQ(r.body, "hello!");
  }
}

TEST(HttpH1ParserTest, upstream_chunk_without_crlf_is_a_bad_response) {
  const std::string buf = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcXY0\r\n\r\n";
  H1Parser p(H1Parser::Kind::kResponse);
  EXPECT_EQ(parse_whole(p, buf).error, ParseError::kBadResponse);
  H1Parser q(H1Parser::Kind::kResponse);
  EXPECT_EQ(parse_bytewise(q, buf).error, ParseError::kBadResponse);
}

TEST(HttpH1ParserTest, reset_forgets_a_pending_chunk_crlf) {
  // A message that stopped right after chunk data, then a new message.
  const std::string first =
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc";
  H1Parser p(H1Parser::Kind::kRequest);
  p.feed(first.data(), 0, first.size());
  ASSERT_EQ(p.error(), ParseError::kNone);
  p.reset();
  const std::string next = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  EXPECT_EQ(parse_whole(p, next).error, ParseError::kNone) << p.error_reason();
  EXPECT_TRUE(p.message_complete());
}

// The default build also takes any byte after a CR as its LF: at the end of
// a chunk-size line, of the trailer section and of the head.
TEST(HttpH1ParserTest, cr_not_followed_by_lf_in_framing_is_refused_however_split) {
  const std::string head = "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  const std::vector<std::string> bad = {
      head + "5\rXhello\r\n0\r\n\r\n",           // chunk-size line
      head + "5;e=1\rXhello\r\n0\r\n\r\n",       // after an extension
      head + "5\r\nhello\r\n0\r\n\rX",            // end of the trailer section
      head + "5\r\nhello\r\n0\r\nT: 1\r\n\rX",   // end of real trailers
      "GET / HTTP/1.1\r\nHost: x\r\n\rX",              // end of the head
  };
  for (const std::string& buf : bad) {
    H1Parser whole(H1Parser::Kind::kRequest);
    EXPECT_EQ(parse_whole(whole, buf).error, ParseError::kBadRequest) << buf;
    EXPECT_STREQ(whole.error_reason(), "CR not followed by LF");
    for (size_t cut = 1; cut < buf.size(); ++cut) {
      H1Parser p(H1Parser::Kind::kRequest);
      EXPECT_EQ(parse_in_two(p, buf, cut).error, ParseError::kBadRequest) << buf << " cut at " << cut;
    }
  }
}

TEST(HttpH1ParserTest, upstream_head_ending_in_cr_and_junk_is_a_bad_response) {
  const std::string buf = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\rXhello";
  H1Parser p(H1Parser::Kind::kResponse);
  EXPECT_EQ(parse_whole(p, buf).error, ParseError::kBadResponse);
  H1Parser q(H1Parser::Kind::kResponse);
  EXPECT_EQ(parse_bytewise(q, buf).error, ParseError::kBadResponse);
}

// Body bytes are data: a CR in them is not a line end.
TEST(HttpH1ParserTest, cr_in_body_data_is_not_checked) {
  const std::vector<std::pair<std::string, std::string>> ok = {
      {"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\na\rb\r", "a\rb\r"},
      {"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
       "3\r\n\rX\r\r\n1\r\n\r\r\n0\r\n\r\n",
       "\rX\r\r"},
  };
  for (const auto& [buf, body_expected] : ok) {
    for (size_t cut = 1; cut < buf.size(); ++cut) {
      H1Parser p(H1Parser::Kind::kRequest);
      const Parsed r = parse_in_two(p, buf, cut);
      EXPECT_EQ(r.error, ParseError::kNone) << buf << " cut at " << cut << ": " << p.error_reason();
      EXPECT_TRUE(r.message_complete) << buf << " cut at " << cut;
      EXPECT_EQ(r.body, body_expected);
    }
  }
}

TEST(HttpH1ParserTest, more_than_128_headers_is_too_many) {
  auto request = [](int n) {
    std::string buf = "GET / HTTP/1.1\r\n";
    for (int i = 0; i < n; ++i) buf += "X-H" + std::to_string(i) + ": v\r\n";
    return buf + "\r\n";
  };
  const Parsed ok = parse_request(request(128));
  EXPECT_EQ(ok.error, ParseError::kNone);
  EXPECT_TRUE(ok.message_complete);
  EXPECT_EQ(ok.headers.size(), 128u);

  const Parsed too_many = parse_request(request(129));
  EXPECT_EQ(too_many.error, ParseError::kTooManyHeaders);
  EXPECT_FALSE(too_many.head_complete);
}

TEST(HttpH1ParserTest, too_many_headers_bytewise) {
  std::string buf = "GET / HTTP/1.1\r\n";
  for (int i = 0; i < 129; ++i) buf += "X-H" + std::to_string(i) + ": v\r\n";
  buf += "\r\n";
  H1Parser p(H1Parser::Kind::kRequest);
  const Parsed r = parse_bytewise(p, buf);
  EXPECT_EQ(r.error, ParseError::kTooManyHeaders);
}

TEST(HttpH1ParserTest, transfer_encoding_not_ending_in_chunked_is_unsupported_coding) {
  const Parsed r = parse_request(
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\nabc");
  EXPECT_EQ(r.error, ParseError::kUnsupportedCoding);
}

TEST(HttpH1ParserTest, bad_upstream_response_is_bad_response) {
  H1Parser p(H1Parser::Kind::kResponse);
  const Parsed r = parse_whole(p, "NOT HTTP AT ALL\r\n\r\n");
  EXPECT_EQ(r.error, ParseError::kBadResponse);
}

TEST(HttpH1ParserTest, http10_request_is_not_keep_alive_by_default) {
  H1Parser p(H1Parser::Kind::kRequest);
  parse_whole(p, "GET / HTTP/1.0\r\n\r\n");
  EXPECT_TRUE(p.message_complete());
  EXPECT_EQ(p.http_minor(), 0);
  EXPECT_FALSE(p.keep_alive());
}

TEST(HttpH1ParserTest, connection_close_is_not_keep_alive) {
  H1Parser p(H1Parser::Kind::kRequest);
  parse_whole(p, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_TRUE(p.message_complete());
  EXPECT_FALSE(p.keep_alive());
}

TEST(HttpH1ParserTest, request_upgrade_stops_before_tunnel_data) {
  const std::string head =
      "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n";
  const std::string buf = head + "tunnel-bytes";
  H1Parser p(H1Parser::Kind::kRequest);
  const size_t n = p.feed(buf.data(), 0, buf.size());
  EXPECT_EQ(n, head.size());
  EXPECT_TRUE(p.upgraded());
  EXPECT_EQ(p.head_end(), head.size());
}

// ------------------------------------------------- bodies moved past the parser

TEST(HttpH1ParserTest, body_left_counts_down_and_skip_body_completes_the_message) {
  const std::string head = "HTTP/1.1 200 OK\r\nContent-Length: 10000\r\n\r\n";
  const std::string start(1000, 'a');
  const std::string buf = head + start;
  H1Parser p(H1Parser::Kind::kResponse);
  EXPECT_EQ(p.body_left(), 0u) << "nothing is owed before the head";
  EXPECT_EQ(p.feed(buf.data(), 0, buf.size()), buf.size());
  ASSERT_TRUE(p.head_complete());
  EXPECT_EQ(p.body_left(), 9000u);
  // What the caller moves itself (splice) counts as read.
  p.skip_body(8990);
  EXPECT_EQ(p.body_left(), 10u);
  EXPECT_FALSE(p.message_complete());
  // The parser goes on where the skipped bytes end.
  const std::string tail(10, 'z');
  EXPECT_EQ(p.feed(tail.data(), 0, tail.size()), tail.size());
  EXPECT_TRUE(p.message_complete());
  EXPECT_EQ(p.body_bytes(), 10000u);
  EXPECT_TRUE(p.keep_alive());

  H1Parser q(H1Parser::Kind::kResponse);
  q.feed(buf.data(), 0, buf.size());
  q.skip_body(9000);
  EXPECT_TRUE(q.message_complete()) << "skipping the last byte completes the message";
  EXPECT_EQ(q.body_left(), 0u);
  EXPECT_TRUE(q.keep_alive());
  q.skip_body(5);  // past the end: nothing more is owed, nothing changes
  EXPECT_EQ(q.body_bytes(), 10000u);
}

TEST(HttpH1ParserTest, body_left_is_zero_without_a_content_length) {
  const std::string chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n";
  H1Parser p(H1Parser::Kind::kResponse);
  p.feed(chunked.data(), 0, chunked.size());
  ASSERT_TRUE(p.head_complete());
  EXPECT_EQ(p.body_left(), 0u);
  const std::string until_close = "HTTP/1.1 200 OK\r\n\r\nabc";
  H1Parser q(H1Parser::Kind::kResponse);
  q.feed(until_close.data(), 0, until_close.size());
  ASSERT_TRUE(q.head_complete());
  EXPECT_EQ(q.body_left(), 0u);
}

}  // namespace
}  // namespace torii::http
