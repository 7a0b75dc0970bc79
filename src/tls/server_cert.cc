#include "tls/server_cert.h"

#include <openssl/err.h>
#include <openssl/sha.h>
#include <re2/re2.h>

#include <boost/json/serialize.hpp>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdlib>

#include "config/data_encryption.h"
#include "tls/pem.h"

namespace torii::tls {

namespace json = boost::json;
using core::config_error;

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// A `$env://NAME` reference is replaced by the variable's value; other
// values are returned as they are. `$secret://` needs a secret manager
// Torii does not have.
core::Result<std::string> resolve_ref(std::string_view value, std::string_view field) {
  const std::string head = lower(value.substr(0, 7));
  if (head == "$env://") {
    const std::string name(value.substr(7));
    const char* v = std::getenv(name.c_str());
    if (v == nullptr) {
      return config_error(std::string(field) + ": environment variable " + name + " is not set");
    }
    return std::string(v);
  }
  if (value.substr(0, 10) == "$secret://") {
    return config_error(std::string(field) +
                        ": $secret:// references are not supported (use $env://)");
  }
  return std::string(value);
}

core::Result<std::string> read_key(std::string_view stored, std::string_view field,
                                   const config::DataEncryption& enc) {
  auto resolved = resolve_ref(stored, field);
  if (!resolved) return resolved.error();
  if (resolved->rfind("---", 0) == 0) return resolved;
  auto plain = enc.decrypt_ssl_key(*resolved);
  if (!plain) return config_error(std::string(field) + ": " + plain.error().message);
  return plain;
}

std::string_view str_field(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string_view(v->get_string()) : std::string_view();
}

// Loads one cert/key pair (and the chain after the leaf) into `ctx`.
// OpenSSL keeps one certificate per key type, so RSA + ECDSA pairs coexist.
core::Status use_pair(SSL_CTX* ctx, std::string_view cert_stored, std::string_view key_stored,
                      const std::string& where, const config::DataEncryption& enc) {
  auto cert_pem = resolve_ref(cert_stored, where + "cert");
  if (!cert_pem) return cert_pem.error();
  auto chain = parse_cert_chain(*cert_pem);
  if (!chain) return config_error(where + chain.error().message);
  auto key_pem = read_key(key_stored, where + "key", enc);
  if (!key_pem) return key_pem.error();
  auto key = parse_private_key(*key_pem);
  if (!key) return config_error(where + key.error().message);
  if (auto st = check_key_matches(chain->leaf.get(), key->get()); !st) {
    return config_error(where + st.error().message);
  }
  ERR_clear_error();
  if (SSL_CTX_use_certificate(ctx, chain->leaf.get()) != 1 ||
      SSL_CTX_use_PrivateKey(ctx, key->get()) != 1) {
    return config_error(where + openssl_error("cannot use the certificate"));
  }
  // The chain belongs to the certificate just set (per key type).
  for (auto& inter : chain->intermediates) {
    if (SSL_CTX_add1_chain_cert(ctx, inter.get()) != 1) {
      return config_error(where + openssl_error("cannot use the certificate chain"));
    }
  }
  return core::ok_status();
}

int protocol_version(std::string_view name) {
  if (name == "TLSv1.1") return TLS1_1_VERSION;
  if (name == "TLSv1.2") return TLS1_2_VERSION;
  if (name == "TLSv1.3") return TLS1_3_VERSION;
  return 0;
}

}  // namespace

ServerCert::~ServerCert() = default;

bool ServerCert::may_skip_mtls(std::string_view uri) const {
  for (const auto& re : skip_mtls_uri_regex) {
    if (RE2::PartialMatch(re2::StringPiece(uri.data(), uri.size()), *re)) return true;
  }
  return false;
}

core::Result<std::shared_ptr<const ServerCert>> compile_server_cert(
    const std::string& id, const json::object& ssl, const config::DataEncryption& enc) {
  auto cert = std::make_shared<ServerCert>();
  cert->id = id;
  cert->ctx.reset(SSL_CTX_new(TLS_server_method()));
  if (!cert->ctx) return config_error("cannot create a TLS context");
  SSL_CTX* ctx = cert->ctx.get();
  // A session resumes only on the object that made it: its id context is a
  // digest of the object's id, certificates and client settings. One shared
  // context let a TLS 1.3 session verified against one object's client CA
  // resume under another SNI, whose CA never saw the certificate (the class
  // of nginx's CVE-2025-23419). SHA-256 is exactly SSL_MAX_SID_CTX_LENGTH.
  {
    std::string identity = id;
    for (const char* field : {"cert", "certs", "client"}) {
      identity.push_back('\n');
      if (const auto* v = ssl.if_contains(field)) identity += json::serialize(*v);
    }
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(identity.data()), identity.size(), digest);
    static_assert(SHA256_DIGEST_LENGTH <= SSL_MAX_SID_CTX_LENGTH);
    SSL_CTX_set_session_id_context(ctx, digest, SHA256_DIGEST_LENGTH);
  }
  if (auto st = use_pair(ctx, str_field(ssl, "cert"), str_field(ssl, "key"), "", enc); !st) {
    return st.error();
  }
  const auto* certs = ssl.if_contains("certs");
  const auto* keys = ssl.if_contains("keys");
  if (certs != nullptr && certs->is_array()) {
    const auto& cs = certs->get_array();
    const auto* ks = keys != nullptr && keys->is_array() ? &keys->get_array() : nullptr;
    if (ks == nullptr || ks->size() != cs.size()) {
      return config_error("mismatched number of certs and keys");
    }
    for (size_t i = 0; i < cs.size(); ++i) {
      const std::string where = "certs[" + std::to_string(i + 1) + "]: ";
      if (!cs[i].is_string() || !(*ks)[i].is_string()) return config_error(where + "not a string");
      if (auto st = use_pair(ctx, cs[i].get_string(), (*ks)[i].get_string(), where, enc); !st) {
        return st.error();
      }
    }
  }
  if (const auto* client = ssl.if_contains("client"); client != nullptr && client->is_object()) {
    const auto& c = client->get_object();
    auto ca_pem = resolve_ref(str_field(c, "ca"), "client.ca");
    if (!ca_pem) return ca_pem.error();
    auto cas = parse_ca_bundle(*ca_pem);
    if (!cas) return cas.error();
    X509_STORE* store = SSL_CTX_get_cert_store(ctx);
    STACK_OF(X509_NAME)* names = sk_X509_NAME_new_null();
    for (auto& ca : *cas) {
      X509_STORE_add_cert(store, ca.get());
      if (X509_NAME* n = X509_NAME_dup(X509_get_subject_name(ca.get()))) sk_X509_NAME_push(names, n);
    }
    SSL_CTX_set_client_CA_list(ctx, names);
    int depth = 1;
    if (const auto* d = c.if_contains("depth"); d != nullptr && d->is_int64()) {
      depth = static_cast<int>(std::clamp<int64_t>(d->get_int64(), 0, 100));
    }
    SSL_CTX_set_verify_depth(ctx, depth);
    cert->mtls = true;
    if (const auto* skip = c.if_contains("skip_mtls_uri_regex"); skip != nullptr && skip->is_array()) {
      for (const auto& p : skip->get_array()) {
        if (!p.is_string()) continue;
        auto re = std::make_unique<re2::RE2>(std::string(p.get_string()), RE2::Quiet);
        if (!re->ok()) {
          return config_error("client.skip_mtls_uri_regex: " + re->error());
        }
        cert->skip_mtls_uri_regex.push_back(std::move(re));
      }
    }
    // A certificate, when sent, is always verified; it is required in the
    // handshake unless some URIs may skip mTLS (checked per request).
    int mode = SSL_VERIFY_PEER;
    if (cert->skip_mtls_uri_regex.empty()) mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    SSL_CTX_set_verify(ctx, mode, nullptr);
  }
  if (const auto* protocols = ssl.if_contains("ssl_protocols");
      protocols != nullptr && protocols->is_array() && !protocols->get_array().empty()) {
    for (const auto& p : protocols->get_array()) {
      const int v = p.is_string() ? protocol_version(p.get_string()) : 0;
      if (v == 0) continue;
      if (cert->min_version == 0 || v < cert->min_version) cert->min_version = v;
      if (v > cert->max_version) cert->max_version = v;
    }
  }
  return std::shared_ptr<const ServerCert>(std::move(cert));
}

core::Status trust_upstream_cas(boost::asio::ssl::context& ctx,
                                const std::string& trusted_certificate) {
  boost::system::error_code ec;
  if (trusted_certificate.empty() || trusted_certificate == "system") {
    ctx.set_default_verify_paths(ec);
  } else {
    ctx.load_verify_file(trusted_certificate, ec);
  }
  ERR_clear_error();
  if (ec) {
    return config_error("apisix.ssl.ssl_trusted_certificate: cannot load " + trusted_certificate +
                        ": " + ec.message());
  }
  return core::ok_status();
}

core::Result<std::shared_ptr<boost::asio::ssl::context>> compile_client_context(
    std::string_view cert_stored, std::string_view key_stored, const config::DataEncryption& enc,
    const std::string& trusted_certificate) {
  auto ctx = std::make_shared<boost::asio::ssl::context>(boost::asio::ssl::context::tls_client);
  if (auto st = trust_upstream_cas(*ctx, trusted_certificate); !st) return st.error();
  ctx->set_options(boost::asio::ssl::context::no_sslv2 | boost::asio::ssl::context::no_sslv3 |
                   boost::asio::ssl::context::no_tlsv1 | boost::asio::ssl::context::no_tlsv1_1);
  if (auto st = use_pair(ctx->native_handle(), cert_stored, key_stored, "", enc); !st) {
    return st.error();
  }
  return ctx;
}

core::Result<std::shared_ptr<const ClientCert>> compile_client_cert(
    const std::string& id, const json::object& ssl, const config::DataEncryption& enc,
    const std::string& trusted_certificate) {
  auto ctx = compile_client_context(str_field(ssl, "cert"), str_field(ssl, "key"), enc,
                                    trusted_certificate);
  if (!ctx) return ctx.error();
  static std::atomic<uint64_t> generations{0};
  auto cert = std::make_shared<ClientCert>();
  cert->id = id;
  cert->ctx = std::move(*ctx);
  cert->generation = ++generations;
  return std::shared_ptr<const ClientCert>(std::move(cert));
}

void CertIndex::index_snis(const json::object& ssl, const std::shared_ptr<const ServerCert>& cert) {
  auto index_one = [&](std::string_view sni) {
    std::string name = lower(sni);
    if (name.rfind("*.", 0) == 0) {
      wildcard_.emplace(name.substr(1), cert);  // first object wins, as in APISIX
    } else {
      exact_.emplace(std::move(name), cert);
    }
  };
  if (const auto* snis = ssl.if_contains("snis"); snis != nullptr && snis->is_array()) {
    for (const auto& s : snis->get_array()) {
      if (s.is_string()) index_one(s.get_string());
    }
  } else if (const auto sni = str_field(ssl, "sni"); !sni.empty()) {
    index_one(sni);
  }
  servers_.emplace(cert->id, cert);
}

core::Status CertIndex::add(const std::string& id, const json::object& ssl,
                            const config::DataEncryption& enc) {
  if (const auto* st = ssl.if_contains("status"); st != nullptr && st->is_int64() && st->get_int64() == 0) {
    return core::ok_status();
  }
  if (str_field(ssl, "type") == "client") {
    auto client = compile_client_cert(id, ssl, enc);
    if (!client) return client.error();
    clients_.emplace(id, std::move(*client));
    return core::ok_status();
  }
  auto cert = compile_server_cert(id, ssl, enc);
  if (!cert) return cert.error();
  index_snis(ssl, *cert);
  return core::ok_status();
}

void CertIndex::add_compiled(const std::string&, const json::object& ssl,
                             std::shared_ptr<const ServerCert> cert) {
  index_snis(ssl, cert);
}

void CertIndex::add_compiled_client(std::shared_ptr<const ClientCert> cert) {
  std::string id = cert->id;
  clients_.emplace(std::move(id), std::move(cert));
}

const std::shared_ptr<const ServerCert>* CertIndex::find(std::string_view sni) const {
  if (sni.empty()) return nullptr;
  std::string name = lower(sni);
  if (!name.empty() && name.back() == '.') name.pop_back();  // "a.com." is "a.com"
  if (auto it = exact_.find(name); it != exact_.end()) return &it->second;
  // The longest wildcard suffix first: ".x.a.com" before ".a.com".
  for (size_t dot = name.find('.'); dot != std::string::npos; dot = name.find('.', dot + 1)) {
    if (dot == 0) continue;  // "*." needs at least one character in front
    if (auto it = wildcard_.find(name.substr(dot)); it != wildcard_.end()) {
      return &it->second;
    }
  }
  return nullptr;
}

const std::shared_ptr<const ServerCert>* CertIndex::server_by_id(const std::string& id) const {
  auto it = servers_.find(id);
  return it == servers_.end() ? nullptr : &it->second;
}

const std::shared_ptr<const ClientCert>* CertIndex::client_by_id(const std::string& id) const {
  auto it = clients_.find(id);
  return it == clients_.end() ? nullptr : &it->second;
}

}  // namespace torii::tls
