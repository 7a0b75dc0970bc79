// The certificates the TLS listener serves: every `ssls` object of type
// `server` compiled once per config change into an OpenSSL SSL_CTX (its
// cert/key pairs, e.g. RSA + ECDSA, the client CA for mTLS, its protocol
// range), and indexed by SNI as APISIX's radixtree_sni does: an exact name
// first, then the longest wildcard suffix (`*.a.com` matches `x.a.com` and
// `y.x.a.com`, not `a.com`). Names compare case-insensitively.
//
// `ssls` objects of type `client` compile into client contexts for upstream
// mTLS (`upstream.tls.client_cert_id`).
//
// Immutable after build; shared by every worker (OpenSSL contexts are safe
// to use from many threads once configured).
#pragma once

#include <openssl/ssl.h>

#include <boost/asio/ssl/context.hpp>
#include <boost/json/object.hpp>
#include <boost/unordered/unordered_flat_map.hpp>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace re2 {
class RE2;
}

namespace torii::config {
class DataEncryption;
}

namespace torii::tls {

struct SslCtxFree {
  void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};
using SslCtxPtr = std::unique_ptr<SSL_CTX, SslCtxFree>;

// One `ssls` object of type server.
struct ServerCert {
  std::string id;
  SslCtxPtr ctx;            // its certificates, client CA and verify mode
  bool mtls = false;        // client.ca is set: clients must present a certificate
  // client.skip_mtls_uri_regex: the handshake accepts a client without a
  // certificate, and only requests whose URI matches one of these may then
  // pass (a certificate, when presented, is always verified).
  std::vector<std::unique_ptr<re2::RE2>> skip_mtls_uri_regex;
  int min_version = 0;  // ssl_protocols of the object; 0: the listener's
  int max_version = 0;

  ~ServerCert();
  // Whether a request for `uri` on a connection whose client sent no
  // certificate may go on (mTLS with skip_mtls_uri_regex only).
  bool may_skip_mtls(std::string_view uri) const;
};

// A `ssls` object of type client: the certificate torii presents to
// upstreams that ask for one.
struct ClientCert {
  std::string id;
  std::shared_ptr<boost::asio::ssl::context> ctx;
  // Unique per compiled certificate in this process (never reused, unlike
  // an address): what a cache of things built on it keys on.
  uint64_t generation = 0;
};

// Makes `ctx` verify peers against `trusted_certificate`
// (apisix.ssl.ssl_trusted_certificate): "system" (or empty) for the
// system's default CA paths, else a PEM bundle file. Errors name the file.
core::Status trust_upstream_cas(boost::asio::ssl::context& ctx,
                                const std::string& trusted_certificate);

// Compiles an upstream's inline `tls.client_cert` + `tls.client_key` (the
// key possibly encrypted at rest) into a client context that verifies
// upstreams against `trusted_certificate` (as trust_upstream_cas).
core::Result<std::shared_ptr<boost::asio::ssl::context>> compile_client_context(
    std::string_view cert_pem, std::string_view key_pem, const config::DataEncryption& enc,
    const std::string& trusted_certificate = "system");

class CertIndex {
 public:
  // Compiles `ssl` (schema-checked, as stored: keys may be encrypted) and
  // adds it. `status: 0` objects are left out. Errors name the field.
  core::Status add(const std::string& id, const boost::json::object& ssl,
                   const config::DataEncryption& enc);
  // Re-adds an object compiled by an earlier index (unchanged config).
  void add_compiled(const std::string& id, const boost::json::object& ssl,
                    std::shared_ptr<const ServerCert> cert);
  void add_compiled_client(std::shared_ptr<const ClientCert> cert);

  // The certificate for `sni`; null when none matches.
  const std::shared_ptr<const ServerCert>* find(std::string_view sni) const;
  const std::shared_ptr<const ServerCert>* server_by_id(const std::string& id) const;
  const std::shared_ptr<const ClientCert>* client_by_id(const std::string& id) const;
  bool empty() const { return exact_.empty() && wildcard_.empty(); }

 private:
  void index_snis(const boost::json::object& ssl, const std::shared_ptr<const ServerCert>& cert);

  // Lower-cased names; wildcard_ is keyed by the suffix after "*" (".a.com").
  boost::unordered_flat_map<std::string, std::shared_ptr<const ServerCert>> exact_;
  boost::unordered_flat_map<std::string, std::shared_ptr<const ServerCert>> wildcard_;
  boost::unordered_flat_map<std::string, std::shared_ptr<const ServerCert>> servers_;
  boost::unordered_flat_map<std::string, std::shared_ptr<const ClientCert>> clients_;
};

// Compiles one server object (exposed for the index and tests).
core::Result<std::shared_ptr<const ServerCert>> compile_server_cert(
    const std::string& id, const boost::json::object& ssl, const config::DataEncryption& enc);
core::Result<std::shared_ptr<const ClientCert>> compile_client_cert(
    const std::string& id, const boost::json::object& ssl, const config::DataEncryption& enc,
    const std::string& trusted_certificate = "system");

// The session id context of the listener's own context, before SNI picks
// an object's context. Each object's context has its own (a digest of the
// object), which OpenSSL takes over when the SNI callback switches to it:
// a session resumes only on the object that made it.
inline constexpr std::string_view kSessionIdContext = "torii";

}  // namespace torii::tls
