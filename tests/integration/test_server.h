// TestServer: the accept loop every hand-written server in the integration
// tests shares (auth services, mirrors, TLS and mTLS upstreams, scripted
// misbehaving upstreams), plus the OpenSSL server context and self-signed
// certificates they serve with. What a server answers stays in its test;
// how it listens, hands out connections and stops lives here.
#pragma once

#include <openssl/ssl.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace torii::testing {

class TempDir;

// A certificate made by the openssl tool: self-signed, CN=localhost, valid
// for a day. `subject_alt_names` is the -addext value ("DNS:localhost,
// IP:127.0.0.1"); empty: no subjectAltName. Files land in `dir` as
// <name>.pem and <name>-key.pem; `ok` is false when openssl failed.
struct SelfSignedCert {
  std::string cert;
  std::string key;
  bool ok = false;
};
SelfSignedCert make_self_signed_cert(const TempDir& dir, const std::string& name,
                                     const std::string& subject_alt_names);

// An OpenSSL server context (TLS_server_method) owning its SSL_CTX.
// `cert_chain` and `key` are PEM files. With `client_ca` (a PEM file), every
// client must present a certificate signed by it or the handshake fails
// (mTLS); empty: no client certificate is asked for.
class ServerTlsContext {
 public:
  ServerTlsContext(const std::string& cert_chain, const std::string& key,
                   const std::string& client_ca = "");
  ~ServerTlsContext();
  ServerTlsContext(const ServerTlsContext&) = delete;
  ServerTlsContext& operator=(const ServerTlsContext&) = delete;

  // Whether the certificate, the key (and the client CA) all loaded.
  bool ok() const { return ok_; }
  SSL_CTX* get() const { return ctx_; }

 private:
  SSL_CTX* ctx_ = nullptr;
  bool ok_ = false;
};

// One accepted connection as a handler sees it: TLS already handshaken when
// the server has a context, plain TCP otherwise. Valid only during the
// handler call; the server frees the SSL object and closes the socket
// after the handler returns.
class TestConn {
 public:
  TestConn(int fd, SSL* ssl) : fd_(fd), ssl_(ssl) {}

  int fd() const { return fd_; }
  SSL* ssl() const { return ssl_; }  // null on plain TCP
  // Reads what is there, up to `n` bytes: > 0 bytes read, 0 orderly close,
  // < 0 error (also a socket shut down by TestServer::stop()).
  long recv_some(char* into, size_t n);
  // Writes all of `s`; false when the peer is gone (never raises SIGPIPE).
  bool send_all(const std::string& s);
  // The SNI the client sent; empty without TLS or without SNI.
  std::string sni() const;
  // The CN of the client certificate; empty when none was presented.
  std::string peer_common_name() const;

 private:
  int fd_;
  SSL* ssl_;
};

// A server on 127.0.0.1 and a kernel-picked port that runs `handler` on its
// own thread for each accepted connection, TLS first when `tls` is given
// (borrowed: it must outlive the server). SIGPIPE is blocked on connection
// threads, so a handler writing to a gone peer sees an error instead.
//
// Accepting starts in the constructor: a class that owns a TestServer and
// whose handler reads other members must declare the server after them
// (and stop it first thing in its destructor).
class TestServer {
 public:
  using Handler = std::function<void(TestConn&)>;

  explicit TestServer(Handler handler, const ServerTlsContext* tls = nullptr);
  ~TestServer() { stop(); }
  TestServer(const TestServer&) = delete;
  TestServer& operator=(const TestServer&) = delete;

  uint16_t port() const { return port_; }
  bool tls() const { return tls_ != nullptr; }
  // Connections accepted, TLS handshakes that succeeded, and those that
  // failed (the handler never ran).
  int accepted() const { return accepted_.load(); }
  int handshakes() const { return handshakes_.load(); }
  int refused() const { return refused_.load(); }
  bool stopping() const { return stopping_.load(); }

  // Stops accepting, closes the port, shuts down every open connection and
  // joins every handler thread. Idempotent; the destructor calls it.
  void stop();

 private:
  void accept_loop();
  void serve(int fd);

  Handler handler_;
  const ServerTlsContext* const tls_;
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> accepted_{0};
  std::atomic<int> handshakes_{0};
  std::atomic<int> refused_{0};
  std::mutex mu_;
  std::vector<int> open_fds_;
  std::vector<std::thread> threads_;
  std::thread acceptor_;
};

}  // namespace torii::testing
