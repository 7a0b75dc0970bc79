// The TLS building blocks without a network: the ClientHello server_name
// parser, SNI lookup in a certificate index (exact before wildcard, longest
// wildcard first), compiling ssls objects and refusing bad ones, the
// apisix.ssl settings and redirect's https port.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cstdlib>
#include <string>

#include "config/data_encryption.h"
#include "config/ssl_settings.h"
#include "tls/server_cert.h"
#include "tls/tls_server.h"

namespace torii::tls {
namespace {

namespace json = boost::json;

std::string ext(const std::string& name, unsigned type = 0) {
  std::string entries;
  entries += static_cast<char>(type);
  entries += static_cast<char>(name.size() >> 8);
  entries += static_cast<char>(name.size() & 0xff);
  entries += name;
  std::string out;
  out += static_cast<char>(entries.size() >> 8);
  out += static_cast<char>(entries.size() & 0xff);
  return out + entries;
}

std::string parse(const std::string& bytes) {
  return parse_server_name_extension(reinterpret_cast<const unsigned char*>(bytes.data()),
                                     bytes.size());
}

TEST(TlsServerName, the_host_name_entry_is_returned) {
  EXPECT_EQ(parse(ext("api.example.com")), "api.example.com");
  EXPECT_EQ(parse(""), "");
  EXPECT_EQ(parse(ext("x", 1)), "");                         // not a host_name
  EXPECT_EQ(parse(ext("bad name")), "");                     // a space
  std::string truncated = ext("api.example.com");
  truncated.pop_back();
  EXPECT_EQ(parse(truncated), "");                           // lengths disagree
  EXPECT_EQ(parse(ext(std::string(256, 'a'))), "");          // too long for DNS
}

// One self-signed certificate and key, made once with the openssl tool.
struct Pair {
  std::string cert, key;
  Pair() {
    char dir[] = "/tmp/torii-tls-unit-XXXXXX";
    if (::mkdtemp(dir) == nullptr) return;
    const std::string d = dir;
    const std::string cmd = "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
                            "-days 1 -subj /CN=unit -keyout " + d + "/k.pem -out " + d +
                            "/c.pem >/dev/null 2>&1";
    if (std::system(cmd.c_str()) != 0) return;
    auto slurp = [](const std::string& p) {
      std::string out;
      if (FILE* f = std::fopen(p.c_str(), "rb")) {
        char buf[4096];
        size_t n;
        while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) out.append(buf, n);
        std::fclose(f);
      }
      return out;
    };
    cert = slurp(d + "/c.pem");
    key = slurp(d + "/k.pem");
    std::system(("rm -rf " + d).c_str());
  }
};

const Pair& pair() {
  static Pair p;
  return p;
}

json::object ssl_with(const json::array& snis) {
  json::object o;
  o["cert"] = pair().cert;
  o["key"] = pair().key;
  o["snis"] = snis;
  return o;
}

TEST(TlsCertIndex, exact_names_win_then_the_longest_wildcard) {
  ASSERT_FALSE(pair().cert.empty());
  const config::DataEncryption plain;
  CertIndex index;
  ASSERT_TRUE(index.add("wild", ssl_with({"*.a.com"}), plain).ok());
  ASSERT_TRUE(index.add("deep", ssl_with({"*.x.a.com"}), plain).ok());
  ASSERT_TRUE(index.add("exact", ssl_with({"www.a.com"}), plain).ok());
  auto id = [&](const std::string& sni) {
    const auto* c = index.find(sni);
    return c == nullptr ? std::string("-") : (*c)->id;
  };
  EXPECT_EQ(id("www.a.com"), "exact");
  EXPECT_EQ(id("WWW.A.COM."), "exact");
  EXPECT_EQ(id("b.a.com"), "wild");
  EXPECT_EQ(id("c.x.a.com"), "deep");
  EXPECT_EQ(id("d.c.x.a.com"), "deep");
  EXPECT_EQ(id("a.com"), "-");
  EXPECT_EQ(id(""), "-");
  EXPECT_EQ(id("other.com"), "-");
}

TEST(TlsCertIndex, bad_objects_are_refused_with_the_reason) {
  ASSERT_FALSE(pair().cert.empty());
  const config::DataEncryption plain;
  CertIndex index;
  json::object bad = ssl_with({"a.com"});
  bad["cert"] = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
  auto st = index.add("bad", bad, plain);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("failed to parse cert"), std::string::npos);

  json::object no_key = ssl_with({"a.com"});
  no_key["key"] = "not a key";
  st = index.add("nokey", no_key, plain);
  ASSERT_FALSE(st.ok());

  json::object env = ssl_with({"a.com"});
  env["key"] = "$env://TORII_UNIT_TEST_MISSING_KEY";
  st = index.add("env", env, plain);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("TORII_UNIT_TEST_MISSING_KEY"), std::string::npos);
  ::setenv("TORII_UNIT_TEST_KEY", pair().key.c_str(), 1);
  env["key"] = "$env://TORII_UNIT_TEST_KEY";
  EXPECT_TRUE(index.add("env", env, plain).ok());

  json::object off = ssl_with({"off.com"});
  off["status"] = 0;
  ASSERT_TRUE(index.add("off", off, plain).ok());
  EXPECT_EQ(index.find("off.com"), nullptr);
}

TEST(TlsCertIndex, client_certificates_are_kept_by_id) {
  ASSERT_FALSE(pair().cert.empty());
  const config::DataEncryption plain;
  CertIndex index;
  json::object client;
  client["type"] = "client";
  client["cert"] = pair().cert;
  client["key"] = pair().key;
  ASSERT_TRUE(index.add("c1", client, plain).ok());
  ASSERT_NE(index.client_by_id("c1"), nullptr);
  EXPECT_EQ(index.client_by_id("c2"), nullptr);
  EXPECT_TRUE(index.empty());  // no server certificate
}

TEST(TlsSettings, apisix_ssl_keys_and_the_redirect_port) {
  config::SslSettings s;
  ASSERT_TRUE(config::read_ssl_settings(YAML::Load("listen: [{port: 8443}, 9443]\n"
                                                   "ssl_protocols: TLSv1.3\n"
                                                   "ssl_session_tickets: true\n"
                                                   "fallback_sni: a.com\n"),
                                        s)
                  .ok());
  ASSERT_EQ(s.listen.size(), 2u);
  EXPECT_EQ(s.listen[0].port, 8443);
  EXPECT_EQ(s.listen[1].port, 9443);
  EXPECT_EQ(s.protocols, std::vector<std::string>{"TLSv1.3"});
  EXPECT_TRUE(s.session_tickets);
  EXPECT_EQ(s.fallback_sni, "a.com");
  EXPECT_EQ(config::https_redirect_port(s, std::nullopt), 8443);
  EXPECT_EQ(config::https_redirect_port(s, 443), 443);
  s.enable = false;
  EXPECT_EQ(config::https_redirect_port(s, std::nullopt), 443);

  config::SslSettings bad;
  auto st = config::read_ssl_settings(YAML::Load("ssl_protocols: SSLv3\n"), bad);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("SSLv3"), std::string::npos);
  st = config::read_ssl_settings(YAML::Load("listen: [{port: 70000}]\n"), bad);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("apisix.ssl.listen[0].port"), std::string::npos);
  st = config::read_ssl_settings(YAML::Load("listen: [{port: 9443, enable_http3: true}]\n"), bad);
  ASSERT_FALSE(st.ok());
  st = config::read_ssl_settings(
      YAML::Load("ssl_trusted_certificate: /nonexistent/torii-ca.pem\n"), bad);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("cannot read /nonexistent/torii-ca.pem"), std::string::npos);
}

}  // namespace
}  // namespace torii::tls
