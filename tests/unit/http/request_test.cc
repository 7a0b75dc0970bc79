// build_request: what a request head becomes once the parser accepted it:
// host normalisation, absolute-form targets, Host rules, the head shapes
// RFC 9112 forbids (bare LF, obs-fold, bare CR, bad field names), Expect,
// Transfer-Encoding, WebSocket upgrade detection, CONNECT, control
// characters in the target, HTTP versions and the status each refusal gets.
#include "http/request.h"

#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <string>

namespace torii::http {
namespace {

// Parses a complete head with a real H1Parser over a real InputBuffer.
struct Parsed {
  core::InputBuffer buf{256};
  H1Parser parser{H1Parser::Kind::kRequest};
  Request req;
  bool parser_ok = false;
  RequestError error = RequestError::kNone;

  explicit Parsed(const std::string& raw) {
    buf.reserve(raw.size() + 1);
    std::memcpy(buf.write_area().data(), raw.data(), raw.size());
    buf.commit(raw.size());
    parser.feed(buf.data(), 0, buf.size());
    parser_ok = parser.error() == ParseError::kNone && parser.head_complete();
    if (parser_ok) error = build_request(parser, buf, 0, req);
  }
  // True when the request would be served (parser and build_request agree).
  bool accepted() const { return parser_ok && error == RequestError::kNone; }
};

std::unique_ptr<Parsed> parse(const std::string& raw) { return std::make_unique<Parsed>(raw); }

std::unique_ptr<Parsed> get_with(const std::string& headers) {
  return parse("GET / HTTP/1.1\r\n" + headers + "\r\n");
}

TEST(HttpRequestTest, fields_of_a_simple_request) {
  auto p = parse("GET /a/b%20c?x=1&y=2 HTTP/1.1\r\nHost: example.com\r\nX-Id: 7\r\n\r\n");
  ASSERT_TRUE(p->accepted());
  const Request& r = p->req;
  EXPECT_EQ(r.method, Method::kGet);
  EXPECT_EQ(r.method_token, "GET");
  EXPECT_EQ(r.target, "/a/b%20c?x=1&y=2");
  EXPECT_EQ(r.raw_path, "/a/b%20c");
  EXPECT_EQ(r.query, "x=1&y=2");
  EXPECT_EQ(r.path, "/a/b c");
  EXPECT_EQ(r.host, "example.com");
  EXPECT_EQ(r.host_header, "example.com");
  EXPECT_EQ(r.version_major, 1);
  EXPECT_EQ(r.version_minor, 1);
  EXPECT_TRUE(r.keep_alive);
  EXPECT_FALSE(r.has_body());
  EXPECT_EQ(r.header("x-id"), std::optional<std::string_view>("7"));
  EXPECT_EQ(r.header("X-ID"), std::optional<std::string_view>("7"));
  EXPECT_EQ(r.header("x-none"), std::nullopt);
  EXPECT_EQ(r.headers.size(), 2u);
}

TEST(HttpRequestTest, header_values_are_trimmed) {
  auto p = get_with("Host: h\r\nX-A:   spaced\t \r\n");
  ASSERT_TRUE(p->accepted());
  EXPECT_EQ(p->req.header("x-a"), std::optional<std::string_view>("spaced"));
}

TEST(HttpRequestTest, host_is_lower_cased_without_port) {
  auto p = get_with("Host: Example.COM:8080\r\n");
  ASSERT_TRUE(p->accepted());
  EXPECT_EQ(p->req.host, "example.com");
  EXPECT_EQ(p->req.host_header, "Example.COM:8080");
}

TEST(HttpRequestTest, ipv6_host_keeps_brackets_and_drops_port) {
  auto p = get_with("Host: [::1]:9080\r\n");
  ASSERT_TRUE(p->accepted());
  EXPECT_EQ(p->req.host, "[::1]");
  auto q = get_with("Host: [2001:DB8::1]\r\n");
  ASSERT_TRUE(q->accepted());
  EXPECT_EQ(q->req.host, "[2001:db8::1]");
}

TEST(HttpRequestTest, unclosed_ipv6_host_is_refused) {
  auto p = get_with("Host: [::1:80\r\n");
  EXPECT_FALSE(p->accepted());
  EXPECT_EQ(p->error, RequestError::kBadRequest);
}

TEST(HttpRequestTest, host_trailing_dot_is_dropped) {
  auto p = get_with("Host: example.com.\r\n");
  ASSERT_TRUE(p->accepted());
  EXPECT_EQ(p->req.host, "example.com");
  auto q = get_with("Host: example.com.:80\r\n");
  ASSERT_TRUE(q->accepted());
  EXPECT_EQ(q->req.host, "example.com");
}

TEST(HttpRequestTest, host_with_invalid_characters_is_refused) {
  for (const char* h : {"a/b", "a b", "a@b", "a\"b", "a%2fb"}) {
    auto p = get_with(std::string("Host: ") + h + "\r\n");
    EXPECT_FALSE(p->accepted()) << h;
  }
}

TEST(HttpRequestTest, host_of_only_dots_is_refused) {
  auto p = get_with("Host: ...\r\n");
  EXPECT_FALSE(p->accepted());
}

TEST(HttpRequestTest, absolute_form_target_replaces_host) {
  auto p = parse("GET http://Foo.Example:81/p/q?z=1 HTTP/1.1\r\nHost: other\r\n\r\n");
  ASSERT_TRUE(p->accepted());
  EXPECT_EQ(p->req.host, "foo.example");
  EXPECT_EQ(p->req.host_header, "Foo.Example:81");
  EXPECT_EQ(p->req.target, "/p/q?z=1");
  EXPECT_EQ(p->req.path, "/p/q");
  EXPECT_EQ(p->req.query, "z=1");
  // The ignored Host header takes the authority's value, so no reader of
  // "Host" (a signature over it) sees a host the request is not routed by.
  EXPECT_EQ(p->req.header("host"), "Foo.Example:81");
  size_t hosts = 0;
  for (const auto& h : p->req.headers) hosts += h.name == "Host";
  EXPECT_EQ(hosts, 1u);
}

TEST(HttpRequestTest, absolute_form_without_path_targets_root) {
  auto p = parse("GET http://foo.example HTTP/1.1\r\n\r\n");
  ASSERT_TRUE(p->accepted());
  EXPECT_EQ(p->req.host, "foo.example");
  EXPECT_EQ(p->req.target, "/");
  EXPECT_EQ(p->req.path, "/");
}

TEST(HttpRequestTest, absolute_form_satisfies_the_host_requirement) {
  auto p = parse("GET https://a.example/x HTTP/1.1\r\n\r\n");
  ASSERT_TRUE(p->accepted());
  EXPECT_EQ(p->req.host, "a.example");
  EXPECT_FALSE(p->req.header("host"));  // none sent, none made up
}

TEST(HttpRequestTest, missing_host_on_http11_is_refused) {
  auto p = parse("GET / HTTP/1.1\r\nX: y\r\n\r\n");
  EXPECT_TRUE(p->parser_ok);
  EXPECT_EQ(p->error, RequestError::kBadRequest);
}

TEST(HttpRequestTest, missing_host_on_http10_is_accepted) {
  auto p = parse("GET /x HTTP/1.0\r\n\r\n");
  ASSERT_TRUE(p->accepted());
  EXPECT_EQ(p->req.host, "");
  EXPECT_EQ(p->req.version_minor, 0);
  EXPECT_FALSE(p->req.keep_alive);
}

TEST(HttpRequestTest, duplicate_host_is_refused) {
  auto p = get_with("Host: a\r\nhost: a\r\n");
  EXPECT_TRUE(p->parser_ok);
  EXPECT_EQ(p->error, RequestError::kBadRequest);
}

TEST(HttpRequestTest, bare_lf_is_refused) {
  EXPECT_FALSE(parse("GET / HTTP/1.1\r\nHost: x\nX: y\r\n\r\n")->accepted());
  EXPECT_FALSE(parse("GET / HTTP/1.1\nHost: x\r\n\r\n")->accepted());
  EXPECT_FALSE(parse("GET / HTTP/1.1\r\nHost: x\r\n\n")->accepted());
}

TEST(HttpRequestTest, obs_fold_is_refused) {
  EXPECT_FALSE(get_with("Host: x\r\nX-A: one\r\n two\r\n")->accepted());
  EXPECT_FALSE(get_with("Host: x\r\nX-A: one\r\n\ttwo\r\n")->accepted());
}

TEST(HttpRequestTest, bare_cr_is_refused) {
  EXPECT_FALSE(get_with("Host: x\r\nX-A: a\rb\r\n")->accepted());
  EXPECT_FALSE(get_with("Host: x\r\nX-A: a\rX-B: b\r\n")->accepted());
}

TEST(HttpRequestTest, invalid_field_names_are_refused) {
  EXPECT_FALSE(get_with("Host: x\r\nX A: 1\r\n")->accepted());
  EXPECT_FALSE(get_with("Host: x\r\nX-A : 1\r\n")->accepted());
  EXPECT_FALSE(get_with("Host: x\r\n: 1\r\n")->accepted());
  EXPECT_FALSE(get_with("Host: x\r\nX(A): 1\r\n")->accepted());
}

TEST(HttpRequestTest, token_characters_in_field_names_are_accepted) {
  auto p = get_with("Host: x\r\nX-A_b.c!#$%&'*+^`|~9: 1\r\n");
  EXPECT_TRUE(p->accepted());
}

TEST(HttpRequestTest, expect_100_continue_sets_the_flag_on_http11) {
  auto p = get_with("Host: x\r\nExpect: 100-Continue\r\nContent-Length: 3\r\n");
  ASSERT_TRUE(p->accepted());
  EXPECT_TRUE(p->req.expect_continue);
}

TEST(HttpRequestTest, expect_100_continue_is_ignored_on_http10) {
  auto p = parse("POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n");
  ASSERT_TRUE(p->accepted());
  EXPECT_FALSE(p->req.expect_continue);
}

TEST(HttpRequestTest, other_expect_values_are_not_implemented) {
  auto p = get_with("Host: x\r\nExpect: something-else\r\n");
  EXPECT_EQ(p->error, RequestError::kNotImplemented);
}

TEST(HttpRequestTest, content_length_is_reported) {
  auto p = parse("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 12\r\n\r\n");
  ASSERT_TRUE(p->accepted());
  EXPECT_EQ(p->req.content_length, std::optional<uint64_t>(12));
  EXPECT_FALSE(p->req.chunked);
  EXPECT_TRUE(p->req.has_body());
}

TEST(HttpRequestTest, zero_content_length_has_no_body) {
  auto p = parse("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
  ASSERT_TRUE(p->accepted());
  EXPECT_FALSE(p->req.has_body());
}

TEST(HttpRequestTest, chunked_transfer_encoding_is_accepted) {
  auto p = parse("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\n\r\n");
  ASSERT_TRUE(p->accepted());
  EXPECT_TRUE(p->req.chunked);
  EXPECT_TRUE(p->req.has_body());
}

TEST(HttpRequestTest, coding_list_ending_in_chunked_is_not_implemented) {
  auto p = parse("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n");
  EXPECT_TRUE(p->parser_ok);
  EXPECT_EQ(p->error, RequestError::kNotImplemented);
}

TEST(HttpRequestTest, transfer_encoding_on_http10_is_a_bad_request) {
  auto p = parse("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n");
  EXPECT_FALSE(p->accepted());
  if (p->parser_ok) {
    EXPECT_EQ(p->error, RequestError::kBadRequest);
  }
}

TEST(HttpRequestTest, websocket_upgrade_is_detected) {
  auto p = get_with("Host: x\r\nUpgrade: WebSocket\r\nConnection: keep-alive, Upgrade\r\n");
  ASSERT_TRUE(p->accepted());
  EXPECT_TRUE(p->req.websocket_upgrade);
}

TEST(HttpRequestTest, upgrade_needs_both_headers_and_websocket) {
  EXPECT_FALSE(get_with("Host: x\r\nUpgrade: websocket\r\n")->req.websocket_upgrade);
  EXPECT_FALSE(get_with("Host: x\r\nConnection: upgrade\r\n")->req.websocket_upgrade);
  EXPECT_FALSE(get_with("Host: x\r\nUpgrade: h2c\r\nConnection: upgrade\r\n")->req.websocket_upgrade);
  EXPECT_FALSE(
      get_with("Host: x\r\nUpgrade: websocket\r\nConnection: upgraded\r\n")->req.websocket_upgrade);
}

TEST(HttpRequestTest, upgrade_with_a_body_is_not_a_websocket_tunnel) {
  auto p = get_with("Host: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nContent-Length: 5\r\n");
  ASSERT_TRUE(p->parser_ok);
  EXPECT_EQ(p->error, RequestError::kNone);
  EXPECT_FALSE(p->req.websocket_upgrade);
}

TEST(HttpRequestTest, connect_is_method_not_allowed) {
  auto p = parse("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n");
  ASSERT_TRUE(p->parser_ok);
  EXPECT_EQ(p->error, RequestError::kMethodNotAllowed);
}

// llhttp's default build lets HT and FF into the target; nginx refuses every
// control character there.
TEST(HttpRequestTest, control_characters_in_the_target_are_refused) {
  for (const char* target : {"/a\tb", "/a?x=\t", "/a\fb", "/a?x=\f", "/a#\t"}) {
    auto p = parse(std::string("GET ") + target + " HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_FALSE(p->accepted()) << target;
  }
}

TEST(HttpRequestTest, utf8_bytes_in_the_target_are_accepted_as_nginx_does) {
  auto p = parse("GET /caf\xc3\xa9?q=\xe4\xb8\xad HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(p->accepted());
  EXPECT_EQ(p->req.path, "/caf\xc3\xa9");
  EXPECT_EQ(p->req.query, "q=\xe4\xb8\xad");
}

TEST(HttpRequestTest, versions_other_than_1x_are_refused_as_nginx_does) {
  auto v09 = parse("GET / HTTP/0.9\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(v09->parser_ok);
  EXPECT_EQ(v09->error, RequestError::kBadRequest);
  auto v20 = parse("GET / HTTP/2.0\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(v20->parser_ok);
  EXPECT_EQ(v20->error, RequestError::kVersionNotSupported);
  EXPECT_TRUE(parse("GET / HTTP/1.0\r\n\r\n")->accepted());
  EXPECT_TRUE(parse("GET / HTTP/1.1\r\nHost: x\r\n\r\n")->accepted());
}

TEST(HttpRequestTest, each_refusal_has_nginx_status) {
  EXPECT_EQ(reply_status(RequestError::kBadRequest), 400);
  EXPECT_EQ(reply_status(RequestError::kMethodNotAllowed), 405);
  EXPECT_EQ(reply_status(RequestError::kNotImplemented), 501);
  EXPECT_EQ(reply_status(RequestError::kVersionNotSupported), 505);
}

TEST(HttpRequestTest, path_that_does_not_normalise_is_refused) {
  EXPECT_EQ(parse("GET /../etc HTTP/1.1\r\nHost: x\r\n\r\n")->error, RequestError::kBadRequest);
  EXPECT_EQ(parse("GET /a%00 HTTP/1.1\r\nHost: x\r\n\r\n")->error, RequestError::kBadRequest);
  EXPECT_EQ(parse("GET /a%zz HTTP/1.1\r\nHost: x\r\n\r\n")->error, RequestError::kBadRequest);
}

TEST(HttpRequestTest, path_is_normalised_and_query_kept_raw) {
  auto p = parse("GET //a/./b/../c?q=%20 HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(p->accepted());
  EXPECT_EQ(p->req.path, "/a/c");
  EXPECT_EQ(p->req.raw_path, "//a/./b/../c");
  EXPECT_EQ(p->req.query, "q=%20");
}

TEST(HttpRequestTest, build_request_clears_a_reused_request) {
  auto p = get_with("Host: x\r\nUpgrade: websocket\r\nConnection: upgrade\r\nExpect: 100-continue\r\n");
  ASSERT_TRUE(p->accepted());
  EXPECT_TRUE(p->req.websocket_upgrade);
  // Same Request object, next request on the connection.
  Parsed next("GET / HTTP/1.1\r\nHost: y\r\n\r\n");
  ASSERT_TRUE(next.accepted());
  ASSERT_EQ(build_request(next.parser, next.buf, 0, p->req), RequestError::kNone);
  EXPECT_FALSE(p->req.websocket_upgrade);
  EXPECT_FALSE(p->req.expect_continue);
  EXPECT_EQ(p->req.host, "y");
  EXPECT_EQ(p->req.headers.size(), 1u);
}

TEST(HttpRequestTest, head_start_offset_is_honoured) {
  // A pipelined second request starts mid-buffer.
  const std::string first = "GET /a HTTP/1.1\r\nHost: a\r\n\r\n";
  const std::string second = "GET /b HTTP/1.1\r\nHost: b\r\n\r\n";
  core::InputBuffer buf(256);
  std::memcpy(buf.write_area().data(), (first + second).data(), first.size() + second.size());
  buf.commit(first.size() + second.size());
  H1Parser parser(H1Parser::Kind::kRequest);
  const size_t n = parser.feed(buf.data(), 0, buf.size());
  ASSERT_EQ(n, first.size());
  parser.reset();
  parser.feed(buf.data(), n, buf.size() - n);
  ASSERT_TRUE(parser.head_complete());
  Request req;
  ASSERT_EQ(build_request(parser, buf, n, req), RequestError::kNone);
  EXPECT_EQ(req.path, "/b");
  EXPECT_EQ(req.host, "b");
}

TEST(HttpRequestTest, iequals_is_ascii_case_insensitive) {
  EXPECT_TRUE(iequals("Content-Length", "content-length"));
  EXPECT_FALSE(iequals("abc", "abd"));
  EXPECT_FALSE(iequals("abc", "abcd"));
  EXPECT_TRUE(iequals("", ""));
}

// The word-at-a-time path (8 bytes and more) against a byte-by-byte
// reference, for every pair of byte values at every position of a word and
// of the overlapping tail.
TEST(HttpRequestTest, iequals_matches_a_bytewise_reference_for_all_bytes) {
  auto reference = [](std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
      auto low = [](unsigned char c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; };
      if (low(static_cast<unsigned char>(a[i])) != low(static_cast<unsigned char>(b[i]))) return false;
    }
    return true;
  };
  for (const size_t len : {size_t{1}, size_t{3}, size_t{4}, size_t{5}, size_t{7}, size_t{8},
                           size_t{11}, size_t{17}}) {
    for (size_t pos = 0; pos < len; pos += (len > 8 ? 3 : 1)) {
      for (int x = 0; x < 256; ++x) {
        for (int y = 0; y < 256; ++y) {
          std::string a(len, 'k'), b(len, 'K');
          a[pos] = static_cast<char>(x);
          b[pos] = static_cast<char>(y);
          ASSERT_EQ(iequals(a, b), reference(a, b)) << "len " << len << " pos " << pos << " bytes " << x << "," << y;
        }
      }
    }
  }
  EXPECT_TRUE(iequals("X-Forwarded-Proto", "x-forwarded-proto"));
  EXPECT_FALSE(iequals("X-Forwarded-Proto", "x-forwarded-protp"));
  EXPECT_FALSE(iequals("x-forwarded-pRoto", "x-forwarded-p\x12oto"));
}

}  // namespace
}  // namespace torii::http
