// `scheme: https` upstreams through the real binary: a TLS upstream server
// in the test process (OpenSSL, self-signed certificate made by the openssl
// tool), SNI, and `tls.verify`.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "harness.h"

namespace torii::testing {
namespace {

// A self-signed certificate for CN/SAN "localhost", made once per process.
struct SelfSignedCert {
  TempDir dir;
  std::string cert;
  std::string key;
  bool ok = false;

  SelfSignedCert() : cert(dir.path() + "/cert.pem"), key(dir.path() + "/key.pem") {
    const std::string cmd =
        "openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=localhost -days 1"
        " -addext subjectAltName=DNS:localhost -keyout " +
        key + " -out " + cert + " >/dev/null 2>&1";
    ok = std::system(cmd.c_str()) == 0;
  }
};

const SelfSignedCert& test_cert() {
  static SelfSignedCert c;
  return c;
}

// A keep-alive HTTPS/1.1 server on 127.0.0.1. Each response body names the
// SNI the client sent ("sni=" when none) followed by the request head.
class TlsUpstream {
 public:
  TlsUpstream(const std::string& cert, const std::string& key) {
    ctx_ = SSL_CTX_new(TLS_server_method());
    SSL_CTX_use_certificate_chain_file(ctx_, cert.c_str());
    SSL_CTX_use_PrivateKey_file(ctx_, key.c_str(), SSL_FILETYPE_PEM);
    listen_fd_ = listen_loopback(64, port_);
    acceptor_ = std::thread([this] { accept_loop(); });
  }
  ~TlsUpstream() {
    stopping_ = true;
    if (acceptor_.joinable()) acceptor_.join();
    ::close(listen_fd_);
    std::vector<std::thread> threads;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
      threads.swap(threads_);
    }
    for (std::thread& th : threads) th.join();
    SSL_CTX_free(ctx_);
  }
  TlsUpstream(const TlsUpstream&) = delete;
  TlsUpstream& operator=(const TlsUpstream&) = delete;

  uint16_t port() const { return port_; }
  int accepted() const { return accepted_.load(); }
  int handshakes() const { return handshakes_.load(); }
  int requests() const { return requests_.load(); }

 private:
  void accept_loop() {
    while (!stopping_) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      const int fd = ::accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) continue;
      ++accepted_;
      std::lock_guard<std::mutex> lock(mu_);
      open_fds_.push_back(fd);
      threads_.emplace_back([this, fd] {
        serve(fd);
        std::lock_guard<std::mutex> l(mu_);
        std::erase(open_fds_, fd);
        ::close(fd);
      });
    }
  }

  void serve(int fd) {
    SSL* ssl = SSL_new(ctx_);
    SSL_set_fd(ssl, fd);
    if (SSL_accept(ssl) == 1) {
      ++handshakes_;
      const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
      const std::string sni = name ? name : "";
      std::string buf;
      for (;;) {
        size_t end;
        while ((end = buf.find("\r\n\r\n")) == std::string::npos) {
          char tmp[4096];
          const int n = SSL_read(ssl, tmp, sizeof(tmp));
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
            "\r\nX-Upstream-Port: " + std::to_string(port_) + "\r\n\r\n" + body;
        if (SSL_write(ssl, out.data(), static_cast<int>(out.size())) <= 0) break;
      }
    }
    ERR_clear_error();
    SSL_free(ssl);
  }

  SSL_CTX* ctx_ = nullptr;
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> accepted_{0};
  std::atomic<int> handshakes_{0};
  std::atomic<int> requests_{0};
  std::thread acceptor_;
  std::mutex mu_;
  std::vector<int> open_fds_;
  std::vector<std::thread> threads_;
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
