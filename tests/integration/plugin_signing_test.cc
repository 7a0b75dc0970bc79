// anti-tamper and anti-replay through the real binary: signed requests
// accepted (query order free, consumer attached, body forwarded), every
// error code of the table with its status and X-Torii-Error-Code, replays
// refused, the local store full (503), the redis policy shared by two
// gateways, Redis down with on_store_error reject / allow, the metric, the
// Admin API's schema checks, and docs/examples/torii-sign.sh run once.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>
#include <vector>

#include "harness.h"
#include "redis_process.h"
#include "signing_client.h"

namespace torii::testing {
namespace {

constexpr const char* kSecret = "jack-secret-0123456789";

const std::string kConsumers = std::string(R"(consumers:
  - username: jack
    plugins:
      anti-tamper: {key: jack-key, secret: ")") + kSecret + R"("}
  - username: rose
    plugins:
      anti-tamper: {key: rose-key, secret: "rose-secret-0123456789"}
)";

std::string route(const Upstream& up, const std::string& id, const std::string& uri,
                  const std::string& plugins) {
  return "  - id: " + id + "\n    uri: \"" + uri + "\"\n    plugins: " + plugins +
         "\n    upstream:\n      nodes:\n        \"" + up.node() + "\": 1\n";
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string host_of(const Torii& t) { return "127.0.0.1:" + std::to_string(t.port()); }

// A request signed by jack (or `key`/`secret`), sent to `t`.
struct Signed {
  SigningInput in;
  std::vector<std::string> headers;  // as signed
};

Signed jack(const Torii& t, const std::string& method, const std::string& target,
            const std::string& body = "", const std::string& content_type = "") {
  Signed s;
  s.in.key = "jack-key";
  s.in.secret = kSecret;
  s.in.method = method;
  s.in.target = target;
  s.in.body = body;
  s.in.headers = {{"Host", host_of(t)}};
  if (!content_type.empty()) s.in.headers.emplace_back("Content-Type", content_type);
  s.headers = sign_request(s.in);
  return s;
}

HttpResponse send(const Torii& t, const std::string& method, const std::string& target,
                  const std::vector<std::string>& headers, const std::string& body = "") {
  HttpRequest r;
  r.method = method;
  r.url = t.url(target);
  r.headers = headers;
  r.body = body;
  return http(r);
}

// Replaces the header named `name` (case-insensitive) or appends it.
std::vector<std::string> with_header(std::vector<std::string> headers, const std::string& name,
                                     const std::string& value) {
  for (auto& h : headers) {
    if (lower(h.substr(0, h.find(':'))) == lower(name)) {
      h = name + ": " + value;
      return headers;
    }
  }
  headers.push_back(name + ": " + value);
  return headers;
}

std::vector<std::string> without_header(std::vector<std::string> headers, const std::string& name) {
  std::erase_if(headers, [&](const std::string& h) {
    return lower(h.substr(0, h.find(':'))) == lower(name);
  });
  return headers;
}

// Asserts the refusal: status, JSON body, X-Torii-Error-Code.
void expect_refused(const HttpResponse& r, long status, const std::string& code,
                    const std::string& message) {
  EXPECT_EQ(r.status, status) << r.body;
  EXPECT_EQ(r.body, "{\"error_code\":\"" + code + "\",\"message\":\"" + message + "\"}\n");
  EXPECT_EQ(r.headers.count("x-torii-error-code") ? r.headers.at("x-torii-error-code") : "", code);
  EXPECT_EQ(r.headers.count("content-type") ? r.headers.at("content-type") : "",
            "application/json");
}

std::string upstream_head(const Upstream& up) { return lower(up.last_head()); }

// The value of header `name` among "Name: value" lines ("" when absent).
std::string header_value(const std::vector<std::string>& headers, const std::string& name) {
  for (const auto& h : headers) {
    if (lower(h.substr(0, h.find(':'))) == lower(name)) return h.substr(h.find(':') + 2);
  }
  return "";
}

class PluginSigning : public ::testing::Test {
 protected:
  PluginSigning()
      : t_(kConsumers + "routes:\n" +
           route(up_, "tamper", "/echo/tamper/*", R"({"anti-tamper": {"max_body_bytes": 1024}})") +
           route(up_, "both", "/echo/both/*", R"({"anti-tamper": {}, "anti-replay": {}})") +
           route(up_, "alone", "/echo/alone/*",
                 R"({"anti-replay": {"local_max_entries": 3, "allowed_clock_skew": 60}})") +
           route(up_, "strict", "/echo/strict/*",
                 R"({"anti-tamper": {"required_signed_headers": ["x-tenant"]}})")) {}
  Upstream up_;
  Torii t_;
};

TEST_F(PluginSigning, signed_requests_pass_and_attach_the_consumer) {
  // The client signs one query order and sends another: the canonical query is sorted.
  Signed s = jack(t_, "GET", "/echo/tamper/echo?b=2&a=1&a=%7e0");
  auto r = send(t_, "GET", "/echo/tamper/echo?a=%7E0&a=1&b=2", s.headers);
  EXPECT_EQ(r.status, 200) << r.body;
  const std::string head = upstream_head(up_);
  EXPECT_NE(head.find("x-consumer-username: jack\r\n"), std::string::npos) << head;

  // A body: signed, hashed, forwarded byte for byte.
  const std::string body = "{\"amount\":100}";
  s = jack(t_, "POST", "/echo/tamper/pay", body, "application/json");
  r = send(t_, "POST", "/echo/tamper/echo", s.headers, body);
  EXPECT_EQ(r.status, 401) << "the path is signed";
  s = jack(t_, "POST", "/echo/tamper/echo", body, "application/json");
  r = send(t_, "POST", "/echo/tamper/echo", s.headers, body);
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("body_size=" + std::to_string(body.size())), std::string::npos) << r.body;

  // Millisecond timestamps (13 digits) are accepted too.
  s.in.timestamp = static_cast<int64_t>(std::time(nullptr)) * 1000 + 123;
  s.in.nonce.clear();
  r = send(t_, "POST", "/echo/tamper/echo", sign_request(s.in), body);
  EXPECT_EQ(r.status, 200) << r.body;

  // Whitespace in a signed value is canonicalised on both sides.
  s = jack(t_, "GET", "/echo/strict/echo");
  s.in.headers.emplace_back("X-Tenant", "  acme   corp ");
  r = send(t_, "GET", "/echo/strict/echo", sign_request(s.in));
  EXPECT_EQ(r.status, 200) << r.body;
}

TEST_F(PluginSigning, missing_and_malformed_headers) {
  expect_refused(send(t_, "GET", "/echo/tamper/echo", {}), 401, "TORII_AUTH_MISSING",
                 "missing header: X-Torii-Key");
  const Signed s = jack(t_, "GET", "/echo/tamper/echo");
  for (const char* h : {"X-Torii-Timestamp", "X-Torii-Nonce", "X-Torii-Content-SHA256",
                        "X-Torii-Signed-Headers", "X-Torii-Signature"}) {
    expect_refused(send(t_, "GET", "/echo/tamper/echo", without_header(s.headers, h)), 401,
                   "TORII_AUTH_MISSING", std::string("missing header: ") + h);
  }
  const std::pair<const char*, const char*> bad[] = {
      {"X-Torii-Timestamp", "12ab"},
      {"X-Torii-Timestamp", "17000000000000"},  // 14 digits
      {"X-Torii-Nonce", "short"},
      {"X-Torii-Nonce", "has.a.dot.in.it.0123456789"},
      {"X-Torii-Content-SHA256", "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"},
      {"X-Torii-Signed-Headers", "host;;x-a"},
      {"X-Torii-Signed-Headers", "Host"},
      {"X-Torii-Signed-Headers", "host;host"},
      {"X-Torii-Signature", "deadbeef"},
  };
  for (const auto& [name, value] : bad) {
    expect_refused(send(t_, "GET", "/echo/tamper/echo", with_header(s.headers, name, value)), 400,
                   "TORII_AUTH_MALFORMED", std::string("invalid ") + name);
  }
  EXPECT_EQ(up_.requests(), 0);
}

TEST_F(PluginSigning, key_time_headers_digest_and_signature_failures) {
  Signed s = jack(t_, "GET", "/echo/tamper/echo");
  expect_refused(send(t_, "GET", "/echo/tamper/echo", with_header(s.headers, "X-Torii-Key", "nobody")),
                 401, "TORII_KEY_INVALID", "unknown or disabled access key");

  // An old timestamp: the server's time comes back so the client can fix its clock.
  s.in.timestamp = static_cast<int64_t>(std::time(nullptr)) - 3600;
  const int64_t before = std::time(nullptr);
  auto r = send(t_, "GET", "/echo/tamper/echo", sign_request(s.in));
  const int64_t after = std::time(nullptr);
  expect_refused(r, 401, "TORII_TIMESTAMP_EXPIRED", "request timestamp outside allowed skew of 300s");
  ASSERT_EQ(r.headers.count("x-torii-server-time"), 1u);
  EXPECT_GE(std::stoll(r.headers["x-torii-server-time"]), before);
  EXPECT_LE(std::stoll(r.headers["x-torii-server-time"]), after);

  // Signed headers: host always; content-type with a body; the route's required ones;
  // and every signed header must be in the request.
  s = jack(t_, "GET", "/echo/tamper/echo");
  s.in.headers = {{"X-A", "1"}};
  expect_refused(send(t_, "GET", "/echo/tamper/echo", sign_request(s.in)), 401,
                 "TORII_SIGNED_HEADERS_INVALID", "signed headers must include host");
  s = jack(t_, "POST", "/echo/tamper/echo", "x=1");
  expect_refused(send(t_, "POST", "/echo/tamper/echo",
                      with_header(s.headers, "Content-Type", "text/plain"), "x=1"),
                 401, "TORII_SIGNED_HEADERS_INVALID",
                 "signed headers must include content-type when there is a body");
  s = jack(t_, "GET", "/echo/strict/echo");
  expect_refused(send(t_, "GET", "/echo/strict/echo", s.headers), 401, "TORII_SIGNED_HEADERS_INVALID",
                 "signed headers must include x-tenant");
  s = jack(t_, "GET", "/echo/strict/echo");
  s.in.headers.emplace_back("X-Tenant", "acme");
  expect_refused(send(t_, "GET", "/echo/strict/echo", without_header(sign_request(s.in), "X-Tenant")),
                 401, "TORII_SIGNED_HEADERS_INVALID", "signed header missing from request: x-tenant");

  // Tampering: another body, path, query, method, signed header value, or secret.
  const std::string body = "{\"amount\":100}";
  s = jack(t_, "POST", "/echo/tamper/echo", body, "application/json");
  expect_refused(send(t_, "POST", "/echo/tamper/echo", s.headers, "{\"amount\":999}"), 401,
                 "TORII_BODY_DIGEST_MISMATCH", "content sha256 does not match body");
  expect_refused(send(t_, "POST", "/echo/tamper/echo?x=1", s.headers, body), 401,
                 "TORII_SIGNATURE_MISMATCH", "signature does not match");
  expect_refused(send(t_, "PUT", "/echo/tamper/echo", s.headers, body), 401, "TORII_SIGNATURE_MISMATCH",
                 "signature does not match");
  expect_refused(send(t_, "POST", "/echo/tamper/other", s.headers, body), 401,
                 "TORII_SIGNATURE_MISMATCH", "signature does not match");
  expect_refused(send(t_, "POST", "/echo/tamper/echo", with_header(s.headers, "Content-Type", "text/xml"),
                      body),
                 401, "TORII_SIGNATURE_MISMATCH", "signature does not match");
  s.in.secret = "rose-secret-0123456789";  // signed with another consumer's secret
  expect_refused(send(t_, "POST", "/echo/tamper/echo", sign_request(s.in), body), 401,
                 "TORII_SIGNATURE_MISMATCH", "signature does not match");

  // Over max_body_bytes (1024 on this route).
  const std::string big(2000, 'x');
  s = jack(t_, "POST", "/echo/tamper/echo", big, "text/plain");
  expect_refused(send(t_, "POST", "/echo/tamper/echo", s.headers, big), 413, "TORII_BODY_TOO_LARGE",
                 "body exceeds max_body_bytes");
  EXPECT_EQ(up_.requests(), 0);
}

TEST_F(PluginSigning, a_replay_is_refused_and_the_nonce_is_scoped_by_consumer) {
  const Signed s = jack(t_, "GET", "/echo/both/echo");
  EXPECT_EQ(send(t_, "GET", "/echo/both/echo", s.headers).status, 200);
  expect_refused(send(t_, "GET", "/echo/both/echo", s.headers), 403, "TORII_NONCE_REPLAYED",
                 "nonce has already been used");
  // anti-tamper alone lets the same request through again (no nonce store).
  const Signed t = jack(t_, "GET", "/echo/tamper/echo");
  EXPECT_EQ(send(t_, "GET", "/echo/tamper/echo", t.headers).status, 200);
  EXPECT_EQ(send(t_, "GET", "/echo/tamper/echo", t.headers).status, 200);

  // Another consumer may use the same nonce.
  SigningInput rose = s.in;
  rose.key = "rose-key";
  rose.secret = "rose-secret-0123456789";
  rose.nonce = header_value(s.headers, "X-Torii-Nonce");
  EXPECT_EQ(send(t_, "GET", "/echo/both/echo", sign_request(rose)).status, 200);
  EXPECT_EQ(send(t_, "GET", "/echo/both/echo", sign_request(rose)).status, 403);

  // A request that fails the signature never reaches the nonce store: the
  // genuine one with that nonce still passes afterwards.
  SigningInput forged = s.in;
  forged.nonce = random_nonce();
  forged.secret = "not-the-secret-at-all";
  EXPECT_EQ(send(t_, "GET", "/echo/both/echo", sign_request(forged)).status, 401);
  forged.secret = kSecret;
  EXPECT_EQ(send(t_, "GET", "/echo/both/echo", sign_request(forged)).status, 200);
}

// An absolute-form target routes by its authority (RFC 9112 3.2.2); the
// Host header the client also sent must not be what the signature covers,
// or a request signed for one host could be replayed to another host's route
// by rewriting only the request line.
TEST(PluginSigningHosts, the_signed_host_is_the_host_the_request_is_routed_by) {
  Upstream up;
  auto host_route = [&](const std::string& id, const std::string& host) {
    return "  - id: " + id + "\n    uri: /api/*\n    hosts: [" + host +
           "]\n    plugins: {anti-tamper: {}, anti-replay: {}}\n    upstream:\n      nodes:\n"
           "        \"" + up.node() + "\": 1\n";
  };
  Torii t(kConsumers + "routes:\n" + host_route("shop", "shop.example.com") +
          host_route("admin", "admin.example.com"));
  SigningInput in;
  in.key = "jack-key";
  in.secret = kSecret;
  in.method = "GET";
  in.target = "/api/orders";
  in.headers = {{"Host", "shop.example.com"}};
  std::string head;
  for (const std::string& h : sign_request(in)) head += h + "\r\n";
  const std::string reply = raw_exchange(
      t.port(), "GET http://admin.example.com/api/orders HTTP/1.1\r\n" + head +
                     "Connection: close\r\n\r\n");
  EXPECT_TRUE(reply.starts_with("HTTP/1.1 401")) << reply;
  EXPECT_NE(reply.find("TORII_SIGNATURE_MISMATCH"), std::string::npos) << reply;
  // The same request line with the host it was signed for passes.
  in.nonce = random_nonce();
  head.clear();
  for (const std::string& h : sign_request(in)) head += h + "\r\n";
  const std::string ok = raw_exchange(
      t.port(), "GET http://shop.example.com/api/orders HTTP/1.1\r\n" + head +
                     "Connection: close\r\n\r\n");
  EXPECT_TRUE(ok.starts_with("HTTP/1.1 200")) << ok;
}

// A nonce is spent on the whole node: two routes told apart only by an
// unsigned header share one nonce table, so a signed request used on one
// is a replay on the other (as the Redis policy's node-wide keys are).
TEST(PluginSigningHosts, a_nonce_spent_on_one_route_is_a_replay_on_another) {
  Upstream up;
  auto version_route = [&](const std::string& id, const std::string& version) {
    return "  - id: " + id + "\n    uri: /api/*\n    vars: [[\"http_x_api_version\", \"==\", \"" +
           version + "\"]]\n    plugins: {anti-tamper: {}, anti-replay: {}}\n    upstream:\n"
           "      nodes:\n        \"" + up.node() + "\": 1\n";
  };
  Torii t(kConsumers + "routes:\n" + version_route("v1", "1") + version_route("v2", "2"));
  const Signed s = jack(t, "GET", "/api/orders");
  EXPECT_EQ(send(t, "GET", "/api/orders", with_header(s.headers, "X-Api-Version", "1")).status, 200);
  expect_refused(send(t, "GET", "/api/orders", with_header(s.headers, "X-Api-Version", "2")), 403,
                 "TORII_NONCE_REPLAYED", "nonce has already been used");
}

TEST_F(PluginSigning, anti_replay_alone_and_its_local_store_bound) {
  auto headers = [](const std::string& nonce, int64_t ts = 0) {
    return std::vector<std::string>{
        "X-Torii-Key: client-1",
        "X-Torii-Timestamp: " + std::to_string(ts ? ts : std::time(nullptr)),
        "X-Torii-Nonce: " + nonce};
  };
  expect_refused(send(t_, "GET", "/echo/alone/echo", {"X-Torii-Nonce: " + random_nonce()}), 401,
                 "TORII_AUTH_MISSING", "missing header: X-Torii-Key");
  expect_refused(send(t_, "GET", "/echo/alone/echo", without_header(headers(random_nonce()), "X-Torii-Nonce")),
                 401, "TORII_AUTH_MISSING", "missing header: X-Torii-Nonce");
  expect_refused(send(t_, "GET", "/echo/alone/echo", headers("bad nonce!")), 400, "TORII_AUTH_MALFORMED",
                 "invalid X-Torii-Nonce");
  auto old = send(t_, "GET", "/echo/alone/echo", headers(random_nonce(), std::time(nullptr) - 61));
  expect_refused(old, 401, "TORII_TIMESTAMP_EXPIRED", "request timestamp outside allowed skew of 60s");
  EXPECT_EQ(old.headers.count("x-torii-server-time"), 1u);

  const std::string n1 = random_nonce();
  EXPECT_EQ(send(t_, "GET", "/echo/alone/echo", headers(n1)).status, 200);
  expect_refused(send(t_, "GET", "/echo/alone/echo", headers(n1)), 403, "TORII_NONCE_REPLAYED",
                 "nonce has already been used");
  // Another key is another scope.
  EXPECT_EQ(send(t_, "GET", "/echo/alone/echo", with_header(headers(n1), "X-Torii-Key", "client-2")).status,
            200);
  // local_max_entries is 3: the third live nonce fits, the fourth is refused
  // (503, fail closed), and nothing was evicted to make room.
  EXPECT_EQ(send(t_, "GET", "/echo/alone/echo", headers(random_nonce())).status, 200);
  expect_refused(send(t_, "GET", "/echo/alone/echo", headers(random_nonce())), 503,
                 "TORII_NONCE_STORE_UNAVAILABLE", "replay protection store unavailable");
  EXPECT_EQ(send(t_, "GET", "/echo/alone/echo", headers(n1)).status, 403);
  EXPECT_NE(t_.error_log().find("local nonce store full"), std::string::npos);
}

TEST_F(PluginSigning, the_documented_shell_script_signs_requests) {
  const std::string script = std::string(TORII_SOURCE_DIR) + "/docs/examples/torii-sign.sh";
  const std::string out_file = t_.dir().path() + "/sign.out";
  const std::string cmd = "TORII_SECRET='" + std::string(kSecret) + "' bash " + script +
                          " -k jack-key -H 'Content-Type: application/json' -H 'X-Tenant:  acme  corp'"
                          " -d '{\"amount\": 100}' '" + t_.url("/echo/both/echo?b=x%2fy&a=hello+world&a=%41") +
                          "' > " + out_file + " 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << t_.dir().read("sign.out");
  const std::string out = t_.dir().read("sign.out");
  EXPECT_NE(out.find("method=POST"), std::string::npos) << out;
  EXPECT_NE(out.find("body_size=15"), std::string::npos) << out;
  EXPECT_NE(lower(out).find("x-consumer-username: jack"), std::string::npos) << out;
  // GET without a body, through anti-replay too.
  const std::string get = "TORII_SECRET='" + std::string(kSecret) + "' bash " + script +
                          " -k jack-key '" + t_.url("/echo/both/echo") + "' > " + out_file + " 2>&1";
  ASSERT_EQ(std::system(get.c_str()), 0);
  EXPECT_NE(t_.dir().read("sign.out").find("method=GET"), std::string::npos)
      << t_.dir().read("sign.out");
}

TEST(PluginSigningMetrics, refusals_are_counted_by_plugin_reason_and_route) {
  Upstream up;
  const uint16_t exporter = free_port();
  Torii t(kConsumers + "routes:\n" + route(up, "m1", "/echo/m/*", R"({"anti-tamper": {}})"),
          "plugin_attr:\n  prometheus:\n    export_addr:\n      ip: 127.0.0.1\n      port: " +
              std::to_string(exporter) + "\n");
  Signed s = jack(t, "GET", "/echo/m/echo");
  EXPECT_EQ(send(t, "GET", "/echo/m/echo", with_header(s.headers, "X-Torii-Signature",
                                                  std::string(64, '0'))).status, 401);
  EXPECT_EQ(send(t, "GET", "/echo/m/echo", with_header(s.headers, "X-Torii-Signature",
                                                  std::string(64, '1'))).status, 401);
  HttpResponse scrape;
  const std::string series =
      "apisix_auth_reject_total{plugin=\"anti-tamper\",reason=\"signature_mismatch\",route=\"m1\"} 2";
  EXPECT_TRUE(wait_until([&] {
    scrape = http_get("http://127.0.0.1:" + std::to_string(exporter) + "/apisix/prometheus/metrics");
    return scrape.body.find(series) != std::string::npos;
  })) << scrape.body;
  // The log names the key and a nonce hash, never the signature.
  const std::string log = t.error_log();
  EXPECT_NE(log.find("anti-tamper: refused route=m1 key=jack-key"), std::string::npos) << log;
  EXPECT_EQ(log.find(std::string(64, '1')), std::string::npos);
}

// ---- policy redis ------------------------------------------------------------

std::string redis_replay(uint16_t port, const std::string& extra = "") {
  return R"({"anti-tamper": {}, "anti-replay": {"policy": "redis", "redis_host": "127.0.0.1", )"
         R"("redis_timeout": 300, "redis_port": )" +
         std::to_string(port) + extra + "}}";
}

TEST(PluginSigningRedis, a_nonce_used_on_one_gateway_is_refused_by_another) {
  RedisProcess redis;
  redis.start();
  Upstream up;
  const std::string config = kConsumers + "routes:\n" + route(up, "r", "/echo/r/*", redis_replay(redis.port()));
  Torii a(config);
  Torii b(config);
  // Both gateways listen on 127.0.0.1 with their own port: sign the Host each one gets.
  Signed s = jack(a, "GET", "/echo/r/echo");
  ASSERT_EQ(send(a, "GET", "/echo/r/echo", s.headers).status, 200);
  std::vector<std::string> to_b = with_header(s.headers, "Host", host_of(a));
  expect_refused(send(b, "GET", "/echo/r/echo", to_b), 403, "TORII_NONCE_REPLAYED",
                 "nonce has already been used");
  expect_refused(send(a, "GET", "/echo/r/echo", s.headers), 403, "TORII_NONCE_REPLAYED",
                 "nonce has already been used");

  // The key layout and its TTL (ts + skew - now + 1, at most 2 * 300 + 1).
  const std::string nonce = header_value(s.headers, "X-Torii-Nonce");
  const int ttl = std::stoi(redis.cli({"TTL", "torii:nonce:jack:" + nonce}));
  EXPECT_GE(ttl, 290);
  EXPECT_LE(ttl, 601);

  // Fresh nonces pass on either node.
  EXPECT_EQ(send(b, "GET", "/echo/r/echo", jack(b, "GET", "/echo/r/echo").headers).status, 200);
  EXPECT_EQ(send(a, "GET", "/echo/r/echo", jack(a, "GET", "/echo/r/echo").headers).status, 200);
}

TEST(PluginSigningRedis, redis_down_rejects_or_falls_back_to_local) {
  RedisProcess redis;
  redis.start();
  Upstream up;
  Torii t(kConsumers + "routes:\n" + route(up, "strict", "/echo/strict/*", redis_replay(redis.port())) +
          route(up, "lenient", "/echo/lenient/*",
                redis_replay(redis.port(), R"(, "on_store_error": "allow")")));
  EXPECT_EQ(send(t, "GET", "/echo/strict/echo", jack(t, "GET", "/echo/strict/echo").headers).status, 200);
  redis.stop();
  expect_refused(send(t, "GET", "/echo/strict/echo", jack(t, "GET", "/echo/strict/echo").headers), 503,
                 "TORII_NONCE_STORE_UNAVAILABLE", "replay protection store unavailable");
  const Signed s = jack(t, "GET", "/echo/lenient/echo");
  EXPECT_EQ(send(t, "GET", "/echo/lenient/echo", s.headers).status, 200);
  // Local-only still refuses a replay on this node.
  expect_refused(send(t, "GET", "/echo/lenient/echo", s.headers), 403, "TORII_NONCE_REPLAYED",
                 "nonce has already been used");
  EXPECT_NE(t.error_log().find("anti-replay: nonce store error, request allowed"), std::string::npos)
      << t.error_log();
  // A hung Redis is the same, after redis_timeout.
  redis.start();
  EXPECT_EQ(send(t, "GET", "/echo/strict/echo", jack(t, "GET", "/echo/strict/echo").headers).status, 200);
  redis.pause();
  auto hung = send(t, "GET", "/echo/strict/echo", jack(t, "GET", "/echo/strict/echo").headers);
  auto lenient = send(t, "GET", "/echo/lenient/echo", jack(t, "GET", "/echo/lenient/echo").headers);
  redis.resume();
  EXPECT_EQ(hung.status, 503);
  EXPECT_EQ(lenient.status, 200);
}

// ---- Admin API ---------------------------------------------------------------

class PluginSigningAdmin : public ::testing::Test {
 protected:
  void SetUp() override {
    ToriiOptions o;
    o.deployment =
        "deployment:\n  role: traditional\n  role_traditional:\n    config_provider: sqlite\n";
    torii_ = std::make_unique<Torii>(std::move(o));
  }
  HttpResponse put_route(const std::string& plugins) const {
    return torii_->admin("PUT", "/routes/1",
                         R"({"uri":"/x","plugins":)" + plugins +
                             R"(,"upstream":{"nodes":{"127.0.0.1:1980":1}}})");
  }
  std::unique_ptr<Torii> torii_;
};

std::string schema_error(const std::string& plugin, const std::string& why,
                         const std::string& prefix = "") {
  return "{\"error_msg\":\"" + prefix + "failed to check the configuration of plugin " + plugin + " err: " + why +
         "\"}";
}

TEST_F(PluginSigningAdmin, invalid_confs_are_refused_with_the_field_named) {
  struct Case {
    std::string plugins;
    std::string plugin;
    std::string error;
  };
  const Case cases[] = {
      {R"({"anti-tamper": {"allowed_clock_skew": 901}})", "anti-tamper",
       "property \\\"allowed_clock_skew\\\" validation failed: expected 901 to be at most 900"},
      {R"({"anti-tamper": {"allowed_clock_skew": 0}})", "anti-tamper",
       "property \\\"allowed_clock_skew\\\" validation failed: expected 0 to be at least 1"},
      {R"({"anti-tamper": {"max_body_bytes": -1}})", "anti-tamper",
       "property \\\"max_body_bytes\\\" validation failed: expected -1 to be at least 0"},
      {R"({"anti-tamper": {"clock_skew": 10}})", "anti-tamper",
       "additional properties forbidden, found clock_skew"},
      {R"({"anti-tamper": {"required_signed_headers": ["X-Upper"]}})", "anti-tamper",
       "property \\\"required_signed_headers\\\" validation failed: failed to validate item 1: "
       "failed to match pattern \\\"^[a-z0-9!#$%&'*+.^_`|~-]+$\\\" with \\\"X-Upper\\\""},
      {R"({"anti-replay": {"policy": "memcached"}})", "anti-replay",
       "property \\\"policy\\\" validation failed: matches none of the enum values"},
      {R"({"anti-replay": {"policy": "redis"}})", "anti-replay", "then clause did not match"},
      {R"({"anti-replay": {"on_store_error": "ignore"}})", "anti-replay",
       "property \\\"on_store_error\\\" validation failed: matches none of the enum values"},
      {R"({"anti-replay": {"local_max_entries": 0}})", "anti-replay",
       "property \\\"local_max_entries\\\" validation failed: expected 0 to be at least 1"},
  };
  for (const Case& c : cases) {
    auto r = put_route(c.plugins);
    EXPECT_EQ(r.status, 400) << c.plugins;
    EXPECT_EQ(r.body, schema_error(c.plugin, c.error)) << c.plugins;
  }
  EXPECT_EQ(put_route(R"({"anti-tamper": {}, "anti-replay": {"policy": "redis",
                          "redis_host": "127.0.0.1", "on_store_error": "allow"}})")
                .status,
            201);
}

TEST_F(PluginSigningAdmin, consumer_secrets_are_checked_encrypted_and_keys_unique) {
  auto short_secret = torii_->admin(
      "PUT", "/consumers", R"({"username":"jack","plugins":{"anti-tamper":{"key":"k","secret":"short"}}})");
  EXPECT_EQ(short_secret.status, 400);
  EXPECT_EQ(short_secret.body,
            schema_error("anti-tamper",
                         "property \\\"secret\\\" validation failed: string too short, expected at "
                         "least 16, got 5",
                         "invalid plugins configuration: "));
  auto no_key = torii_->admin(
      "PUT", "/consumers", R"({"username":"jack","plugins":{"anti-tamper":{"secret":"0123456789abcdef"}}})");
  EXPECT_EQ(no_key.status, 400);
  EXPECT_EQ(no_key.body, schema_error("anti-tamper", "property \\\"key\\\" is required",
                                      "invalid plugins configuration: "));

  auto put = torii_->admin(
      "PUT", "/consumers",
      R"({"username":"jack","plugins":{"anti-tamper":{"key":"jack-key","secret":"jack-secret-0123456789"}}})");
  ASSERT_EQ(put.status, 201) << put.body;
  EXPECT_EQ(put.body.find("jack-secret-0123456789"), std::string::npos) << put.body;
  EXPECT_EQ(torii_->admin("GET", "/consumers/jack").body.find("jack-secret-0123456789"),
            std::string::npos);
  auto dup = torii_->admin(
      "PUT", "/consumers",
      R"({"username":"rose","plugins":{"anti-tamper":{"key":"jack-key","secret":"rose-secret-0123456789"}}})");
  EXPECT_EQ(dup.status, 400);
  EXPECT_EQ(dup.body, "{\"error_msg\":\"duplicate key found with consumer: jack\"}");

  // The decrypted secret verifies signatures.
  Upstream up;
  ASSERT_EQ(torii_->admin("PUT", "/routes/1",
                          R"({"uri":"/echo","plugins":{"anti-tamper":{},"anti-replay":{}},)"
                          R"("upstream":{"nodes":{")" + up.node() + R"(":1}}})")
                .status,
            201);
  EXPECT_TRUE(wait_until([&] {
    return send(*torii_, "GET", "/echo", jack(*torii_, "GET", "/echo").headers).status == 200;
  }));
}

}  // namespace
}  // namespace torii::testing
