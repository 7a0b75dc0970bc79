// Integration-test harness: starts the real torii binary on free loopback
// ports with a config written by the test, real upstream HTTP servers in the
// test process, and real clients (libcurl and raw sockets).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace torii::testing {

// A port nobody listens on right now (bind to 0, read, close).
uint16_t free_port();

// A listening TCP socket on 127.0.0.1 and a port the kernel picked.
int listen_loopback(int backlog, uint16_t& port);

// Polls `pred` every 10 ms until true or `timeout`; returns the last value.
bool wait_until(const std::function<bool()>& pred,
                std::chrono::milliseconds timeout = std::chrono::seconds(10));

// A unique temporary directory, removed on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  // Writes atomically (temp file + rename), as a careful deploy tool would.
  void write(const std::string& name, const std::string& content) const;
  std::string read(const std::string& name) const;

 private:
  std::string path_;
};

struct HttpResponse {
  long status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::string error;  // curl error text, empty on success
};

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  std::string body;
  bool http10 = false;
  long timeout_ms = 10000;
};

// HTTPS options: "host:port:127.0.0.1" entries (CURLOPT_RESOLVE) so a name
// is sent as SNI; the CA to verify the gateway with (empty: no
// verification); a client certificate and key (PEM files) for mTLS.
struct TlsOptions {
  std::vector<std::string> resolve;
  std::string ca_file;
  std::string client_cert;
  std::string client_key;
};

HttpResponse http(const HttpRequest& req);
HttpResponse http(const HttpRequest& req, const TlsOptions& tls);
inline HttpResponse http_get(const std::string& url, std::vector<std::string> headers = {}) {
  HttpRequest req;
  req.url = url;
  req.headers = std::move(headers);
  return http(req);
}

// Sends raw bytes on a new connection and returns everything read until
// the peer closes or `timeout` passes.
std::string raw_exchange(uint16_t port, const std::string& bytes,
                         std::chrono::milliseconds timeout = std::chrono::seconds(5));

// One run of the torii command line (`validate`, `version`, a `run` that
// fails): its exit code and what it printed. Files go to `dir`.
struct CliRun {
  int exit_code = -1;  // -1: still running after 10 s (then killed)
  std::string out;
  std::string err;
};
CliRun run_cli(const TempDir& dir, const std::vector<std::string>& args);

// The Admin API key every test gateway is configured with.
inline constexpr const char* kAdminKey = "torii-test-admin-key-0123456789";

// A `deployment.admin` block (indented under `deployment:`) listening on a
// free loopback port with kAdminKey, for tests that write config.yaml; it
// must come last. With `exporter`, it also ends with a top-level
// `plugin_attr.prometheus` whose export server takes a kernel-picked port,
// so parallel test gateways never compete for 9091.
std::string test_admin_block(uint16_t port = 0, bool exporter = true);

struct ToriiOptions {
  int workers = 2;
  // Appended under nginx_config.http (indented by the caller) / the top level.
  std::string extra_config;
  // The whole `deployment:` block; empty: a data plane reading apisix.yaml.
  std::string deployment;
  // Keep files (sqlite database, logs) across gateway restarts by passing
  // the same directory; null: a fresh one.
  std::shared_ptr<TempDir> dir;
  // The standalone file without the #END marker (file mode only).
  std::string routes_yaml;
  // Ports to reuse (a restart on the same ports); 0: pick free ones.
  uint16_t port = 0;
  uint16_t admin_port = 0;
  // The `deployment.admin` block; empty: test_admin_block(admin_port).
  std::string admin_block;
  // Lines added under `apisix.ssl` (indented by 4); the TLS listener
  // itself always listens on 127.0.0.1:tls_port().
  std::string ssl_extra;
  // Files the gateway sees as /etc/resolv.conf and /etc/hosts (bind-mounted
  // in a mount namespace of its own; needs root: can_replace_etc_files()).
  std::string resolv_conf;
  std::string hosts;
};

// Whether this process may give a child its own /etc files (unshare(2) a
// mount namespace + bind mounts), for ToriiOptions::resolv_conf / hosts.
bool can_replace_etc_files();

// The real gateway binary, run in the foreground as a child process.
class Torii {
 public:
  // `routes_yaml` is the standalone file without the #END marker.
  explicit Torii(const std::string& routes_yaml, const std::string& extra_config = "",
                 int workers = 2);
  explicit Torii(ToriiOptions options);
  ~Torii();
  uint16_t port() const { return port_; }
  uint16_t admin_port() const { return admin_port_; }
  uint16_t tls_port() const { return tls_port_; }
  std::string url(const std::string& path) const;
  // "http://127.0.0.1:<admin port>/apisix/admin" + path
  std::string admin_url(const std::string& path) const;
  // An Admin API call with the test key; `body` sent as application/json.
  HttpResponse admin(const std::string& method, const std::string& path,
                     const std::string& body = "") const;
  // Replaces the standalone file (adds #END).
  void set_routes(const std::string& routes_yaml);
  void write_raw_routes(const std::string& content);
  void signal(int sig) const;
  // Waits for exit; returns the exit status (or -1 on timeout).
  int wait_exit(std::chrono::milliseconds timeout);
  bool running() const;
  std::string error_log() const;
  // What the process printed (stdout.log / stderr.log in dir()).
  std::string stderr_text() const;
  std::string access_log() const;
  pid_t pid() const { return pid_; }
  const TempDir& dir() const { return *dir_; }
  std::shared_ptr<TempDir> shared_dir() const { return dir_; }
  // Resident memory of the process in KiB.
  long rss_kib() const;

 private:
  // Writes config.yaml (and apisix.yaml), starts the binary on port_,
  // admin_port_ and tls_port_, and waits until it answers or exits.
  void start(const ToriiOptions& o);
  std::shared_ptr<TempDir> dir_;
  uint16_t port_;
  uint16_t admin_port_;
  uint16_t tls_port_ = 0;
  pid_t pid_ = -1;
  mutable int status_ = -1;
  mutable bool exited_ = false;
};

// A real HTTP/1.1 upstream server on a loopback port, one thread per
// connection. Routes by path prefix:
//   /echo...        200, JSON-ish text with method, uri, headers and body size
//   /status/N       N with body "status N"
//   /sleep/MS       sleeps MS then 200
//   /bytes/N        N bytes ('x'), Content-Length
//   /chunked/N      N bytes in chunks of 1000, chunked encoding
//   /close          closes without answering
//   /ws             WebSocket-style 101 then echoes bytes back
//   /port           200 with the server's own port as body
//   anything else   200 "hello from <port>"
class Upstream {
 public:
  Upstream();
  ~Upstream();
  uint16_t port() const { return port_; }
  std::string node() const { return "127.0.0.1:" + std::to_string(port_); }
  int requests() const { return requests_.load(); }
  int connections() const { return connections_.load(); }
  // Last raw request head received (for header assertions).
  std::string last_head() const;
  void stop();

 private:
  void serve(int fd);
  void serve_requests(int fd);
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> requests_{0};
  std::atomic<int> connections_{0};
  std::thread acceptor_;
  mutable std::mutex mu_;
  std::string last_head_;
  std::vector<int> open_fds_;
  std::condition_variable idle_cv_;
  int live_threads_ = 0;  // serve() threads still running (guarded by mu_)
};

// The prometheus export server of a Torii under test, on a free port.
struct MetricsExport {
  uint16_t port = free_port();
  // config.yaml lines enabling the plugin and its export server.
  std::string config() const;
  std::string url() const;
  // Waits for the listener (it starts with the control loop), then scrapes.
  HttpResponse scrape_response() const;
  std::string scrape() const { return scrape_response().body; }
};

}  // namespace torii::testing
