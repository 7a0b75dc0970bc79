// TestServer, TestConn, ServerTlsContext and make_self_signed_cert (see
// test_server.h).
#include "test_server.h"

#include <openssl/err.h>
#include <openssl/x509.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>

#include "harness.h"

namespace torii::testing {

SelfSignedCert make_self_signed_cert(const TempDir& dir, const std::string& name,
                                     const std::string& subject_alt_names) {
  SelfSignedCert c;
  c.cert = dir.path() + "/" + name + ".pem";
  c.key = dir.path() + "/" + name + "-key.pem";
  std::string cmd = "openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=localhost -days 1";
  if (!subject_alt_names.empty()) cmd += " -addext subjectAltName=" + subject_alt_names;
  cmd += " -keyout " + c.key + " -out " + c.cert + " >/dev/null 2>&1";
  c.ok = std::system(cmd.c_str()) == 0;
  return c;
}

ServerTlsContext::ServerTlsContext(const std::string& cert_chain, const std::string& key,
                                   const std::string& client_ca)
    : ctx_(SSL_CTX_new(TLS_server_method())) {
  ok_ = SSL_CTX_use_certificate_chain_file(ctx_, cert_chain.c_str()) == 1 &&
        SSL_CTX_use_PrivateKey_file(ctx_, key.c_str(), SSL_FILETYPE_PEM) == 1;
  if (!client_ca.empty()) {
    ok_ = SSL_CTX_load_verify_locations(ctx_, client_ca.c_str(), nullptr) == 1 && ok_;
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  }
  ERR_clear_error();
}

ServerTlsContext::~ServerTlsContext() { SSL_CTX_free(ctx_); }

long TestConn::recv_some(char* into, size_t n) {
  if (ssl_) return SSL_read(ssl_, into, static_cast<int>(n));
  return ::recv(fd_, into, n, 0);
}

bool TestConn::send_all(const std::string& s) {
  if (ssl_) return SSL_write(ssl_, s.data(), static_cast<int>(s.size())) > 0;
  size_t off = 0;
  while (off < s.size()) {
    const ssize_t n = ::send(fd_, s.data() + off, s.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

std::string TestConn::sni() const {
  const char* name = ssl_ ? SSL_get_servername(ssl_, TLSEXT_NAMETYPE_host_name) : nullptr;
  return name ? name : "";
}

std::string TestConn::peer_common_name() const {
  char cn[256] = {0};
  if (X509* peer = ssl_ ? SSL_get0_peer_certificate(ssl_) : nullptr) {
    X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, cn, sizeof(cn));
  }
  return cn;
}

TestServer::TestServer(Handler handler, const ServerTlsContext* tls)
    : handler_(std::move(handler)), tls_(tls) {
  listen_fd_ = listen_loopback(256, port_);
  acceptor_ = std::thread([this] { accept_loop(); });
}

void TestServer::stop() {
  if (stopping_.exchange(true)) return;
  if (acceptor_.joinable()) acceptor_.join();
  ::close(listen_fd_);
  std::vector<std::thread> threads;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
    threads.swap(threads_);
  }
  for (std::thread& th : threads) th.join();
}

void TestServer::accept_loop() {
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

void TestServer::serve(int fd) {
  // The peer (the gateway) may be gone before the answer: a write must fail
  // with EPIPE, not kill the test process.
  sigset_t pipe;
  sigemptyset(&pipe);
  sigaddset(&pipe, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
  SSL* ssl = nullptr;
  if (tls_) {
    ssl = SSL_new(tls_->get());
    SSL_set_fd(ssl, fd);
    if (SSL_accept(ssl) != 1) {
      ++refused_;
      ERR_clear_error();
      SSL_free(ssl);
      return;
    }
    ++handshakes_;
  }
  TestConn conn(fd, ssl);
  handler_(conn);
  if (ssl) {
    ERR_clear_error();
    SSL_free(ssl);
  }
}

}  // namespace torii::testing
