// The TLS listener through the real binary: `ssls` objects picked by SNI
// (exact beats wildcard), unknown names refused in the handshake, mTLS with
// client.ca and skip_mtls_uri_regex, session resumption, per-object
// ssl_protocols, certificates hot-added and replaced through the Admin API
// without dropping an open connection, upstream mTLS with a `type: client`
// ssl, and redirect's http_to_https port. Certificates are made by the
// openssl tool in the test; clients are libcurl, `openssl s_client` and a
// raw OpenSSL connection.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cstdio>
#include <cstdlib>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "harness.h"
#include "test_server.h"

namespace torii::testing {
namespace {

namespace json = boost::json;

// A CA and the certificates the tests need, made once per process.
class Pki {
 public:
  Pki() {
    ok_ = run("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=Torii-Test-CA"
              " -keyout " + path("ca.key") + " -out " + path("ca.crt"));
    ok_ = ok_ && issue("wild", "/CN=wild", "DNS:*.test.com") &&
          issue("exact", "/CN=exact", "DNS:a.test.com") &&
          issue("v2", "/CN=version-two", "DNS:a.test.com,DNS:*.test.com") &&
          issue("client", "/CN=client1/O=Acme", "") &&
          issue("upclient", "/CN=gateway-client", "") &&
          issue("localhost", "/CN=localhost", "DNS:localhost") &&
          issue("rsa", "/CN=rsa-pair", "DNS:a.test.com", "rsa:2048");
  }
  bool ok() const { return ok_; }
  std::string path(const std::string& name) const { return dir_.path() + "/" + name; }
  std::string pem(const std::string& name) const { return dir_.read(name); }

 private:
  static bool run(const std::string& cmd) {
    return std::system((cmd + " >/dev/null 2>&1").c_str()) == 0;
  }
  // An ECDSA P-256 certificate signed by the CA, or one with `key_type`
  // ("rsa:2048").
  bool issue(const std::string& name, const std::string& subject, const std::string& sans,
             const std::string& key_type = "") {
    std::string ext = "basicConstraints=CA:FALSE\n";
    if (!sans.empty()) ext += "subjectAltName=" + sans + "\n";
    dir_.write(name + ".ext", ext);
    const std::string key = key_type.empty() ? "ec -pkeyopt ec_paramgen_curve:prime256v1" : key_type;
    return run("openssl req -newkey " + key + " -nodes -subj " +
               subject + " -keyout " + path(name + ".key") + " -out " + path(name + ".csr")) &&
           run("openssl x509 -req -days 2 -in " + path(name + ".csr") + " -CA " + path("ca.crt") +
               " -CAkey " + path("ca.key") + " -CAcreateserial -extfile " + path(name + ".ext") +
               " -out " + path(name + ".crt"));
  }

  TempDir dir_;
  bool ok_ = false;
};

const Pki& pki() {
  static Pki p;
  return p;
}

std::string indent(const std::string& text, int n) {
  std::string out;
  const std::string pad(static_cast<size_t>(n), ' ');
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    out += pad + text.substr(start, end - start) + "\n";
    start = end + 1;
  }
  return out;
}

// An ssls item of the standalone file.
std::string ssl_yaml(const std::string& id, const std::string& cert, const std::string& snis,
                     const std::string& extra = "") {
  return "  - id: " + id + "\n    cert: |\n" + indent(pki().pem(cert + ".crt"), 6) +
         "    key: |\n" + indent(pki().pem(cert + ".key"), 6) + "    snis: " + snis + "\n" + extra;
}

std::string echo_route(const Upstream& up, const std::string& uri = "/*") {
  return "routes:\n  - id: r1\n    uri: " + uri +
         "\n    plugins:\n      proxy-rewrite:\n        headers:\n          set:\n"
         "            X-SNI: $ssl_server_name\n            X-Client-DN: $ssl_client_s_dn\n"
         "            X-Client-Verify: $ssl_client_verify\n"
         "    upstream:\n      nodes:\n        \"" + up.node() + "\": 1\n";
}

HttpResponse https_get(const Torii& t, const std::string& host, const std::string& path,
                       bool with_client_cert = false) {
  HttpRequest req;
  req.url = "https://" + host + ":" + std::to_string(t.tls_port()) + path;
  TlsOptions tls;
  tls.resolve = {host + ":" + std::to_string(t.tls_port()) + ":127.0.0.1"};
  tls.ca_file = pki().path("ca.crt");
  if (with_client_cert) {
    tls.client_cert = pki().path("client.crt");
    tls.client_key = pki().path("client.key");
  }
  return http(req, tls);
}

// `openssl s_client` against the listener; returns what it printed. Its
// input ends after half a second, so a TLS 1.3 session ticket (sent after
// the handshake) has arrived before it leaves. With `request` (one ending
// in Connection: close), that is sent and the answer read to the end.
std::string s_client(uint16_t port, const std::string& args, const std::string& request = "") {
  const std::string input =
      request.empty() ? "(sleep 0.5; echo)" : "(printf '" + request + "'; sleep 0.5)";
  const std::string cmd = input + " | timeout 10 openssl s_client -connect 127.0.0.1:" +
                          std::to_string(port) + " " + args + (request.empty() ? "" : " -ign_eof") +
                          " 2>&1";
  std::string out;
  if (FILE* f = ::popen(cmd.c_str(), "r")) {
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) out.append(buf, n);
    ::pclose(f);
  }
  return out;
}

// The subject CN of the certificate served for `sni` ("" when the
// handshake failed).
std::string served_cn(uint16_t port, const std::string& sni) {
  const std::string out = s_client(port, "-servername " + sni);
  const size_t at = out.find("subject=CN = ");
  if (at == std::string::npos) return "";
  const size_t start = at + 13;
  return out.substr(start, out.find_first_of("\n,", start) - start);
}

// One TLS connection kept open across requests (raw OpenSSL).
class TlsConnection {
 public:
  // `rcvbuf` > 0: a small receive buffer, so the sender blocks soon.
  TlsConnection(uint16_t port, const std::string& sni, int rcvbuf = 0) {
    ctx_ = SSL_CTX_new(TLS_client_method());
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (rcvbuf > 0) ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) return;
    ssl_ = SSL_new(ctx_);
    SSL_set_fd(ssl_, fd_);
    SSL_set_tlsext_host_name(ssl_, sni.c_str());
    ok_ = SSL_connect(ssl_) == 1;
  }
  ~TlsConnection() {
    if (ssl_ != nullptr) SSL_free(ssl_);
    SSL_CTX_free(ctx_);
    ::close(fd_);
    ERR_clear_error();
  }
  bool ok() const { return ok_; }
  std::string peer_cn() const {
    X509* peer = SSL_get0_peer_certificate(ssl_);
    if (peer == nullptr) return "";
    char cn[256] = {0};
    X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, cn, sizeof(cn));
    return cn;
  }
  bool send(const std::string& bytes) {
    return SSL_write(ssl_, bytes.data(), static_cast<int>(bytes.size())) > 0;
  }
  // Reads until `needle` has arrived (or the connection ends); returns all read.
  std::string read_until(const std::string& needle) {
    std::string out;
    while (out.find(needle) == std::string::npos) {
      char buf[4096];
      const int n = SSL_read(ssl_, buf, sizeof(buf));
      if (n <= 0) break;
      out.append(buf, static_cast<size_t>(n));
    }
    return out;
  }
  // Sends a keep-alive GET and returns the response head and body (read
  // until Content-Length is satisfied), starting to read after `pause`.
  std::string get(const std::string& host, const std::string& path,
                  std::chrono::milliseconds pause = std::chrono::milliseconds(0)) {
    const std::string req = "GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\n\r\n";
    if (SSL_write(ssl_, req.data(), static_cast<int>(req.size())) <= 0) return "";
    if (pause.count() > 0) std::this_thread::sleep_for(pause);
    std::string out;
    for (;;) {
      const size_t head_end = out.find("\r\n\r\n");
      if (head_end != std::string::npos) {
        const size_t cl = out.find("Content-Length: ");
        if (cl != std::string::npos && cl < head_end) {
          const size_t len = std::stoul(out.substr(cl + 16));
          if (out.size() >= head_end + 4 + len) return out;
        }
      }
      char buf[4096];
      const int n = SSL_read(ssl_, buf, sizeof(buf));
      if (n <= 0) return out;
      out.append(buf, static_cast<size_t>(n));
    }
  }

 private:
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  int fd_ = -1;
  bool ok_ = false;
};

TEST(TlsListener, the_certificate_is_picked_by_sni_and_exact_beats_wildcard) {
  ASSERT_TRUE(pki().ok());
  Upstream up;
  Torii t(echo_route(up) + "ssls:\n" + ssl_yaml("wild", "wild", "[\"*.test.com\"]") +
          ssl_yaml("exact", "exact", "[\"a.test.com\"]"));
  EXPECT_EQ(served_cn(t.tls_port(), "a.test.com"), "exact");
  EXPECT_EQ(served_cn(t.tls_port(), "b.test.com"), "wild");
  EXPECT_EQ(served_cn(t.tls_port(), "deep.b.test.com"), "wild");  // APISIX: any depth
  EXPECT_EQ(served_cn(t.tls_port(), "A.TEST.COM"), "exact");      // case-insensitive

  auto r = https_get(t, "b.test.com", "/echo");
  ASSERT_EQ(r.status, 200) << r.error;
  EXPECT_NE(up.last_head().find("X-SNI: b.test.com"), std::string::npos) << up.last_head();
  EXPECT_NE(up.last_head().find("X-Forwarded-Proto: https"), std::string::npos) << up.last_head();
  EXPECT_NE(up.last_head().find("X-Forwarded-Port: " + std::to_string(t.tls_port())),
            std::string::npos) << up.last_head();
  // Plain HTTP keeps working next to TLS.
  EXPECT_EQ(http_get(t.url("/echo")).status, 200);
}

TEST(TlsListener, an_rsa_and_an_ecdsa_pair_are_served_to_the_clients_that_ask_for_each) {
  ASSERT_TRUE(pki().ok());
  Upstream up;
  // cert/key RSA, certs/keys ECDSA: one object, both key types.
  const std::string pair = "    certs:\n      - |\n" + indent(pki().pem("exact.crt"), 8) +
                           "    keys:\n      - |\n" + indent(pki().pem("exact.key"), 8);
  Torii t(echo_route(up) + "ssls:\n" + ssl_yaml("both", "rsa", "[\"a.test.com\"]", pair));
  const std::string ec = s_client(t.tls_port(), "-servername a.test.com -sigalgs ECDSA+SHA256");
  EXPECT_NE(ec.find("subject=CN = exact"), std::string::npos) << ec;
  const std::string rsa = s_client(t.tls_port(), "-servername a.test.com -sigalgs RSA-PSS+SHA256");
  EXPECT_NE(rsa.find("subject=CN = rsa-pair"), std::string::npos) << rsa;
}

TEST(TlsListener, an_unknown_name_fails_the_handshake_and_the_gateway_keeps_serving) {
  ASSERT_TRUE(pki().ok());
  Upstream up;
  Torii t(echo_route(up) + "ssls:\n" + ssl_yaml("exact", "exact", "[\"a.test.com\"]"));
  const std::string out = s_client(t.tls_port(), "-servername other.com");
  EXPECT_NE(out.find("unrecognized name"), std::string::npos) << out;
  // No SNI at all and no fallback_sni: refused too.
  EXPECT_NE(s_client(t.tls_port(), "-noservername").find("unrecognized name"), std::string::npos);
  auto bad = https_get(t, "other.com", "/echo");
  EXPECT_FALSE(bad.error.empty());
  EXPECT_EQ(https_get(t, "a.test.com", "/echo").status, 200);
  EXPECT_TRUE(t.running());
}

TEST(TlsListener, fallback_sni_serves_clients_that_send_no_name) {
  ASSERT_TRUE(pki().ok());
  Upstream up;
  ToriiOptions o;
  o.routes_yaml = echo_route(up) + "ssls:\n" + ssl_yaml("exact", "exact", "[\"a.test.com\"]");
  o.ssl_extra = "    fallback_sni: a.test.com\n";
  Torii t(o);
  const std::string out = s_client(t.tls_port(), "-noservername");
  EXPECT_NE(out.find("subject=CN = exact"), std::string::npos) << out;
}

TEST(TlsListener, mtls_requires_a_client_certificate_signed_by_the_ca) {
  ASSERT_TRUE(pki().ok());
  Upstream up;
  const std::string client = "    client:\n      ca: |\n" + indent(pki().pem("ca.crt"), 8) +
                             "      depth: 2\n";
  Torii t(echo_route(up) + "ssls:\n" + ssl_yaml("m", "exact", "[\"a.test.com\"]", client));
  auto without = https_get(t, "a.test.com", "/echo");
  EXPECT_FALSE(without.error.empty()) << without.status;
  auto with = https_get(t, "a.test.com", "/echo", true);
  ASSERT_EQ(with.status, 200) << with.error;
  EXPECT_NE(up.last_head().find("X-Client-Verify: SUCCESS"), std::string::npos) << up.last_head();
  EXPECT_NE(up.last_head().find("X-Client-DN: O=Acme,CN=client1"), std::string::npos)
      << up.last_head();
  // A certificate verified for a.test.com does not open another host.
  HttpRequest other;
  other.url = "https://a.test.com:" + std::to_string(t.tls_port()) + "/echo";
  other.headers = {"Host: b.test.com"};
  TlsOptions tls;
  tls.resolve = {"a.test.com:" + std::to_string(t.tls_port()) + ":127.0.0.1"};
  tls.ca_file = pki().path("ca.crt");
  tls.client_cert = pki().path("client.crt");
  tls.client_key = pki().path("client.key");
  EXPECT_EQ(http(other, tls).status, 400);
}

// A host whose ssls object requires a client certificate is not reached
// through an SNI whose object does not (APISIX's verify_https_client looks
// the object up by Host as well): SNI a.test.com (no mTLS) with Host
// b.test.com (mTLS) was served without any certificate.
TEST(TlsListener, an_mtls_host_is_not_reached_through_an_sni_without_mtls) {
  ASSERT_TRUE(pki().ok());
  Upstream up;
  const std::string client = "    client:\n      ca: |\n" + indent(pki().pem("ca.crt"), 8) +
                             "      skip_mtls_uri_regex:\n        - ^/public/.*\n";
  Torii t(echo_route(up) + "ssls:\n" + ssl_yaml("plain", "exact", "[\"a.test.com\"]") +
          ssl_yaml("m", "wild", "[\"b.test.com\"]", client));
  const auto via_a = [&](const std::string& path, bool with_cert) {
    HttpRequest req;
    req.url = "https://a.test.com:" + std::to_string(t.tls_port()) + path;
    req.headers = {"Host: b.test.com"};
    TlsOptions tls;
    tls.resolve = {"a.test.com:" + std::to_string(t.tls_port()) + ":127.0.0.1"};
    tls.ca_file = pki().path("ca.crt");
    if (with_cert) {
      tls.client_cert = pki().path("client.crt");
      tls.client_key = pki().path("client.key");
    }
    return http(req, tls);
  };
  EXPECT_EQ(via_a("/private", false).status, 400);
  // A certificate sent on a.test.com's handshake was not asked for by b's CA check.
  EXPECT_EQ(via_a("/private", true).status, 400);
  // b.test.com's own exemption still applies to it.
  EXPECT_EQ(via_a("/public/x", false).status, 200);
  // a.test.com itself needs no certificate; b.test.com with its own SNI and one passes.
  EXPECT_EQ(https_get(t, "a.test.com", "/private").status, 200);
  EXPECT_EQ(https_get(t, "b.test.com", "/private", true).status, 200);
}

TEST(TlsListener, skip_mtls_uri_regex_lets_matching_uris_pass_without_a_certificate) {
  ASSERT_TRUE(pki().ok());
  Upstream up;
  const std::string client = "    client:\n      ca: |\n" + indent(pki().pem("ca.crt"), 8) +
                             "      skip_mtls_uri_regex:\n        - ^/public/.*\n";
  Torii t(echo_route(up) + "ssls:\n" + ssl_yaml("m", "exact", "[\"a.test.com\"]", client));
  auto pub = https_get(t, "a.test.com", "/public/x");
  EXPECT_EQ(pub.status, 200) << pub.error;
  EXPECT_NE(up.last_head().find("X-Client-Verify: NONE"), std::string::npos) << up.last_head();
  EXPECT_EQ(https_get(t, "a.test.com", "/private").status, 400);
  EXPECT_EQ(https_get(t, "a.test.com", "/private", true).status, 200);
}

TEST(TlsListener, sessions_resume_with_tls12_and_tls13) {
  ASSERT_TRUE(pki().ok());
  Upstream up;
  Torii t(echo_route(up) + "ssls:\n" + ssl_yaml("exact", "exact", "[\"a.test.com\"]"));
  TempDir d;
  for (const std::string version : {"-tls1_2", "-tls1_3"}) {
    const std::string sess = d.path() + "/s" + version;
    const std::string first =
        s_client(t.tls_port(), "-servername a.test.com " + version + " -sess_out " + sess);
    EXPECT_NE(first.find("New, TLSv1."), std::string::npos) << first;
    const std::string again =
        s_client(t.tls_port(), "-servername a.test.com " + version + " -sess_in " + sess);
    EXPECT_NE(again.find("Reused, TLSv1."), std::string::npos) << version << "\n" << again;
  }
}

// A session resumes only on the ssls object that made it. With one session
// id context for all objects, a TLS 1.3 session whose client certificate was
// verified against c.test.com's CA resumed under SNI b.test.com, whose CA
// (another one) never saw it, and the request was served (the class of
// nginx's CVE-2025-23419).
TEST(TlsListener, a_session_does_not_resume_on_another_objects_sni) {
  ASSERT_TRUE(pki().ok());
  TempDir d;
  ASSERT_EQ(std::system(("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
                         "-days 2 -subj /CN=other-ca -keyout " + d.path() + "/ca2.key -out " +
                         d.path() + "/ca2.crt >/dev/null 2>&1").c_str()),
            0);
  Upstream up;
  const auto client_block = [](const std::string& ca_pem) {
    return "    client:\n      ca: |\n" + indent(ca_pem, 8);
  };
  Torii t(echo_route(up) + "ssls:\n" +
          ssl_yaml("c", "exact", "[\"c.test.com\"]", client_block(pki().pem("ca.crt"))) +
          ssl_yaml("b", "wild", "[\"b.test.com\"]", client_block(d.read("ca2.crt"))));
  const auto request = [&](const std::string& host, const std::string& args) {
    return s_client(t.tls_port(), "-tls1_3 -servername " + host + " " + args,
                    "GET /echo HTTP/1.1\\r\\nHost: " + host + "\\r\\nConnection: close\\r\\n\\r\\n");
  };
  const std::string sess = d.path() + "/sess";
  const std::string first = request("c.test.com", "-cert " + pki().path("client.crt") + " -key " +
                                                      pki().path("client.key") + " -sess_out " + sess);
  ASSERT_NE(first.find("HTTP/1.1 200"), std::string::npos) << first;
  // The same session on the same object resumes...
  const std::string same = request("c.test.com", "-sess_in " + sess);
  EXPECT_NE(same.find("Reused, TLSv1.3"), std::string::npos) << same;
  // ...but not under the other object's SNI, and the request is not served.
  const std::string other = request("b.test.com", "-sess_in " + sess);
  EXPECT_EQ(other.find("Reused,"), std::string::npos) << other;
  EXPECT_EQ(other.find("HTTP/1.1 200"), std::string::npos) << other;
}

TEST(TlsListener, ssl_protocols_of_an_object_limit_its_handshakes) {
  ASSERT_TRUE(pki().ok());
  Upstream up;
  Torii t(echo_route(up) + "ssls:\n" +
          ssl_yaml("exact", "exact", "[\"a.test.com\"]", "    ssl_protocols: [\"TLSv1.3\"]\n"));
  EXPECT_NE(s_client(t.tls_port(), "-servername a.test.com -tls1_3").find("New, TLSv1.3"),
            std::string::npos);
  const std::string old = s_client(t.tls_port(), "-servername a.test.com -tls1_2");
  EXPECT_EQ(old.find("New, TLSv1.2"), std::string::npos) << old;
}

TEST(TlsListener, certificates_are_added_and_replaced_live_without_dropping_connections) {
  ASSERT_TRUE(pki().ok());
  Upstream up;
  ToriiOptions o;
  o.deployment = "deployment:\n  role: traditional\n  role_traditional:\n    config_provider: sqlite\n";
  Torii t(o);
  auto put = t.admin("PUT", "/routes/1",
                     R"({"uri":"/*","upstream":{"type":"roundrobin","nodes":{")" + up.node() +
                         R"(":1}}})");
  ASSERT_EQ(put.status, 201) << put.body;
  EXPECT_EQ(served_cn(t.tls_port(), "a.test.com"), "");  // no certificate yet

  auto ssl_body = [](const std::string& name) {
    json::object o;
    o["cert"] = pki().pem(name + ".crt");
    o["key"] = pki().pem(name + ".key");
    o["snis"] = json::array{"a.test.com"};
    return json::serialize(o);
  };
  put = t.admin("PUT", "/ssls/1", ssl_body("exact"));
  ASSERT_EQ(put.status, 201) << put.body;
  // Stored encrypted, never returned.
  auto got = t.admin("GET", "/ssls/1");
  EXPECT_EQ(got.body.find("PRIVATE KEY"), std::string::npos) << got.body;
  ASSERT_TRUE(wait_until([&] { return served_cn(t.tls_port(), "a.test.com") == "exact"; }));

  TlsConnection open(t.tls_port(), "a.test.com");
  ASSERT_TRUE(open.ok());
  EXPECT_EQ(open.peer_cn(), "exact");
  EXPECT_NE(open.get("a.test.com", "/echo").find("HTTP/1.1 200"), std::string::npos);

  put = t.admin("PUT", "/ssls/1", ssl_body("v2"));
  ASSERT_EQ(put.status, 200) << put.body;
  ASSERT_TRUE(wait_until([&] { return served_cn(t.tls_port(), "a.test.com") == "version-two"; }));
  // The connection made with the old certificate is still served.
  EXPECT_NE(open.get("a.test.com", "/echo").find("HTTP/1.1 200"), std::string::npos);

  // Bad certificates and keys are refused with a clear message; the
  // served certificate stays.
  json::object bad;
  bad["cert"] = "-----BEGIN CERTIFICATE-----\n" + std::string(200, 'A') +
                "\n-----END CERTIFICATE-----\n";
  bad["key"] = pki().pem("exact.key");
  bad["snis"] = json::array{"a.test.com"};
  auto r = t.admin("PUT", "/ssls/1", json::serialize(bad));
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("failed to parse cert"), std::string::npos) << r.body;
  r = t.admin("PUT", "/ssls/1", [&] {
    json::object o;
    o["cert"] = pki().pem("exact.crt");
    o["key"] = pki().pem("wild.key");
    o["snis"] = json::array{"a.test.com"};
    return json::serialize(o);
  }());
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("key does not match cert"), std::string::npos) << r.body;
  EXPECT_EQ(served_cn(t.tls_port(), "a.test.com"), "version-two");

  ASSERT_EQ(t.admin("DELETE", "/ssls/1").status, 200);
  ASSERT_TRUE(wait_until([&] { return served_cn(t.tls_port(), "a.test.com").empty(); }));
  EXPECT_TRUE(t.running());
}

// An HTTPS upstream that requires a client certificate from the test CA
// and answers with the certificate's CN, then closes.
class MtlsUpstream {
 public:
  MtlsUpstream() = default;
  uint16_t port() const { return server_.port(); }
  int refused() const { return server_.refused(); }

 private:
  static void serve(TestConn& conn) {
    char buf[4096];
    std::string head;
    while (head.find("\r\n\r\n") == std::string::npos) {
      const long n = conn.recv_some(buf, sizeof(buf));
      if (n <= 0) break;
      head.append(buf, static_cast<size_t>(n));
    }
    const std::string body = "client=" + conn.peer_common_name();
    conn.send_all("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: " +
                  std::to_string(body.size()) + "\r\n\r\n" + body);
    SSL_shutdown(conn.ssl());
  }

  ServerTlsContext ctx_{pki().path("localhost.crt"), pki().path("localhost.key"),
                        pki().path("ca.crt")};
  TestServer server_{serve, &ctx_};
};

TEST(TlsListener, upstream_mtls_presents_the_client_certificate_of_an_ssl_object) {
  ASSERT_TRUE(pki().ok());
  MtlsUpstream up;
  const std::string node = "\"127.0.0.1:" + std::to_string(up.port()) + "\": 1";
  Torii t("routes:\n"
          "  - id: with\n    uri: /with\n    upstream:\n      scheme: https\n"
          "      tls:\n        client_cert_id: upclient\n      nodes:\n        " + node + "\n"
          "  - id: inline\n    uri: /inline\n    upstream:\n      scheme: https\n"
          "      tls:\n        client_cert: |\n" + indent(pki().pem("upclient.crt"), 10) +
          "        client_key: |\n" + indent(pki().pem("upclient.key"), 10) +
          "      nodes:\n        " + node + "\n"
          "  - id: without\n    uri: /without\n    upstream:\n      scheme: https\n"
          "      nodes:\n        " + node + "\n"
          "ssls:\n  - id: upclient\n    type: client\n    cert: |\n" +
          indent(pki().pem("upclient.crt"), 6) + "    key: |\n" + indent(pki().pem("upclient.key"), 6));
  auto r = http_get(t.url("/with"));
  EXPECT_EQ(r.status, 200) << r.body << t.error_log();
  EXPECT_EQ(r.body, "client=gateway-client");
  r = http_get(t.url("/inline"));
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, "client=gateway-client");
  EXPECT_EQ(http_get(t.url("/without")).status, 502);
  EXPECT_GE(up.refused(), 1);
}

TEST(TlsListener, upstream_certificates_are_verified_against_ssl_trusted_certificate) {
  ASSERT_TRUE(pki().ok());
  MtlsUpstream up;
  const std::string routes =
      "routes:\n  - id: v\n    uri: /verified\n    upstream:\n      scheme: https\n"
      "      tls:\n        client_cert_id: upclient\n        verify: true\n"
      "      nodes:\n        \"127.0.0.1:" + std::to_string(up.port()) + "\": 1\n"
      "ssls:\n  - id: upclient\n    type: client\n    cert: |\n" +
      indent(pki().pem("upclient.crt"), 6) + "    key: |\n" + indent(pki().pem("upclient.key"), 6);
  {
    // The test CA is not among the system's: verification fails, 502.
    Torii t(routes);
    EXPECT_EQ(http_get(t.url("/verified")).status, 502);
  }
  ToriiOptions o;
  o.routes_yaml = routes;
  o.ssl_extra = "    ssl_trusted_certificate: " + pki().path("ca.crt") + "\n";
  Torii t(o);
  auto r = http_get(t.url("/verified"));
  EXPECT_EQ(r.status, 200) << r.body << t.error_log();
  EXPECT_EQ(r.body, "client=gateway-client");
}

TEST(TlsListener, a_websocket_is_tunnelled_over_tls_both_ways) {
  ASSERT_TRUE(pki().ok());
  Upstream up;
  Torii t("routes:\n  - uri: /ws\n    enable_websocket: true\n    upstream:\n      nodes:\n"
          "        \"" + up.node() + "\": 1\nssls:\n" +
          ssl_yaml("exact", "exact", "[\"a.test.com\"]"));
  TlsConnection c(t.tls_port(), "a.test.com");
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(c.send("GET /ws HTTP/1.1\r\nHost: a.test.com\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\n\r\n"));
  const std::string head = c.read_until("\r\n\r\n");
  EXPECT_EQ(head.substr(0, 12), "HTTP/1.1 101") << head;
  // The upstream echoes: each message comes back through the TLS tunnel.
  const std::vector<std::string> messages = {"first-frame", std::string(40000, 'x') + "end-of-big"};
  for (const std::string& msg : messages) {
    ASSERT_TRUE(c.send(msg));
    const std::string back = c.read_until(msg.substr(msg.size() - 10));
    EXPECT_NE(back.find(msg), std::string::npos) << back.size();
  }
}

// A client that reads slowly: Torii's TLS writes find the socket full
// (OpenSSL asks to wait for room) and resume with the same bytes; the whole
// body arrives intact, and the connection serves the next request.
TEST(TlsListener, a_large_response_to_a_slow_reader_arrives_whole_and_keeps_the_connection) {
  ASSERT_TRUE(pki().ok());
  Upstream up;
  Torii t("routes:\n  - uri: /bytes/*\n    upstream:\n      nodes:\n        \"" + up.node() +
          "\": 1\nssls:\n" + ssl_yaml("exact", "exact", "[\"a.test.com\"]"));
  TlsConnection c(t.tls_port(), "a.test.com", 16 * 1024);
  ASSERT_TRUE(c.ok());
  constexpr size_t kSize = 8 * 1024 * 1024;
  const std::string r = c.get("a.test.com", "/bytes/" + std::to_string(kSize),
                              std::chrono::milliseconds(300));
  const size_t head_end = r.find("\r\n\r\n");
  ASSERT_NE(head_end, std::string::npos) << r.substr(0, 200);
  EXPECT_EQ(r.substr(0, 12), "HTTP/1.1 200");
  const std::string body = r.substr(head_end + 4);
  EXPECT_EQ(body.size(), kSize);
  EXPECT_EQ(body.find_first_not_of('x'), std::string::npos);
  const std::string again = c.get("a.test.com", "/bytes/10");
  EXPECT_EQ(again.substr(0, 12), "HTTP/1.1 200") << again;
  EXPECT_EQ(again.substr(again.size() - 10), "xxxxxxxxxx");
}

TEST(TlsListener, redirect_to_https_uses_the_tls_listen_port) {
  ASSERT_TRUE(pki().ok());
  Torii t("routes:\n  - id: r\n    uri: /*\n    plugins:\n      redirect:\n"
          "        http_to_https: true\n    upstream:\n      nodes:\n        \"127.0.0.1:1\": 1\n");
  auto r = http_get(t.url("/a?b=1"), {"Host: test.com"});
  EXPECT_EQ(r.status, 301);
  EXPECT_EQ(r.headers["location"], "https://test.com:" + std::to_string(t.tls_port()) + "/a?b=1");
}

TEST(TlsListener, a_bad_certificate_in_the_standalone_file_is_refused_whole) {
  ASSERT_TRUE(pki().ok());
  Upstream up;
  Torii t(echo_route(up) + "ssls:\n" + ssl_yaml("exact", "exact", "[\"a.test.com\"]"));
  ASSERT_EQ(served_cn(t.tls_port(), "a.test.com"), "exact");
  // The key of another certificate: the file is refused, the old one serves.
  std::string broken = echo_route(up) + "ssls:\n  - id: exact\n    cert: |\n" +
                       indent(pki().pem("exact.crt"), 6) + "    key: |\n" +
                       indent(pki().pem("wild.key"), 6) + "    snis: [\"a.test.com\"]\n";
  t.set_routes(broken);
  EXPECT_TRUE(wait_until([&] {
    return t.error_log().find("key does not match cert") != std::string::npos;
  }));
  EXPECT_EQ(served_cn(t.tls_port(), "a.test.com"), "exact");
}

}  // namespace
}  // namespace torii::testing
