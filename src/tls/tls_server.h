// The TLS side of the data-plane listener: one OpenSSL server context with
// the listener's settings (apisix.ssl: protocols, ciphers, session cache and
// tickets), shared by every worker. Each connection's SSL object points at
// the CertIndex of the snapshot its worker serves; during the ClientHello a
// callback picks the certificate by SNI (fallback_sni when the client sent
// none) and switches the connection to that certificate's context, with its
// protocol range and client-certificate verification. No match: the
// handshake fails with an `unrecognized_name` alert, as APISIX's does.
//
// Resumption: the session cache and ticket keys live in this one context,
// so a session started on one worker resumes on any other.
#pragma once

#include <openssl/ssl.h>

#include <boost/asio/ssl/context.hpp>
#include <memory>
#include <string>

#include "config/ssl_settings.h"
#include "core/result.h"
#include "tls/server_cert.h"

namespace torii::tls {

class TlsServer {
 public:
  static core::Result<std::unique_ptr<TlsServer>> create(const config::SslSettings& settings);

  boost::asio::ssl::context& context() { return ctx_; }

  // Before the handshake of a connection: the certificates to choose from
  // (must outlive the handshake; the caller keeps its snapshot).
  static void attach(SSL* ssl, const CertIndex* certs);
  // After the handshake: the certificate the ClientHello selected (null
  // when none was: the handshake then failed).
  static const std::shared_ptr<const ServerCert>* selected(SSL* ssl);

 private:
  explicit TlsServer(SSL_CTX* native);
  static int on_client_hello(SSL* ssl, int* alert, void* arg);

  boost::asio::ssl::context ctx_;
  std::string fallback_sni_;
};

// The server name the client sent in its ClientHello, parsed from the raw
// server_name extension (RFC 6066 section 3): the first host_name entry.
// Empty when absent or malformed. Exposed for the fuzz target and tests.
std::string parse_server_name_extension(const unsigned char* data, size_t len);

}  // namespace torii::tls
