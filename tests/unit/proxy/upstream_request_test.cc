// The request head sent upstream: hop-by-hop headers (RFC 9110 7.6.1 and the
// names listed in Connection) removed, X-Real-IP / X-Forwarded-* set as
// APISIX sets them, Host from pass_host, and framing re-declared by torii.
#include "proxy/upstream_request.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace torii::proxy {
namespace {

using http::Header;
using http::Request;

Request make_request(std::vector<Header> headers) {
  Request r;
  r.method_token = "GET";
  r.host = "client.example";
  r.headers = std::move(headers);
  return r;
}

UpstreamHeadParams params() {
  UpstreamHeadParams p;
  p.host = "backend:8080";
  p.target = "/up/path?q=1";
  p.remote_addr = "10.0.0.9";
  p.scheme = "http";
  p.server_port = "9080";
  return p;
}

std::string build(const Request& r, const UpstreamHeadParams& p = params()) {
  std::string out;
  build_upstream_request_head(r, p, out);
  return out;
}

// Header lines (without the request line and the final blank line).
std::vector<std::string> lines(const std::string& head) {
  std::vector<std::string> out;
  size_t pos = head.find("\r\n") + 2;
  while (pos < head.size()) {
    const size_t end = head.find("\r\n", pos);
    if (end == pos) break;
    out.push_back(head.substr(pos, end - pos));
    pos = end + 2;
  }
  return out;
}

size_t count_prefix(const std::vector<std::string>& ls, std::string_view prefix) {
  size_t n = 0;
  for (const auto& l : ls) {
    if (http::iequals(std::string_view(l).substr(0, std::min(l.size(), prefix.size())), prefix)) ++n;
  }
  return n;
}

bool has_line(const std::vector<std::string>& ls, std::string_view line) {
  for (const auto& l : ls) {
    if (l == line) return true;
  }
  return false;
}

TEST(ProxyUpstreamRequestTest, request_line_host_and_terminator) {
  const std::string head = build(make_request({{"Host", "client.example"}, {"Accept", "*/*"}}));
  EXPECT_EQ(head.rfind("GET /up/path?q=1 HTTP/1.1\r\nHost: backend:8080\r\n", 0), 0u) << head;
  EXPECT_TRUE(head.ends_with("\r\n\r\n"));
  EXPECT_EQ(head.find("\r\n\r\n"), head.size() - 4);
  const auto ls = lines(head);
  EXPECT_EQ(count_prefix(ls, "host:"), 1u);
  EXPECT_TRUE(has_line(ls, "Accept: */*"));
}

TEST(ProxyUpstreamRequestTest, http10_client_is_sent_as_http11) {
  Request r = make_request({});
  r.version_minor = 0;
  EXPECT_EQ(build(r).rfind("GET /up/path?q=1 HTTP/1.1\r\n", 0), 0u);
}

TEST(ProxyUpstreamRequestTest, hop_by_hop_headers_are_removed) {
  const auto ls = lines(build(make_request({
      {"Connection", "keep-alive"},
      {"Keep-Alive", "timeout=5"},
      {"TE", "trailers"},
      {"Trailer", "X-Sum"},
      {"Upgrade", "h2c"},
      {"Proxy-Connection", "keep-alive"},
      {"Expect", "100-continue"},
      {"Forwarded", "for=1.2.3.4"},
      {"X-Kept", "yes"},
  })));
  for (const char* name : {"connection:", "keep-alive:", "te:", "trailer:", "upgrade:",
                           "proxy-connection:", "expect:", "forwarded:"}) {
    EXPECT_EQ(count_prefix(ls, name), 0u) << name;
  }
  EXPECT_TRUE(has_line(ls, "X-Kept: yes"));
}

TEST(ProxyUpstreamRequestTest, names_listed_in_connection_are_removed_in_any_order) {
  const auto ls = lines(build(make_request({
      {"X-Before", "1"},
      {"Connection", "x-before , X-After,close"},
      {"x-after", "2"},
      {"X-Other", "3"},
      {"connection", "\tX-Second-List"},
      {"X-Second-List", "4"},
  })));
  EXPECT_EQ(count_prefix(ls, "x-before:"), 0u);
  EXPECT_EQ(count_prefix(ls, "x-after:"), 0u);
  EXPECT_EQ(count_prefix(ls, "x-second-list:"), 0u);
  EXPECT_TRUE(has_line(ls, "X-Other: 3"));
}

TEST(ProxyUpstreamRequestTest, connection_cannot_remove_headers_torii_sets) {
  // Listing X-Forwarded-For must not let the client drop the proxy's own view.
  const auto ls = lines(build(make_request({{"Connection", "X-Forwarded-For, X-Real-IP"}})));
  EXPECT_TRUE(has_line(ls, "X-Real-IP: 10.0.0.9"));
  EXPECT_TRUE(has_line(ls, "X-Forwarded-For: 10.0.0.9"));
}

TEST(ProxyUpstreamRequestTest, x_forwarded_for_appends_the_client_address) {
  const auto ls = lines(build(make_request({{"X-Forwarded-For", "1.1.1.1"}})));
  EXPECT_TRUE(has_line(ls, "X-Forwarded-For: 1.1.1.1, 10.0.0.9"));
  EXPECT_EQ(count_prefix(ls, "x-forwarded-for:"), 1u);
}

TEST(ProxyUpstreamRequestTest, multiple_x_forwarded_for_headers_are_joined) {
  const auto ls = lines(build(make_request({
      {"X-Forwarded-For", "1.1.1.1"},
      {"Accept", "*/*"},
      {"x-forwarded-for", "2.2.2.2, 3.3.3.3"},
  })));
  EXPECT_TRUE(has_line(ls, "X-Forwarded-For: 1.1.1.1, 2.2.2.2, 3.3.3.3, 10.0.0.9"));
  EXPECT_EQ(count_prefix(ls, "x-forwarded-for:"), 1u);
}

// Empty X-Forwarded-For lines add nothing before the first value: the
// leftmost entry an upstream reads stays an address.
TEST(ProxyUpstreamRequestTest, empty_x_forwarded_for_lines_add_no_leading_separator) {
  auto ls = lines(build(make_request({
      {"X-Forwarded-For", ""},
      {"X-Forwarded-For", "1.1.1.1"},
      {"X-Forwarded-For", "2.2.2.2"},
  })));
  EXPECT_TRUE(has_line(ls, "X-Forwarded-For: 1.1.1.1, 2.2.2.2, 10.0.0.9"));
  ls = lines(build(make_request({{"X-Forwarded-For", ""}})));
  EXPECT_TRUE(has_line(ls, "X-Forwarded-For: 10.0.0.9"));
}

TEST(ProxyUpstreamRequestTest, x_forwarded_for_without_client_header_is_the_client) {
  const auto ls = lines(build(make_request({})));
  EXPECT_TRUE(has_line(ls, "X-Forwarded-For: 10.0.0.9"));
  EXPECT_TRUE(has_line(ls, "X-Real-IP: 10.0.0.9"));
}

TEST(ProxyUpstreamRequestTest, x_forwarded_headers_are_overwritten) {
  UpstreamHeadParams p = params();
  p.scheme = "https";
  p.server_port = "9443";
  const auto ls = lines(build(make_request({
                                  {"X-Real-IP", "6.6.6.6"},
                                  {"X-Forwarded-Proto", "http"},
                                  {"X-Forwarded-Host", "evil.example"},
                                  {"X-Forwarded-Port", "1"},
                              }),
                              p));
  EXPECT_EQ(count_prefix(ls, "x-real-ip:"), 1u);
  EXPECT_TRUE(has_line(ls, "X-Real-IP: 10.0.0.9"));
  EXPECT_EQ(count_prefix(ls, "x-forwarded-proto:"), 1u);
  EXPECT_TRUE(has_line(ls, "X-Forwarded-Proto: https"));
  EXPECT_EQ(count_prefix(ls, "x-forwarded-host:"), 1u);
  EXPECT_TRUE(has_line(ls, "X-Forwarded-Host: client.example"));
  EXPECT_EQ(count_prefix(ls, "x-forwarded-port:"), 1u);
  EXPECT_TRUE(has_line(ls, "X-Forwarded-Port: 9443"));
}

TEST(ProxyUpstreamRequestTest, x_forwarded_host_falls_back_to_upstream_host) {
  Request r = make_request({});
  r.host.clear();  // HTTP/1.0 without Host
  const auto ls = lines(build(r));
  EXPECT_TRUE(has_line(ls, "X-Forwarded-Host: backend:8080"));
}

TEST(ProxyUpstreamRequestTest, host_value_comes_from_params) {
  UpstreamHeadParams p = params();
  p.host = "rewritten.example";
  const auto ls = lines(build(make_request({{"Host", "client.example"}}), p));
  EXPECT_TRUE(has_line(ls, "Host: rewritten.example"));
  EXPECT_EQ(count_prefix(ls, "host:"), 1u);
}

TEST(ProxyUpstreamRequestTest, content_length_is_redeclared) {
  Request r = make_request({{"Content-Length", "0005"}, {"content-length", "5"}});
  r.method_token = "POST";
  r.content_length = 5;
  const auto ls = lines(build(r));
  EXPECT_EQ(count_prefix(ls, "content-length:"), 1u);
  EXPECT_TRUE(has_line(ls, "Content-Length: 5"));
  EXPECT_EQ(count_prefix(ls, "transfer-encoding:"), 0u);
}

TEST(ProxyUpstreamRequestTest, zero_content_length_is_kept) {
  Request r = make_request({{"Content-Length", "0"}});
  r.method_token = "POST";
  r.content_length = 0;
  const auto ls = lines(build(r));
  EXPECT_TRUE(has_line(ls, "Content-Length: 0"));
}

TEST(ProxyUpstreamRequestTest, chunked_is_redeclared_once) {
  Request r = make_request({{"Transfer-Encoding", "chunked"}, {"Content-Length", "3"}});
  r.method_token = "POST";
  r.chunked = true;
  const auto ls = lines(build(r));
  EXPECT_EQ(count_prefix(ls, "transfer-encoding:"), 1u);
  EXPECT_TRUE(has_line(ls, "Transfer-Encoding: chunked"));
  EXPECT_EQ(count_prefix(ls, "content-length:"), 0u);
}

// read_request_body(): the body torii holds goes out with its own length.
TEST(ProxyUpstreamRequestTest, buffered_body_replaces_chunked_framing) {
  Request r = make_request({{"Transfer-Encoding", "chunked"}});
  r.method_token = "POST";
  r.chunked = true;
  UpstreamHeadParams p = params();
  p.body_length = 42;
  const auto ls = lines(build(r, p));
  EXPECT_EQ(count_prefix(ls, "transfer-encoding:"), 0u);
  EXPECT_EQ(count_prefix(ls, "content-length:"), 1u);
  EXPECT_TRUE(has_line(ls, "Content-Length: 42"));
}

TEST(ProxyUpstreamRequestTest, no_framing_for_a_bodyless_request) {
  const auto ls = lines(build(make_request({{"Accept", "*/*"}})));
  EXPECT_EQ(count_prefix(ls, "transfer-encoding:"), 0u);
  EXPECT_EQ(count_prefix(ls, "content-length:"), 0u);
}

TEST(ProxyUpstreamRequestTest, websocket_keeps_upgrade_and_connection) {
  Request r = make_request({{"Upgrade", "websocket"},
                            {"Connection", "Upgrade"},
                            {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="},
                            {"Sec-WebSocket-Version", "13"}});
  r.websocket_upgrade = true;
  UpstreamHeadParams p = params();
  p.websocket = true;
  const auto ls = lines(build(r, p));
  EXPECT_EQ(count_prefix(ls, "upgrade:"), 1u);
  EXPECT_TRUE(has_line(ls, "Upgrade: websocket"));
  EXPECT_EQ(count_prefix(ls, "connection:"), 1u);
  EXPECT_TRUE(has_line(ls, "Connection: upgrade"));
  EXPECT_TRUE(has_line(ls, "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=="));
  EXPECT_TRUE(has_line(ls, "Sec-WebSocket-Version: 13"));
  EXPECT_EQ(count_prefix(ls, "content-length:"), 0u);
  EXPECT_EQ(count_prefix(ls, "transfer-encoding:"), 0u);
}

TEST(ProxyUpstreamRequestTest, header_order_and_case_are_preserved) {
  const std::string head = build(make_request({{"x-b", "2"}, {"X-A", "1"}, {"X-C", "3"}}));
  const size_t b = head.find("x-b: 2");
  const size_t a = head.find("X-A: 1");
  const size_t c = head.find("X-C: 3");
  ASSERT_NE(b, std::string::npos);
  ASSERT_NE(a, std::string::npos);
  ASSERT_NE(c, std::string::npos);
  EXPECT_LT(b, a);
  EXPECT_LT(a, c);
}

TEST(ProxyUpstreamRequestTest, appends_to_existing_output) {
  std::string out = "prefix";
  build_upstream_request_head(make_request({}), params(), out);
  EXPECT_EQ(out.rfind("prefixGET ", 0), 0u);
}

TEST(ProxyUpstreamRequestTest, hop_by_hop_response_headers) {
  for (const char* n : {"Connection", "keep-alive", "TE", "Trailer", "Upgrade", "Proxy-Connection",
                        "Transfer-Encoding", "CONTENT-LENGTH", "Server"}) {
    EXPECT_TRUE(is_hop_by_hop_response_header(n)) << n;
  }
  for (const char* n : {"Content-Type", "Set-Cookie", "X-Upgrade", "Date", "Location", "",
                        "Content-Encoding", "Trailers"}) {
    EXPECT_FALSE(is_hop_by_hop_response_header(n)) << n;
  }
}

}  // namespace
}  // namespace torii::proxy
