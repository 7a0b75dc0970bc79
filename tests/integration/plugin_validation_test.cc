// request-validation through the real binary: confs written through the
// Admin API, requests from libcurl and raw sockets. Data-driven cases
// (conf, request, expected status and body, whether the upstream saw it),
// then what needs the wire: a chunked body de-chunked and forwarded
// byte-exact with a Content-Length, Expect: 100-continue, a pipelined
// request after a buffered body, keep-alive after a refusal, body limits
// (413) and the body timeout (408), and the Admin API's errors.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>
#include <vector>

#include "harness.h"
#include "http_wire.h"

namespace torii::testing {
namespace {

using namespace std::chrono_literals;
using wire::Conn;

constexpr const char* kSqlite =
    "deployment:\n  role: traditional\n  role_traditional:\n    config_provider: sqlite\n";

// One worker: once it serves a route written through the Admin API, every
// later request sees it.
ToriiOptions admin_options(const std::string& http_extra = "") {
  ToriiOptions o;
  o.workers = 1;
  o.deployment = kSqlite;
  o.extra_config = http_extra;
  return o;
}

// Puts route `id` on uri /echo/<id> with the request-validation conf, and
// waits until the gateway serves it (anything but 404).
void put_route(const Torii& t, const Upstream& up, const std::string& id, const std::string& conf,
               const std::string& more_plugins = "") {
  const std::string body = R"({"uri": "/echo/)" + id + R"(", "plugins": {)" + more_plugins +
                           R"("request-validation": )" + conf + R"(}, "upstream": {"nodes": {")" +
                           up.node() + R"(": 1}}})";
  auto r = t.admin("PUT", "/routes/" + id, body);
  ASSERT_LT(r.status, 300) << r.body;
  ASSERT_TRUE(wait_until([&] { return http_get(t.url("/echo/" + id)).status != 404; }))
      << "route " << id << " never served";
}

const char* const kBodySchema = R"({"body_schema": {"type": "object",
    "required": ["required_payload"],
    "properties": {"required_payload": {"type": "string"}, "boolean_payload": {"type": "boolean"}}}})";

constexpr const char* kJson = "Content-Type: application/json";
constexpr const char* kForm = "Content-Type: application/x-www-form-urlencoded";

struct Case {
  const char* name;
  const char* conf;
  std::string method;
  std::vector<std::string> headers;
  std::string body;
  long status;
  // Refusals: the reply body exactly ("<error page>": nginx's page for the
  // status). Forwarded requests: ignored (the upstream's echo is checked).
  std::string reply;
};

TEST(PluginValidation, DataDrivenCases) {
  Upstream up;
  Torii t(admin_options());
  const Case cases[] = {
      {"valid JSON body", kBodySchema, "POST", {kJson}, R"({"required_payload": "hello"})", 200, ""},
      {"required payload missing", kBodySchema, "POST", {kJson}, R"({"boolean_payload": true})",
       400, "property \"required_payload\" is required"},
      {"wrong type", kBodySchema, "POST", {kJson},
       R"({"required_payload": "x", "boolean_payload": "yes"})", 400,
       "property \"boolean_payload\" validation failed: wrong type: expected boolean, got string"},
      {"invalid JSON", kBodySchema, "POST", {kJson}, R"({"required_payload": )", 400,
       "Expected value but found T_END at character 22"},
      {"no body", kBodySchema, "GET", {}, "", 400, "<error page>"},
      {"empty body", kBodySchema, "POST", {kJson}, "", 400, "<error page>"},
      {"form body", kBodySchema, "POST", {kForm}, "a=b&required_payload=101-hello", 200, ""},
      {"form body with charset", kBodySchema, "POST",
       {"Content-Type: Application/X-WWW-Form-Urlencoded; charset=utf-8"}, "required_payload=x",
       200, ""},
      {"form body missing key", kBodySchema, "POST", {kForm}, "a=b", 400,
       "property \"required_payload\" is required"},
      {"duplicated Content-Type", kBodySchema, "POST", {kForm, kJson},
       R"({"required_payload": "hello"})", 400, "duplicated Content-Type header"},
      {"custom message", R"({"body_schema": {"required": ["test"]},
                             "rejected_msg": "customize reject message for body_schema.required"})",
       "POST", {kJson}, R"({"other": 1})", 400, "customize reject message for body_schema.required"},
      {"custom code", R"({"body_schema": {"required": ["test"]}, "rejected_code": 505})", "POST",
       {kJson}, R"({"other": "abc"})", 505, "property \"test\" is required"},
      {"custom code, no body", R"({"body_schema": {"required": ["test"]}, "rejected_code": 505})",
       "GET", {}, "", 505, "<error page>"},
      {"custom code with message", R"({"body_schema": {"required": ["test"]},
                                       "rejected_code": 422, "rejected_msg": "bad"})",
       "POST", {kJson}, "[]", 422, "bad"},
      {"header present", R"({"header_schema": {"required": ["required_payload"]}})", "GET",
       {"required_payload: test payload"}, "", 200, ""},
      {"header missing", R"({"header_schema": {"required": ["required_payload"]}})", "GET", {}, "",
       400, "property \"required_payload\" is required"},
      {"documented header example",
       R"({"header_schema": {"type": "object", "required": ["User-Agent", "Host"],
            "properties": {"User-Agent": {"type": "string", "pattern": "^curl/"},
                           "Host": {"type": "string", "enum": ["httpbin.org", "httpbin"]}}}})",
       "GET", {"Host: httpbin", "User-Agent: curl/7.74.0"}, "", 200, ""},
      {"documented header example, bad agent",
       R"({"header_schema": {"type": "object", "required": ["User-Agent", "Host"],
            "properties": {"User-Agent": {"type": "string", "pattern": "^curl/"},
                           "Host": {"type": "string", "enum": ["httpbin.org", "httpbin"]}}}})",
       "GET", {"Host: httpbin", "User-Agent: Mozilla/5.0"}, "", 400,
       "property \"User-Agent\" validation failed: failed to match pattern \"^curl/\" with "
       "\"Mozilla/5.0\""},
      {"both schemas, headers first",
       R"({"header_schema": {"required": ["x-key"]}, "body_schema": {"type": "object"}})", "POST",
       {kJson}, "not json", 400, "property \"x-key\" is required"},
      {"both schemas pass",
       R"({"header_schema": {"required": ["x-key"]}, "body_schema": {"type": "object"}})", "POST",
       {kJson, "X-Key: 1"}, "{}", 200, ""},
  };
  int id = 0;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string rid = std::to_string(++id);
    put_route(t, up, rid, c.conf);
    const int before = up.requests();
    auto r = http(HttpRequest{c.method, t.url("/echo/" + rid), c.headers, c.body, false, 10000});
    ASSERT_EQ(r.error, "");
    EXPECT_EQ(r.status, c.status) << r.body;
    if (c.status == 200) {
      EXPECT_EQ(up.requests(), before + 1);
      EXPECT_EQ(wire::echo_field(r.body, "body_size"), std::to_string(c.body.size())) << r.body;
      EXPECT_EQ(wire::echo_field(r.body, "body_hash"), std::to_string(wire::fnv1a(c.body)));
      continue;
    }
    EXPECT_EQ(up.requests(), before) << "a refused request never reaches the upstream";
    if (c.reply == "<error page>") {
      EXPECT_NE(r.body.find(std::to_string(c.status)), std::string::npos) << r.body;
      EXPECT_EQ(r.headers["content-type"], "text/html") << r.body;
    } else {
      EXPECT_EQ(r.body, c.reply);
      EXPECT_EQ(r.headers["content-type"], "text/plain");
    }
  }
}

// The validated bytes are the forwarded bytes: a chunked body arrives
// de-chunked, whole, with a Content-Length and no Transfer-Encoding.
TEST(PluginValidation, ChunkedBodyIsForwardedByteExactWithContentLength) {
  Upstream up;
  Torii t(admin_options());
  put_route(t, up, "1", kBodySchema);
  // Odd spacing and a long string: forwarded as sent, never re-encoded.
  const std::string body = "{ \"required_payload\" :\"" + std::string(40000, 'p') +
                           "\",\n\t\"boolean_payload\":true , \"x\": 1.50}";
  std::string wire = "POST /echo/1 HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n"
                     "Transfer-Encoding: chunked\r\n\r\n";
  for (size_t off = 0; off < body.size(); off += 7000) {
    const std::string part = body.substr(off, 7000);
    char line[32];
    std::snprintf(line, sizeof(line), "%zx\r\n", part.size());
    wire += line + part + "\r\n";
  }
  wire += "0\r\n\r\n";
  Conn c(t.port());
  // In 1000-byte pieces: the plugin's read sees the body arrive over many reads.
  for (size_t p = 0; p < wire.size(); p += 1000) {
    ASSERT_TRUE(c.send(std::string_view(wire).substr(p, 1000)));
  }
  auto r = c.read_response(10s);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(wire::echo_field(r->body, "body_size"), std::to_string(body.size()));
  EXPECT_EQ(wire::echo_field(r->body, "body_hash"), std::to_string(wire::fnv1a(body)));
  const std::string head = up.last_head();
  EXPECT_NE(head.find("\r\nContent-Length: " + std::to_string(body.size()) + "\r\n"),
            std::string::npos)
      << head;
  EXPECT_EQ(head.find("Transfer-Encoding"), std::string::npos) << head;

  // An invalid chunked body is refused with cjson's message.
  ASSERT_TRUE(c.send("POST /echo/1 HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n"
                     "Transfer-Encoding: chunked\r\n\r\n3\r\n{\"a\r\n0\r\n\r\n"));
  auto bad = c.read_response(5s);
  ASSERT_TRUE(bad.has_value());
  EXPECT_EQ(bad->status, 400);
  EXPECT_EQ(bad->body, "Expected object key string but found unexpected end of string at "
                       "character 4");
}

// A refusal reads the whole body first, so the connection stays usable; and
// the Content-Length body that passes is forwarded as is.
TEST(PluginValidation, KeepAliveContinuesAfterARefusal) {
  Upstream up;
  Torii t(admin_options());
  put_route(t, up, "1", kBodySchema);
  Conn c(t.port());
  const std::string bad = R"({"boolean_payload": true})";
  ASSERT_TRUE(c.send("POST /echo/1 HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n"
                     "Content-Length: " + std::to_string(bad.size()) + "\r\n\r\n" + bad));
  auto r1 = c.read_response(5s);
  ASSERT_TRUE(r1.has_value());
  EXPECT_EQ(r1->status, 400);
  EXPECT_EQ(r1->body, "property \"required_payload\" is required");
  EXPECT_EQ(r1->headers.count("connection"), 0u) << r1->head;
  const std::string good = R"({"required_payload": "ok"})";
  ASSERT_TRUE(c.send("POST /echo/1 HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n"
                     "Content-Length: " + std::to_string(good.size()) + "\r\n\r\n" + good));
  auto r2 = c.read_response(5s);
  ASSERT_TRUE(r2.has_value()) << "the connection was closed after the refusal";
  EXPECT_EQ(r2->status, 200);
  EXPECT_EQ(wire::echo_field(r2->body, "body_hash"), std::to_string(wire::fnv1a(good)));
  EXPECT_NE(up.last_head().find("\r\nContent-Length: " + std::to_string(good.size()) + "\r\n"),
            std::string::npos);
  EXPECT_FALSE(c.eof());
}

// Expect: 100-continue is answered by the body read; the rest of the body and
// a pipelined request arrive in one segment: both are served, in order.
TEST(PluginValidation, ContinueThenBodyAndPipelinedRequest) {
  Upstream up;
  Torii t(admin_options());
  put_route(t, up, "1", kBodySchema);
  const std::string body = R"({"required_payload": "after continue"})";
  Conn c(t.port());
  ASSERT_TRUE(c.send("POST /echo/1 HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n"
                     "Expect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n"));
  auto interim = c.read_response(5s);
  ASSERT_TRUE(interim.has_value()) << "no 100 Continue: the client would wait forever";
  ASSERT_EQ(interim->status, 100);
  char line[32];
  std::snprintf(line, sizeof(line), "%zx\r\n", body.size());
  ASSERT_TRUE(c.send(line + body + "\r\n0\r\n\r\nGET /echo/next HTTP/1.1\r\nHost: a\r\n\r\n"));
  auto r1 = c.read_response(5s);
  ASSERT_TRUE(r1.has_value());
  EXPECT_EQ(r1->status, 200);
  EXPECT_EQ(wire::echo_field(r1->body, "body_hash"), std::to_string(wire::fnv1a(body)));
  auto r2 = c.read_response(5s);
  ASSERT_TRUE(r2.has_value()) << "the pipelined request was lost";
  EXPECT_EQ(r2->status, 404) << "no route for /echo/next";
}

TEST(PluginValidation, BodyOverTheLimitGets413) {
  Upstream up;
  Torii t(admin_options("    client_max_body_size: 64k\n"));
  put_route(t, up, "1", kBodySchema);
  const int before = up.requests();
  // Chunked: found too large while reading (the head announced nothing).
  Conn c(t.port());
  ASSERT_TRUE(c.send("POST /echo/1 HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n"
                     "Transfer-Encoding: chunked\r\n\r\n"));
  const std::string chunk = "1000\r\n" + std::string(4096, 'q') + "\r\n";
  // 64 chunks of 4 KiB = 256 KiB, well past the limit; stop once refused.
  for (int i = 0; i < 64; ++i) {
    if (!c.send(chunk)) break;
    pollfd p{c.fd(), POLLIN, 0};
    if (::poll(&p, 1, 5) > 0) break;
  }
  auto r = c.read_response(5s);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 413);
  EXPECT_TRUE(c.closed_within(5s)) << "the rest of the body is unread: the connection closes";
  EXPECT_EQ(up.requests(), before);

  // client-control lowers the limit for the route; Content-Length announces more.
  put_route(t, up, "2", kBodySchema, R"("client-control": {"max_body_size": 10}, )");
  auto small = http(HttpRequest{"POST", t.url("/echo/2"), {kJson}, R"({"required_payload":"0123456789"})",
                                false, 10000});
  EXPECT_EQ(small.status, 413);
  EXPECT_EQ(up.requests(), before);
}

TEST(PluginValidation, SlowBodyGets408) {
  Upstream up;
  Torii t(admin_options("    client_body_timeout: 1s\n"));
  put_route(t, up, "1", kBodySchema);
  Conn c(t.port());
  ASSERT_TRUE(c.send("POST /echo/1 HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n"
                     "Content-Length: 100\r\n\r\n{\"required"));
  auto r = c.read_response(5s);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 408);
  EXPECT_TRUE(c.closed_within(5s));
  EXPECT_EQ(up.requests(), 0);
}

TEST(PluginValidation, AdminApiRefusesBadConfs) {
  Upstream up;
  Torii t(admin_options());
  const std::pair<std::string, std::string> cases[] = {
      {R"({})",
       "failed to check the configuration of plugin request-validation err: object matches none "
       "of the required: [\"header_schema\"] or [\"body_schema\"]"},
      {R"({"rejected_msg": "customize reject message"})",
       "failed to check the configuration of plugin request-validation err: object matches none "
       "of the required: [\"header_schema\"] or [\"body_schema\"]"},
      {R"({"header_schema": {}, "rejected_code": 10000})",
       "failed to check the configuration of plugin request-validation err: property "
       "\"rejected_code\" validation failed: expected 10000 to be at most 599"},
      {R"({"header_schema": {}, "rejected_msg": ")" + std::string(300, 'm') + "\"}",
       "failed to check the configuration of plugin request-validation err: property "
       "\"rejected_msg\" validation failed: string too long, expected at most 256, got 300"},
      // The schemas must compile (APISIX: core.schema.valid).
      {R"({"body_schema": {"type": "test"}})",
       "failed to check the configuration of plugin request-validation err: invalid body_schema: "
       "/body_schema/type: unknown type"},
      {R"({"header_schema": {"type": "string", "properties": {"test": {"enum": "test-enum"}}}})",
       "failed to check the configuration of plugin request-validation err: invalid "
       "header_schema: /header_schema/properties/test/enum: must be a non-empty array"},
  };
  for (const auto& [conf, msg] : cases) {
    SCOPED_TRACE(conf);
    auto r = t.admin("PUT", "/routes/1",
                     R"({"uri": "/x", "plugins": {"request-validation": )" + conf +
                         R"(}, "upstream": {"nodes": {")" + up.node() + R"(": 1}}})");
    EXPECT_EQ(r.status, 400) << r.body;
    boost::json::error_code ec;
    auto body = boost::json::parse(r.body, ec);
    ASSERT_FALSE(ec) << r.body;
    EXPECT_EQ(body.at("error_msg").as_string(), msg);
  }
  // The plugin list shows APISIX's schema.
  auto schema = t.admin("GET", "/plugins/request-validation");
  ASSERT_EQ(schema.status, 200) << schema.body;
  EXPECT_NE(schema.body.find("\"rejected_code\""), std::string::npos) << schema.body;
}

}  // namespace
}  // namespace torii::testing
