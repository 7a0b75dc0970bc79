// `scheme: https` upstreams through the real binary: a TLS upstream server
// in the test process (OpenSSL, self-signed certificate made by the openssl
// tool), SNI, and `tls.verify`.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <string>

#include "harness.h"
#include "test_server.h"

namespace torii::testing {
namespace {

// A self-signed certificate for CN/SAN "localhost", made once per process.
struct TestCert {
  TempDir dir;
  SelfSignedCert c = make_self_signed_cert(dir, "cert", "DNS:localhost");
};

const SelfSignedCert& test_cert() {
  static TestCert c;
  return c.c;
}

// A keep-alive HTTPS/1.1 server on 127.0.0.1. Each response body names the
// SNI the client sent ("sni=" when none) followed by the request head.
class TlsUpstream {
 public:
  TlsUpstream(const std::string& cert, const std::string& key)
      : ctx_(cert, key), server_([this](TestConn& c) { serve(c); }, &ctx_) {}
  ~TlsUpstream() { server_.stop(); }
  TlsUpstream(const TlsUpstream&) = delete;
  TlsUpstream& operator=(const TlsUpstream&) = delete;

  uint16_t port() const { return server_.port(); }
  int accepted() const { return server_.accepted(); }
  int handshakes() const { return server_.handshakes(); }
  int requests() const { return requests_.load(); }

 private:
  void serve(TestConn& conn) {
    const std::string sni = conn.sni();
    std::string buf;
    for (;;) {
      size_t end;
      while ((end = buf.find("\r\n\r\n")) == std::string::npos) {
        char tmp[4096];
        const long n = conn.recv_some(tmp, sizeof(tmp));
        if (n <= 0) break;
        buf.append(tmp, static_cast<size_t>(n));
      }
      if (end == std::string::npos) break;
      const std::string head = buf.substr(0, end + 4);
      buf.erase(0, end + 4);
      ++requests_;
      const std::string body = "sni=" + sni + "\n" + head;
      const std::string out =
          "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) +
          "\r\nX-Upstream-Port: " + std::to_string(port()) + "\r\n\r\n" + body;
      if (!conn.send_all(out)) break;
    }
  }

  std::atomic<int> requests_{0};
  ServerTlsContext ctx_;
  TestServer server_;  // last: its connection threads use the members above
};

std::string https_route(const std::string& host, uint16_t port, const std::string& extra = "") {
  return "routes:\n  - id: r1\n    uris: [\"/x\", \"/secure/*\"]\n    upstream:\n      scheme: "
         "https\n"
         "      nodes:\n        \"" +
         host + ":" + std::to_string(port) + "\": 1\n" + extra;
}

TEST(UpstreamTls, HttpsSchemeReachesATlsUpstreamAndSendsSni) {
  const SelfSignedCert& c = test_cert();
  ASSERT_TRUE(c.ok) << "openssl could not make a certificate";
  TlsUpstream up(c.cert, c.key);
  Torii t(https_route("localhost", up.port()));
  auto r = http_get(t.url("/secure/path?q=1"));
  ASSERT_EQ(r.status, 200) << r.error << r.body;
  EXPECT_EQ(r.headers["x-upstream-port"], std::to_string(up.port()));
  EXPECT_EQ(r.body.rfind("sni=localhost\n", 0), 0u) << r.body;
  EXPECT_NE(r.body.find("GET /secure/path?q=1 HTTP/1.1\r\n"), std::string::npos) << r.body;
  // The access log shows the https upstream scheme.
  EXPECT_TRUE(wait_until([&] { return t.access_log().find("\"https://") != std::string::npos; },
                         std::chrono::seconds(3)))
      << t.access_log();
}

TEST(UpstreamTls, IpLiteralNodeSendsNoSni) {
  const SelfSignedCert& c = test_cert();
  ASSERT_TRUE(c.ok);
  TlsUpstream up(c.cert, c.key);
  Torii t(https_route("127.0.0.1", up.port()));
  auto r = http_get(t.url("/x"));
  ASSERT_EQ(r.status, 200) << r.error << r.body;
  EXPECT_EQ(r.body.rfind("sni=\n", 0), 0u) << r.body;
}

TEST(UpstreamTls, TlsConnectionsAreReused) {
  const SelfSignedCert& c = test_cert();
  ASSERT_TRUE(c.ok);
  TlsUpstream up(c.cert, c.key);
  Torii t(https_route("localhost", up.port()), "", 1);
  for (int i = 0; i < 4; ++i) ASSERT_EQ(http_get(t.url("/x")).status, 200);
  EXPECT_EQ(up.requests(), 4);
  EXPECT_EQ(up.handshakes(), 1);
}

TEST(UpstreamTls, VerifyRejectsAnUntrustedSelfSignedCertificate) {
  const SelfSignedCert& c = test_cert();
  ASSERT_TRUE(c.ok);
  TlsUpstream up(c.cert, c.key);
  Torii t(https_route("localhost", up.port(), "      tls:\n        verify: true\n"));
  auto r = http_get(t.url("/x"));
  EXPECT_EQ(r.status, 502) << r.body;
  EXPECT_EQ(r.headers["x-apisix-upstream-status"], "502");
  EXPECT_EQ(up.requests(), 0) << "a request went to an unverified server";
}

// The trust store comes from OpenSSL's defaults, which honour SSL_CERT_FILE:
// with the certificate trusted, verification passes.
TEST(UpstreamTls, VerifyAcceptsATrustedCertificate) {
  const SelfSignedCert& c = test_cert();
  ASSERT_TRUE(c.ok);
  TlsUpstream up(c.cert, c.key);
  const char* old = std::getenv("SSL_CERT_FILE");
  const std::string saved = old ? old : "";
  ::setenv("SSL_CERT_FILE", c.cert.c_str(), 1);
  Torii t(https_route("localhost", up.port(), "      tls:\n        verify: true\n"));
  if (old)
    ::setenv("SSL_CERT_FILE", saved.c_str(), 1);
  else
    ::unsetenv("SSL_CERT_FILE");
  auto r = http_get(t.url("/x"));
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(up.requests(), 1);
}

}  // namespace
}  // namespace torii::testing
