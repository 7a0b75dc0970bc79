#include "tls/tls_server.h"

#include <openssl/err.h>

#include "tls/pem.h"

namespace torii::tls {

namespace {

// ex_data slots of an SSL: the index to choose from, then the choice.
int index_slot() {
  static const int slot = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return slot;
}
int selected_slot() {
  static const int slot = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return slot;
}

int version_of(const std::string& name) {
  if (name == "TLSv1.1") return TLS1_1_VERSION;
  if (name == "TLSv1.2") return TLS1_2_VERSION;
  return TLS1_3_VERSION;
}

}  // namespace

std::string parse_server_name_extension(const unsigned char* data, size_t len) {
  // ServerNameList: uint16 length, then entries {uint8 type, uint16 len, name}.
  if (len < 2) return {};
  size_t list = (size_t{data[0]} << 8) | data[1];
  if (list + 2 != len) return {};
  size_t pos = 2;
  while (pos + 3 <= len) {
    const unsigned type = data[pos];
    const size_t n = (size_t{data[pos + 1]} << 8) | data[pos + 2];
    pos += 3;
    if (pos + n > len) return {};
    if (type == 0) {  // host_name
      std::string name(reinterpret_cast<const char*>(data + pos), n);
      if (name.empty() || name.size() > 255) return {};
      for (char c : name) {
        if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f) return {};
      }
      return name;
    }
    pos += n;
  }
  return {};
}

TlsServer::TlsServer(SSL_CTX* native) : ctx_(native) {}

core::Result<std::unique_ptr<TlsServer>> TlsServer::create(const config::SslSettings& s) {
  SSL_CTX* native = SSL_CTX_new(TLS_server_method());
  if (native == nullptr) return core::config_error("apisix.ssl: cannot create a TLS context");
  std::unique_ptr<TlsServer> server(new TlsServer(native));  // owns `native` from here
  server->fallback_sni_ = s.fallback_sni;
  int min = 0, max = 0;
  for (const auto& p : s.protocols) {
    const int v = version_of(p);
    if (min == 0 || v < min) min = v;
    if (v > max) max = v;
  }
  SSL_CTX_set_min_proto_version(native, min);
  SSL_CTX_set_max_proto_version(native, max);
  ERR_clear_error();
  if (SSL_CTX_set_cipher_list(native, s.ciphers.c_str()) != 1) {
    return core::config_error("config.yaml: apisix.ssl.ssl_ciphers: " +
                              openssl_error("no cipher can be selected"));
  }
  SSL_CTX_set_options(native, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
                                  (s.session_tickets ? 0 : SSL_OP_NO_TICKET));
  SSL_CTX_set_session_id_context(native,
                                 reinterpret_cast<const unsigned char*>(kSessionIdContext.data()),
                                 static_cast<unsigned>(kSessionIdContext.size()));
  if (s.session_timeout.count() > 0) {
    SSL_CTX_set_session_cache_mode(native, SSL_SESS_CACHE_SERVER);
    SSL_CTX_set_timeout(native, static_cast<long>(s.session_timeout.count()));
    SSL_CTX_sess_set_cache_size(native, 20 * 4000);  // nginx's 20m shared cache holds ~80k
  } else {
    SSL_CTX_set_session_cache_mode(native, SSL_SESS_CACHE_OFF);
  }
  SSL_CTX_set_client_hello_cb(native, &TlsServer::on_client_hello, server.get());
  return server;
}

void TlsServer::attach(SSL* ssl, const CertIndex* certs) {
  SSL_set_ex_data(ssl, index_slot(), const_cast<CertIndex*>(certs));
  SSL_set_ex_data(ssl, selected_slot(), nullptr);
}

const std::shared_ptr<const ServerCert>* TlsServer::selected(SSL* ssl) {
  return static_cast<const std::shared_ptr<const ServerCert>*>(SSL_get_ex_data(ssl, selected_slot()));
}

int TlsServer::on_client_hello(SSL* ssl, int* alert, void* arg) {
  const auto* self = static_cast<const TlsServer*>(arg);
  const auto* certs = static_cast<const CertIndex*>(SSL_get_ex_data(ssl, index_slot()));
  const unsigned char* ext = nullptr;
  size_t ext_len = 0;
  std::string sni;
  if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_server_name, &ext, &ext_len) == 1) {
    sni = parse_server_name_extension(ext, ext_len);
  }
  if (sni.empty()) sni = self->fallback_sni_;
  const std::shared_ptr<const ServerCert>* cert = certs != nullptr ? certs->find(sni) : nullptr;
  if (cert == nullptr) {
    *alert = SSL_AD_UNRECOGNIZED_NAME;
    return SSL_CLIENT_HELLO_ERROR;
  }
  const ServerCert& c = **cert;
  SSL_set_SSL_CTX(ssl, c.ctx.get());
  // SSL_set_SSL_CTX takes the certificates; verification settings stay
  // with the SSL object, so they are copied from the chosen context.
  SSL_set_verify(ssl, SSL_CTX_get_verify_mode(c.ctx.get()), nullptr);
  SSL_set_verify_depth(ssl, SSL_CTX_get_verify_depth(c.ctx.get()));
  if (c.mtls) {
    if (STACK_OF(X509_NAME)* names = SSL_dup_CA_list(SSL_CTX_get_client_CA_list(c.ctx.get()))) {
      SSL_set_client_CA_list(ssl, names);
    }
  }
  if (c.min_version != 0) {
    SSL_set_min_proto_version(ssl, c.min_version);
    SSL_set_max_proto_version(ssl, c.max_version);
  }
  SSL_set_ex_data(ssl, selected_slot(),
                  const_cast<std::shared_ptr<const ServerCert>*>(cert));
  return SSL_CLIENT_HELLO_SUCCESS;
}

}  // namespace torii::tls
