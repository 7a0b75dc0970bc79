// Fuzz target for the whole HTTP/1.1 request path of a client connection:
// bytes arrive in pieces -> H1Parser (kRequest) over a growing InputBuffer,
// exactly as HttpSession::read_head() feeds it -> build_request -> Router
// match (RequestContext as VarSource) -> build_upstream_request_head -> the
// body streamed as send_request() does -> the next pipelined request.
//
// Input layout: byte 0 picks the connection (remote address, router kind),
// byte 1 seeds how the rest is cut into network reads (1..8 pieces); the
// rest is what the client sends. Seeds: corpus/http1_request/.
//
// Besides ASan/UBSan findings, it traps when the head torii would send
// upstream breaks a property a proxy must keep: it parses back to the same
// framing, has one Host, no CR/LF inside a line, and no Content-Length next
// to Transfer-Encoding.
#include <algorithm>
#include <boost/asio/ip/address.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/snapshot_builder.h"
#include "config/standalone_file.h"
#include "core/buffer.h"
#include "http/h1_parser.h"
#include "http/request.h"
#include "proxy/request_context.h"
#include "proxy/upstream_request.h"
#include "router/router.h"

namespace {

using namespace torii;

// Routes covering every match condition: exact, prefix, wildcard and exact
// hosts, methods, remote_addrs, vars (~~, arg_, http_, cookie_), and every
// pass_host mode so the Host sent upstream comes from each source.
constexpr std::string_view kRoutes = R"yaml(
routes:
  - id: exact
    uri: /get
    upstream: {type: roundrobin, nodes: {"127.0.0.1:1980": 1}}
  - id: prefix
    uri: /api/*
    methods: [GET, POST, PUT]
    upstream:
      type: roundrobin
      pass_host: node
      nodes: {"backend.internal:8080": 1}
  - id: wildcard-host
    uris: [/w/*, /x]
    hosts: ["*.example.com", foo.test]
    upstream:
      type: roundrobin
      pass_host: rewrite
      upstream_host: rewritten.example
      nodes: {"127.0.0.1:1981": 1}
  - id: remote
    uri: /internal/*
    remote_addrs: [10.0.0.0/8, "::1"]
    upstream: {type: roundrobin, nodes: {"127.0.0.1:1982": 1}}
  - id: vars
    uri: /v*
    priority: 10
    vars:
      - [arg_name, "~~", "^[a-z]+$"]
      - ["OR", [http_x_api_key, "==", secret], [cookie_session, "~~", "^s[0-9]+"]]
    upstream: {type: roundrobin, nodes: {"[::1]:1983": 1}}
  - id: ws
    uri: /ws
    enable_websocket: true
    upstream: {type: roundrobin, nodes: {"127.0.0.1:1984": 1}}
  - id: param
    uri: /user/:id/*rest
    methods: [GET, DELETE]
    upstream: {type: roundrobin, nodes: {"127.0.0.1:1985": 1}}
  - id: catch-all
    uri: /*
    priority: -1
    vars: [[http_user_agent, "!", "~~", "bot"]]
    upstream: {type: roundrobin, nodes: {"127.0.0.1:1986": 1}}
#END
)yaml";

[[noreturn]] void fail(const char* what, std::string_view detail) {
  std::fprintf(stderr, "http1_request_fuzz: invariant broken: %s\n---\n%.*s\n---\n", what,
               static_cast<int>(detail.size()), detail.data());
  std::abort();
}

#define CHECK(cond, detail) \
  do {                      \
    if (!(cond)) fail(#cond, (detail)); \
  } while (0)

std::shared_ptr<const config::Snapshot> build_snapshot(router::RouterKind kind) {
  auto resources = config::parse_standalone(kRoutes, config::FileFormat::kYaml);
  if (!resources.ok()) {
    std::fprintf(stderr, "fuzz routes: %s\n", resources.error().message.c_str());
    std::abort();
  }
  config::ServerConfig server;
  server.router = kind;
  config::SnapshotBuilder builder;
  auto snap = builder.build(resources.value(), server);
  if (!snap.ok()) {
    std::fprintf(stderr, "fuzz routes: %s\n", snap.error().message.c_str());
    std::abort();
  }
  return snap.value();
}

const std::shared_ptr<const config::Snapshot>& snapshot(bool with_parameters) {
  static const auto host_uri = build_snapshot(router::RouterKind::kRadixtreeHostUri);
  static const auto with_params = build_snapshot(router::RouterKind::kRadixtreeUriWithParameter);
  return with_parameters ? with_params : host_uri;
}

proxy::ConnectionInfo connection(uint8_t choice) {
  static const char* const kAddrs[] = {"127.0.0.1", "10.1.2.3", "::1", "192.168.7.9"};
  proxy::ConnectionInfo c;
  c.remote_addr = kAddrs[choice & 3];
  c.remote_ip = boost::asio::ip::make_address(c.remote_addr);
  c.remote_port = "40000";
  c.server_addr = "127.0.0.1";
  c.server_port = "9080";
  c.scheme = (choice & 8) ? "https" : "http";
  return c;
}

// The client's bytes, delivered the way async_read_some would: never more
// than the buffer's free space, never across a piece boundary.
class Wire {
 public:
  Wire(const uint8_t* data, size_t size, uint8_t seed) : data_(data), size_(size) {
    const size_t pieces = 1 + (seed & 7);
    uint32_t x = 0x9e3779b9u ^ (seed * 0x01000193u);
    for (size_t i = 1; i < pieces && size > 1; ++i) {
      x ^= x << 13, x ^= x >> 17, x ^= x << 5;
      cuts_.push_back(1 + x % (size - 1));
    }
    cuts_.push_back(size);
    std::sort(cuts_.begin(), cuts_.end());
  }

  // Returns bytes read; 0 is EOF (or a full buffer, which callers avoid).
  size_t read(core::InputBuffer& in) {
    while (next_cut_ < cuts_.size() && cuts_[next_cut_] <= pos_) ++next_cut_;
    if (pos_ >= size_) return 0;
    auto area = in.write_area();
    const size_t n = std::min(area.size(), cuts_[next_cut_] - pos_);
    std::memcpy(area.data(), data_ + pos_, n);
    in.commit(n);
    pos_ += n;
    return n;
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
  std::vector<size_t> cuts_;
  size_t next_cut_ = 0;
};

void check_spans(const http::H1Parser& p, const core::InputBuffer& in, size_t from) {
  for (const http::Span& s : const_cast<http::H1Parser&>(p).body()) {
    CHECK(s.off >= from && s.off + s.len <= in.size(), "body span outside the buffer");
  }
}

// What a proxy must never send: checked on the exact bytes, then by parsing
// them back with the same strict parser the upstream-facing side would face.
void check_upstream_head(const std::string& head, const http::Request& req, bool websocket) {
  CHECK(head.size() >= 4 && head.compare(head.size() - 4, 4, "\r\n\r\n") == 0, head);
  CHECK(head.find("\r\n\r\n") == head.size() - 4, head);
  // RFC 9110 7.6.1: what the client listed in Connection is hop-by-hop.
  std::vector<std::string_view> hop;
  for (const http::Header& h : req.headers) {
    if (!http::iequals(h.name, "connection")) continue;
    size_t pos = 0;
    while (pos <= h.value.size()) {
      size_t comma = h.value.find(',', pos);
      if (comma == std::string_view::npos) comma = h.value.size();
      std::string_view tok = h.value.substr(pos, comma - pos);
      while (!tok.empty() && (tok.front() == ' ' || tok.front() == '\t')) tok.remove_prefix(1);
      while (!tok.empty() && (tok.back() == ' ' || tok.back() == '\t')) tok.remove_suffix(1);
      if (!tok.empty()) hop.push_back(tok);
      pos = comma + 1;
    }
  }
  static constexpr std::string_view kOwn[] = {
      "host", "x-real-ip", "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host",
      "x-forwarded-port", "upgrade", "connection", "content-length", "transfer-encoding"};
  int hosts = 0, lengths = 0, encodings = 0;
  size_t line_start = 0;
  for (;;) {
    const size_t eol = head.find("\r\n", line_start);
    const std::string_view line(head.data() + line_start, eol - line_start);
    if (line.empty()) break;
    CHECK(line.find_first_of("\r\n") == std::string_view::npos, head);
    CHECK(line.find('\0') == std::string_view::npos, head);
    if (line_start != 0) {
      const size_t colon = line.find(':');
      CHECK(colon != std::string_view::npos && colon > 0, head);
      const std::string_view name = line.substr(0, colon);
      hosts += http::iequals(name, "host");
      lengths += http::iequals(name, "content-length");
      encodings += http::iequals(name, "transfer-encoding");
      const bool own = std::any_of(std::begin(kOwn), std::end(kOwn),
                                   [&](std::string_view o) { return http::iequals(name, o); });
      for (std::string_view h : hop) {
        if (!own && http::iequals(name, h)) fail("header listed in Connection forwarded", head);
      }
    }
    line_start = eol + 2;
  }
  CHECK(hosts == 1, head);
  CHECK(lengths + encodings <= 1, head);
  // The upstream must see exactly the body we are about to forward.
  if (req.has_body()) CHECK(lengths + encodings == 1, head);

  http::H1Parser back(http::H1Parser::Kind::kRequest);
  core::InputBuffer copy(head.size());
  std::memcpy(copy.write_area().data(), head.data(), head.size());
  copy.commit(head.size());
  const size_t used = back.feed(copy.data(), 0, copy.size());
  // torii adds up to 6 headers to a head that may already hold the 128 we
  // accept; what the upstream allows is its own business.
  if (back.error() == http::ParseError::kTooManyHeaders) return;
  CHECK(back.error() == http::ParseError::kNone, head);
  CHECK(back.head_complete() && back.head_end() == head.size() && used == head.size(), head);
  CHECK(back.chunked() == (req.chunked && !websocket), head);
  if (!websocket && !req.chunked) CHECK(back.content_length() == req.content_length, head);
  http::Request again;
  CHECK(http::build_request(back, copy, 0, again) == http::RequestError::kNone, head);
}

// One request on the connection. Returns false when the connection ends.
bool one_request(Wire& wire, core::InputBuffer& in, http::H1Parser& parser, http::Request& req,
                 proxy::RequestContext& ctx, const std::shared_ptr<const config::Snapshot>& snap,
                 const proxy::ConnectionInfo& conn) {
  const config::HttpSettings& s = *snap->http;
  ctx.reset(&req, snap);
  parser.reset();
  size_t parsed = 0;
  for (;;) {  // HttpSession::read_head()
    if (parsed < in.size()) {
      parsed += parser.feed(in.data(), parsed, in.size() - parsed);
      CHECK(parsed <= in.size(), "parser consumed more than it was given");
      if (parser.error() != http::ParseError::kNone) return false;  // 400 / 431, close
      if (parser.head_complete()) break;
    }
    if (!parser.url_complete() && in.size() > s.max_request_line_size) return false;  // 414
    if (in.free_space() == 0 && !in.grow(s.max_header_size)) return false;  // 414 / 431
    if (wire.read(in) == 0) return false;
  }
  CHECK(parser.head_end() <= parsed, "head ends past what was parsed");
  check_spans(parser, in, parser.head_end());
  if (http::build_request(parser, in, 0, req) != http::RequestError::kNone) return false;
  CHECK(!(req.chunked && req.content_length), "request both chunked and with Content-Length");
  // Every CR of an accepted head starts a CRLF: a peer that reads "\rX" as
  // data would disagree with us about where the head ends.
  const std::string_view head_bytes = in.view(0, parser.head_end());
  for (size_t i = head_bytes.find('\r'); i != std::string_view::npos; i = head_bytes.find('\r', i + 1)) {
    CHECK(i + 1 < head_bytes.size() && head_bytes[i + 1] == '\n', head_bytes);
  }
  for (const http::Header& h : req.headers) {
    CHECK(h.name.data() >= in.data() && h.name.data() + h.name.size() <= in.data() + parser.head_end(),
          "header name outside the head");
    CHECK(h.value.find_first_of("\r\n") == std::string_view::npos, h.value);
  }
  bool body_done = parser.message_complete();

  router::MatchRequest mr;
  mr.path = req.path;
  mr.host = req.host;
  mr.host_header = req.host_header;
  mr.method = req.method;
  mr.remote_addr = conn.remote_ip;
  mr.vars = &ctx;
  if (snap->router && snap->router->match(mr, ctx.match)) {  // HttpSession::proxy()
    CHECK(ctx.match.index < snap->routes.size(), "route index out of range");
    ctx.route = &snap->routes[ctx.match.index];
    for (const auto& [name, value] : ctx.match.params) {
      CHECK(value.data() >= req.path.data() &&
                value.data() + value.size() <= req.path.data() + req.path.size(),
            "route parameter outside the path");
    }
    const auto& up = ctx.route->upstream;
    if (up && !up->nodes.empty()) {
      const bool websocket = req.websocket_upgrade && ctx.route->enable_websocket;
      const upstream::Node& node = up->nodes.front();
      ctx.upstream_host = up->pass_host == upstream::PassHost::kNode      ? node.host_header
                          : up->pass_host == upstream::PassHost::kRewrite ? up->upstream_host
                                                                          : std::string(req.host_header);
      ctx.upstream_uri.assign(req.target);
      std::string head;
      proxy::UpstreamHeadParams params;
      params.host = ctx.upstream_host;
      params.target = ctx.upstream_uri;
      params.remote_addr = conn.remote_addr;
      params.scheme = conn.scheme;
      params.server_port = conn.server_port;
      params.websocket = websocket;
      proxy::build_upstream_request_head(req, params, head);
      check_upstream_head(head, req, websocket);
      if (websocket) return false;  // the rest of the connection is a tunnel
    }
  } else if (!body_done) {
    return false;  // 404 with an unread body: torii closes
  }

  if (parser.upgraded()) return false;
  if (!body_done) {  // HttpSession::send_request(): stream the body through a window
    const size_t body_base = parser.head_end();
    in.truncate(body_base);
    parsed = body_base;
    parser.clear_body();
    while (in.capacity() < body_base + 16384 && in.grow(body_base + 16384)) {
    }
    while (!parser.message_complete()) {
      if (wire.read(in) == 0) return false;
      parsed += parser.feed(in.data(), parsed, in.size() - parsed);
      CHECK(parsed <= in.size(), "parser consumed more than it was given");
      if (parser.error() != http::ParseError::kNone) return false;
      check_spans(parser, in, body_base);
      parser.clear_body();
      if (!parser.message_complete()) {
        in.truncate(body_base);
        parsed = body_base;
      }
    }
  }
  if (req.content_length && !parser.upgraded()) {
    CHECK(parser.body_bytes() == *req.content_length, "body length differs from Content-Length");
  }
  if (!req.keep_alive || parser.upgraded()) return false;
  in.consume_front(parsed);  // HttpSession::finish_request(): keep what was pipelined
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const uint8_t options = data[0];
  Wire wire(data + 2, size - 2, data[1]);
  const auto& snap = snapshot((options & 4) != 0);
  const proxy::ConnectionInfo conn = connection(options);
  proxy::RequestContext ctx(conn);
  core::InputBuffer in(snap->http->client_header_buffer_size);
  http::H1Parser parser(http::H1Parser::Kind::kRequest);
  http::Request req;
  for (uint32_t n = 0; n < snap->http->keepalive_requests; ++n) {
    if (!one_request(wire, in, parser, req, ctx, snap, conn)) break;
  }
  return 0;
}
