// proxy-mirror: schema errors as APISIX words them, the host parsed at
// create (default ports, IPv6, grpc refused), sampling, the mirrored
// request-target in each path mode, bodies, and the sender itself against
// loopback servers: an answer counts "ok", a silent mirror times out and the
// per-worker cap drops the excess. Cases follow t/plugin/proxy-mirror*.t.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>
#include <boost/json.hpp>
#include <string>
#include <vector>

#include "limit_test_support.h"
#include "plugins/mirror_client.h"

namespace torii::plugins {
namespace {

namespace asio = boost::asio;
using testing::FakePluginContext;

// The proxy's side of the context: what goes upstream, and a head built
// from it (the real one comes from proxy/upstream_request.cc).
class MirrorContext : public FakePluginContext {
 public:
  std::string upstream_target_ = "/";
  bool has_upstream = true;
  std::string_view upstream_target() const override { return upstream_target_; }
  std::string upstream_head_copy(std::string_view target, uint64_t body_length) const override {
    if (!has_upstream) return {};
    std::string h = method_token_ + " " + std::string(target) + " HTTP/1.1\r\nHost: up\r\n";
    if (body_length > 0) h += "Content-Length: " + std::to_string(body_length) + "\r\n";
    return h + "Connection: close\r\n\r\n";
  }
};

std::shared_ptr<const Plugin> make(std::string_view conf) {
  return testing::make_plugin("proxy-mirror", conf);
}

// Runs access then before_proxy `times` times, as the proxy does, and
// returns the copies handed to the sender.
std::vector<mirror::Request> mirrored(const Plugin& p, MirrorContext& ctx, int times = 1) {
  std::vector<mirror::Request> got;
  mirror::set_sink_for_testing([&got](mirror::Request r) { got.push_back(std::move(r)); });
  asio::io_context io;
  int continued = 0;
  for (int i = 0; i < times; ++i) {
    ctx.state_.reset();
    asio::co_spawn(io, p.access_async(ctx), [&continued](std::exception_ptr e, Step s) {
      if (!e && !s) ++continued;
    });
    io.run();
    io.restart();
    if (!p.before_proxy(ctx)) ++continued;
  }
  mirror::set_sink_for_testing(nullptr);
  EXPECT_EQ(continued, 2 * times);  // never answers the request
  return got;
}

std::string target_of(const mirror::Request& r) {
  const size_t sp = r.head.find(' ');
  return r.head.substr(sp + 1, r.head.find(' ', sp + 1) - sp - 1);
}

TEST(PluginProxyMirrorTest, registration_matches_apisix) {
  const PluginInfo* info = find_plugin("proxy-mirror");
  ASSERT_NE(info, nullptr);
  EXPECT_EQ(info->priority, 1010);
  auto p = make(R"({"host": "http://127.0.0.1:1999"})");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->phases(), Plugin::bit(Phase::kAccess) | Plugin::bit(Phase::kBeforeProxy));
  EXPECT_TRUE(p->is_async(Phase::kAccess));
  EXPECT_FALSE(p->is_async(Phase::kBeforeProxy));
}

TEST(PluginProxyMirrorTest, schema_errors_read_like_apisix) {
  const std::string p = "failed to check the configuration of plugin proxy-mirror err: ";
  const std::string host_pattern =
      R"(failed to match pattern "^(http(s)?|grpc(s)?):\\/\\/([\\da-zA-Z.-]+|\\[[\\da-fA-F:]+\\])(:\\d+)?$" with )";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({})", p + "property \"host\" is required"},
      {R"({"host": 1})", p + "property \"host\" validation failed: wrong type: expected string, got number"},
      {R"({"host": "127.0.0.1:1999"})",
       p + "property \"host\" validation failed: " + host_pattern + "\"127.0.0.1:1999\""},
      {R"({"host": "http://127.0.0.1:1999/path"})",
       p + "property \"host\" validation failed: " + host_pattern + "\"http://127.0.0.1:1999/path\""},
      {R"({"host": "ftp://a.b"})",
       p + "property \"host\" validation failed: " + host_pattern + "\"ftp://a.b\""},
      {R"({"host": "http://a.b", "path": "a/b"})",
       p + "property \"path\" validation failed: failed to match pattern \"^/[^?&]+$\" with \"a/b\""},
      {R"({"host": "http://a.b", "path": "/a?b=1"})",
       p + "property \"path\" validation failed: failed to match pattern \"^/[^?&]+$\" with \"/a?b=1\""},
      {R"({"host": "http://a.b", "path_concat_mode": "append"})",
       p + "property \"path_concat_mode\" validation failed: matches none of the enum values"},
      {R"({"host": "http://a.b", "sample_ratio": 0})",
       p + "property \"sample_ratio\" validation failed: expected 0 to be at least 1e-05"},
      {R"({"host": "http://a.b", "sample_ratio": 1.5})",
       p + "property \"sample_ratio\" validation failed: expected 1.5 to be at most 1"},
      {R"({"host": "grpc://127.0.0.1:1999"})",
       "proxy-mirror: scheme \"grpc\" is not supported by torii yet, use http or https"},
      {R"({"host": "http://127.0.0.1:70000"})",
       "proxy-mirror: invalid port in host \"http://127.0.0.1:70000\""},
  };
  for (const auto& [conf, msg] : cases) {
    SCOPED_TRACE(conf);
    EXPECT_EQ(testing::conf_error("proxy-mirror", conf), msg);
  }
  for (const char* ok : {R"({"host": "http://127.0.0.1:1999"})", R"({"host": "https://a-b.example.com"})",
                         R"({"host": "http://[::1]:8080", "path": "/a/b"})",
                         R"({"host": "http://a.b", "path": "/p", "path_concat_mode": "prefix",
                             "sample_ratio": 0.00001})"}) {
    SCOPED_TRACE(ok);
    EXPECT_EQ(testing::conf_error("proxy-mirror", ok), "");
  }
}

TEST(PluginProxyMirrorTest, host_gives_the_endpoint) {
  MirrorContext ctx;
  auto one = [&](std::string_view conf) {
    auto got = mirrored(*make(conf), ctx);
    EXPECT_EQ(got.size(), 1u);
    return got.empty() ? mirror::Endpoint{} : *got[0].endpoint;
  };
  auto e = one(R"({"host": "http://127.0.0.1"})");
  EXPECT_FALSE(e.tls);
  EXPECT_EQ(e.port, 80);
  EXPECT_TRUE(e.address.has_value());
  EXPECT_EQ(e.sni, "");
  EXPECT_EQ(e.name, "127.0.0.1:80");
  e = one(R"({"host": "https://mirror.example.com"})");
  EXPECT_TRUE(e.tls);
  EXPECT_EQ(e.port, 443);
  EXPECT_FALSE(e.address.has_value());
  EXPECT_EQ(e.sni, "mirror.example.com");
  e = one(R"({"host": "http://[::1]:8080"})");
  EXPECT_EQ(e.host, "::1");
  EXPECT_EQ(e.port, 8080);
  EXPECT_EQ(e.name, "[::1]:8080");
}

TEST(PluginProxyMirrorTest, target_follows_path_and_concat_mode) {
  MirrorContext ctx;
  ctx.request_uri_ = "/hello?a=1";
  ctx.upstream_target_ = "/rewritten?a=1";  // what proxy-rewrite made of it
  ctx.query_ = "a=1";
  struct Case {
    const char* conf;
    const char* target;
  };
  const Case cases[] = {
      {R"({"host": "http://127.0.0.1:1999"})", "/rewritten?a=1"},
      {R"({"host": "http://127.0.0.1:1999", "path": "/mirror"})", "/mirror?a=1"},
      {R"({"host": "http://127.0.0.1:1999", "path": "/mirror", "path_concat_mode": "replace"})",
       "/mirror?a=1"},
      {R"({"host": "http://127.0.0.1:1999", "path": "/mirror", "path_concat_mode": "prefix"})",
       "/mirror/rewritten?a=1"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.conf);
    auto got = mirrored(*make(c.conf), ctx);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(target_of(got[0]), c.target);
    EXPECT_EQ(got[0].route, "1");
  }
  // Without a query, replace mode adds no '?'.
  ctx.query_.clear();
  ctx.upstream_target_ = "/rewritten";
  auto got = mirrored(*make(R"({"host": "http://127.0.0.1:1999", "path": "/m"})"), ctx);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(target_of(got[0]), "/m");
}

TEST(PluginProxyMirrorTest, sample_ratio_samples) {
  MirrorContext ctx;
  EXPECT_EQ(mirrored(*make(R"({"host": "http://127.0.0.1:1999"})"), ctx, 200).size(), 200u);
  // 4000 draws at 0.5: mean 2000, sd ~32; 6 sd either side.
  const size_t half =
      mirrored(*make(R"({"host": "http://127.0.0.1:1999", "sample_ratio": 0.5})"), ctx, 4000).size();
  EXPECT_GT(half, 1800u);
  EXPECT_LT(half, 2200u);
  const size_t rare =
      mirrored(*make(R"({"host": "http://127.0.0.1:1999", "sample_ratio": 0.00001})"), ctx, 4000)
          .size();
  EXPECT_LT(rare, 5u);
}

TEST(PluginProxyMirrorTest, head_requests_and_requests_without_upstream) {
  MirrorContext ctx;
  ctx.method_ = http::Method::kHead;
  ctx.method_token_ = "HEAD";
  auto got = mirrored(*make(R"({"host": "http://127.0.0.1:1999"})"), ctx);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(got[0].head_method);
  EXPECT_EQ(got[0].head.rfind("HEAD / HTTP/1.1\r\n", 0), 0u);
  ctx.has_upstream = false;
  EXPECT_EQ(mirrored(*make(R"({"host": "http://127.0.0.1:1999"})"), ctx).size(), 0u);
}

TEST(PluginProxyMirrorTest, body_is_read_and_copied) {
  MirrorContext ctx;
  ctx.method_ = http::Method::kPost;
  ctx.method_token_ = "POST";
  ctx.request_headers_ = {{"Content-Length", "10"}};
  ctx.body_ = "hello body";
  auto got = mirrored(*make(R"({"host": "http://127.0.0.1:1999"})"), ctx);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].body, "hello body");
  EXPECT_NE(got[0].head.find("Content-Length: 10\r\n"), std::string::npos) << got[0].head;
  EXPECT_EQ(ctx.body_reads, 1);
  // Content-Length: 0 is no body: nothing to read.
  ctx.request_headers_ = {{"Content-Length", "0"}};
  got = mirrored(*make(R"({"host": "http://127.0.0.1:1999"})"), ctx);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].body, "");
  EXPECT_EQ(ctx.body_reads, 1);
}

TEST(PluginProxyMirrorTest, bodies_it_must_not_read_are_skipped_and_counted) {
  auto p = make(R"({"host": "http://127.0.0.1:1999"})");
  const std::string route = "mirror-unit-body";
  struct Case {
    const char* what;
    std::vector<std::pair<std::string, std::string>> headers;
    std::optional<core::Error> read_error;
    int reads;  // read_request_body calls expected
  };
  const Case cases[] = {
      {"over 1 MiB: streams, never read", {{"Content-Length", "1048577"}}, std::nullopt, 0},
      {"chunked: never read", {{"Transfer-Encoding", "chunked"}}, std::nullopt, 0},
      {"read fails (client gone)",
       {{"Content-Length", "10"}},
       core::Error{core::ErrorKind::kClosed, core::ErrorSource::kDownstream, false, "closed"},
       1},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    MirrorContext ctx;
    ctx.route_id_ = route;
    ctx.method_ = http::Method::kPost;
    ctx.method_token_ = "POST";
    ctx.request_headers_ = c.headers;
    ctx.body_ = "0123456789";
    ctx.body_error_ = c.read_error;
    const uint64_t before = mirror::counted(route, mirror::kResultSkipped);
    EXPECT_EQ(mirrored(*p, ctx).size(), 0u);
    EXPECT_EQ(ctx.body_reads, c.reads);
    EXPECT_EQ(mirror::counted(route, mirror::kResultSkipped), before + 1);
  }
}

// ---- the sender, against loopback servers ----------------------------------

// Accepts one connection, reads the head, answers 200 "ok".
net::Task<void> answer_once(net::TcpAcceptor* acceptor, std::string* head) {
  auto [ec, sock] = co_await acceptor->async_accept(net::kNoThrow);
  if (ec) co_return;
  std::string buf;
  auto [rec, n] = co_await asio::async_read_until(sock, asio::dynamic_buffer(buf), "\r\n\r\n",
                                                  net::kNoThrow);
  if (rec) co_return;
  *head = buf.substr(0, n);
  static constexpr std::string_view kAnswer = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
  co_await asio::async_write(sock, asio::buffer(kAnswer), net::kNoThrow);
}

// Accepts `count` connections and holds them open without a byte.
net::Task<void> accept_silently(net::TcpAcceptor* acceptor, int count,
                                std::vector<net::TcpSocket>* held) {
  for (int i = 0; i < count; ++i) {
    auto [ec, sock] = co_await acceptor->async_accept(net::kNoThrow);
    if (ec) co_return;
    held->push_back(std::move(sock));
  }
}

std::shared_ptr<const mirror::Endpoint> loopback(uint16_t port) {
  auto ep = std::make_shared<mirror::Endpoint>();
  ep->host = "127.0.0.1";
  ep->address = asio::ip::make_address("127.0.0.1");
  ep->port = port;
  ep->name = "127.0.0.1:" + std::to_string(port);
  return ep;
}

mirror::Request copy_for(std::shared_ptr<const mirror::Endpoint> ep, std::string route) {
  mirror::Request r;
  r.endpoint = std::move(ep);
  r.head = "POST /m?x=1 HTTP/1.1\r\nHost: up\r\nContent-Length: 4\r\nConnection: close\r\n\r\n";
  r.body = "data";
  r.route = std::move(route);
  return r;
}

class PluginProxyMirrorSenderTest : public ::testing::Test {
 protected:
  void SetUp() override { saved_ = mirror::settings(); }
  void TearDown() override { mirror::set_settings(saved_); }
  mirror::Settings saved_;
};

TEST_F(PluginProxyMirrorSenderTest, an_answer_counts_ok) {
  asio::io_context io;
  net::TcpAcceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
  std::string head;
  asio::co_spawn(io, answer_once(&acceptor, &head), asio::detached);
  const uint64_t before = mirror::counted("mirror-unit-ok", mirror::kResultOk);
  EXPECT_TRUE(mirror::launch(io.get_executor(),
                             copy_for(loopback(acceptor.local_endpoint().port()), "mirror-unit-ok")));
  io.run();  // returns: nothing of the sender outlives the exchange
  EXPECT_EQ(head.rfind("POST /m?x=1 HTTP/1.1\r\n", 0), 0u) << head;
  EXPECT_EQ(mirror::counted("mirror-unit-ok", mirror::kResultOk), before + 1);
}

TEST_F(PluginProxyMirrorSenderTest, silent_mirror_times_out_and_the_cap_drops_the_excess) {
  mirror::Settings s;
  s.connect_timeout = std::chrono::milliseconds(1000);
  s.send_timeout = std::chrono::milliseconds(1000);
  s.read_timeout = std::chrono::milliseconds(200);
  s.max_inflight = 2;
  mirror::set_settings(s);
  asio::io_context io;
  net::TcpAcceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
  std::vector<net::TcpSocket> held;
  asio::co_spawn(io, accept_silently(&acceptor, 2, &held), asio::detached);
  const auto ep = loopback(acceptor.local_endpoint().port());
  const std::string route = "mirror-unit-silent";
  const uint64_t errors = mirror::counted(route, mirror::kResultError);
  const uint64_t dropped = mirror::counted(route, mirror::kResultDropped);
  EXPECT_TRUE(mirror::launch(io.get_executor(), copy_for(ep, route)));
  EXPECT_TRUE(mirror::launch(io.get_executor(), copy_for(ep, route)));
  EXPECT_FALSE(mirror::launch(io.get_executor(), copy_for(ep, route)));
  const auto start = std::chrono::steady_clock::now();
  io.run();  // ends once both read timeouts fired
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_EQ(mirror::counted(route, mirror::kResultError), errors + 2);
  EXPECT_EQ(mirror::counted(route, mirror::kResultDropped), dropped + 1);
  // The slots are free again.
  io.restart();
  asio::co_spawn(io, accept_silently(&acceptor, 1, &held), asio::detached);
  EXPECT_TRUE(mirror::launch(io.get_executor(), copy_for(ep, route)));
  io.run();
  EXPECT_EQ(mirror::counted(route, mirror::kResultError), errors + 3);
}

TEST_F(PluginProxyMirrorSenderTest, refused_connection_counts_an_error) {
  asio::io_context io;
  uint16_t port = 0;
  {
    net::TcpAcceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
    port = acceptor.local_endpoint().port();
  }
  const uint64_t before = mirror::counted("mirror-unit-refused", mirror::kResultError);
  EXPECT_TRUE(mirror::launch(io.get_executor(), copy_for(loopback(port), "mirror-unit-refused")));
  io.run();
  EXPECT_EQ(mirror::counted("mirror-unit-refused", mirror::kResultError), before + 1);
}

}  // namespace
}  // namespace torii::plugins
