#include "harness.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>
#include <brotli/encode.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>

namespace torii::testing {

uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  socklen_t len = sizeof(a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

int listen_loopback(int backlog, uint16_t& port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  ::listen(fd, backlog);
  socklen_t len = sizeof(a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  port = ntohs(a.sin_port);
  return fd;
}

bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return pred();
}

TempDir::TempDir() {
  std::string tpl = (std::filesystem::temp_directory_path() / "torii-test-XXXXXX").string();
  path_ = ::mkdtemp(tpl.data());
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

void TempDir::write(const std::string& name, const std::string& content) const {
  const std::string target = path_ + "/" + name;
  const std::string tmp = target + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << content;
  }
  std::filesystem::rename(tmp, target);
}

std::string TempDir::read(const std::string& name) const {
  std::ifstream in(path_ + "/" + name, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

namespace {

size_t on_body(char* p, size_t size, size_t n, void* ud) {
  static_cast<std::string*>(ud)->append(p, size * n);
  return size * n;
}

size_t on_header(char* p, size_t size, size_t n, void* ud) {
  auto* headers = static_cast<std::map<std::string, std::string>*>(ud);
  std::string line(p, size * n);
  const size_t colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ')) value.erase(0, 1);
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n')) value.pop_back();
    (*headers)[name] = value;
  }
  return size * n;
}

struct CurlInit {
  CurlInit() { curl_global_init(CURL_GLOBAL_ALL); }
};

}  // namespace

HttpResponse http(const HttpRequest& req) { return http(req, TlsOptions{}); }

HttpResponse http(const HttpRequest& req, const TlsOptions& tls) {
  static CurlInit init;
  HttpResponse r;
  CURL* c = curl_easy_init();
  curl_easy_setopt(c, CURLOPT_URL, req.url.c_str());
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  if (req.method == "HEAD") curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  curl_slist* hs = nullptr;
  for (const auto& h : req.headers) hs = curl_slist_append(hs, h.c_str());
  if (!req.body.empty()) {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, req.body.data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
    hs = curl_slist_append(hs, "Expect:");
  }
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, hs);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &r.body);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &r.headers);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, req.timeout_ms);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  if (req.http10) curl_easy_setopt(c, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_0);
  curl_slist* resolve = nullptr;
  for (const auto& r2 : tls.resolve) resolve = curl_slist_append(resolve, r2.c_str());
  if (resolve != nullptr) curl_easy_setopt(c, CURLOPT_RESOLVE, resolve);
  if (!tls.ca_file.empty()) {
    curl_easy_setopt(c, CURLOPT_CAINFO, tls.ca_file.c_str());
  } else {
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  if (!tls.client_cert.empty()) curl_easy_setopt(c, CURLOPT_SSLCERT, tls.client_cert.c_str());
  if (!tls.client_key.empty()) curl_easy_setopt(c, CURLOPT_SSLKEY, tls.client_key.c_str());
  const CURLcode rc = curl_easy_perform(c);
  if (rc != CURLE_OK) r.error = curl_easy_strerror(rc);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
  curl_slist_free_all(hs);
  curl_slist_free_all(resolve);
  curl_easy_cleanup(c);
  return r;
}

std::string raw_exchange(uint16_t port, const std::string& bytes, std::chrono::milliseconds timeout) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    ::close(fd);
    return "";
  }
  size_t off = 0;
  while (off < bytes.size()) {
    const ssize_t n = ::send(fd, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n <= 0) break;
    off += static_cast<size_t>(n);
  }
  std::string out;
  const auto end = std::chrono::steady_clock::now() + timeout;
  char buf[16384];
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        end - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
    const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

// Runs the binary with `args`, capturing stdout and stderr into files.
CliRun run_cli(const TempDir& dir, const std::vector<std::string>& args) {
  const std::string out_path = dir.path() + "/cli.stdout";
  const std::string err_path = dir.path() + "/cli.stderr";
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(out, 1);
    ::dup2(err, 2);
    std::vector<char*> argv{const_cast<char*>(TORII_BINARY)};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(TORII_BINARY, argv.data());
    ::_exit(127);
  }
  CliRun r;
  int st = 0;
  if (!wait_until([&] { return ::waitpid(pid, &st, WNOHANG) == pid; }, std::chrono::seconds(10))) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &st, 0);
    return r;
  }
  r.exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  r.out = dir.read("cli.stdout");
  r.err = dir.read("cli.stderr");
  return r;
}

// ---------------------------------------------------------------- Torii

Torii::Torii(const std::string& routes_yaml, const std::string& extra_config, int workers)
    : Torii(ToriiOptions{workers, extra_config, "", nullptr, routes_yaml, 0, 0, "", "", "", ""}) {}

Torii::Torii(ToriiOptions o) : dir_(o.dir ? o.dir : std::make_shared<TempDir>()) {
  // Ports come from free_port(): the kernel may hand one of them to another
  // test's socket before this gateway binds it. A gateway that exits at
  // start because a port it was given is taken is started again on fresh
  // ports (only the ports this constructor picked itself).
  for (int attempt = 0;; ++attempt) {
    port_ = o.port ? o.port : free_port();
    admin_port_ = o.admin_port ? o.admin_port : free_port();
    tls_port_ = free_port();
    start(o);
    if (running() || attempt == 4) return;
    const bool port_taken =
        dir_->read("error.log").find("Address already in use") != std::string::npos ||
        dir_->read("stderr.log").find("Address already in use") != std::string::npos;
    if (!port_taken) return;
    exited_ = false;  // running() reaped the process
    pid_ = -1;
    dir_->write("error.log", "");
    dir_->write("stderr.log", "");
  }
}

namespace {

// In a forked child: a mount namespace of its own where each {file, over}
// pair has `file` bind-mounted over `over`. Mounts stay private, so the
// host's files are untouched.
bool bind_etc_files(const std::vector<std::pair<std::string, std::string>>& files) {
  if (::unshare(CLONE_NEWNS) != 0) return false;
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return false;
  for (const auto& [file, over] : files) {
    if (::mount(file.c_str(), over.c_str(), nullptr, MS_BIND, nullptr) != 0) return false;
  }
  return true;
}

}  // namespace

bool can_replace_etc_files() {
  TempDir dir;
  dir.write("resolv.conf", "nameserver 127.0.0.1\n");
  const pid_t pid = ::fork();
  if (pid == 0) ::_exit(bind_etc_files({{dir.path() + "/resolv.conf", "/etc/resolv.conf"}}) ? 0 : 1);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

void Torii::start(const ToriiOptions& o) {
  const std::string deployment =
      o.deployment.empty()
          ? "deployment:\n  role: data_plane\n  role_data_plane:\n    config_provider: yaml\n"
          : o.deployment;
  std::string cfg = "apisix:\n  node_listen: " + std::to_string(port_) +
                    "\n  ssl:\n    listen:\n      - ip: 127.0.0.1\n        port: " +
                    std::to_string(tls_port_) + "\n" + o.ssl_extra +
                    "nginx_config:\n  worker_processes: " + std::to_string(o.workers) +
                    "\n  error_log: " + dir_->path() + "/error.log\n  error_log_level: info\n" +
                    "  worker_shutdown_timeout: 10s\n  http:\n    access_log: " + dir_->path() +
                    "/access.log\n" + o.extra_config + deployment +
                    (o.admin_block.empty()
                         ? test_admin_block(admin_port_,
                                            o.extra_config.find("plugin_attr:") == std::string::npos)
                         : o.admin_block);
  dir_->write("config.yaml", cfg);
  if (o.deployment.empty() || !o.routes_yaml.empty()) set_routes(o.routes_yaml);
  pid_ = ::fork();
  if (pid_ == 0) {
    const std::string conf = dir_->path() + "/config.yaml";
    const int out = ::open((dir_->path() + "/stdout.log").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    const int err = ::open((dir_->path() + "/stderr.log").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (out >= 0) ::dup2(out, 1);
    if (err >= 0) ::dup2(err, 2);
    std::vector<std::pair<std::string, std::string>> etc;
    if (!o.resolv_conf.empty()) etc.emplace_back(o.resolv_conf, "/etc/resolv.conf");
    if (!o.hosts.empty()) etc.emplace_back(o.hosts, "/etc/hosts");
    if (!etc.empty() && !bind_etc_files(etc)) ::_exit(126);
    ::execl(TORII_BINARY, TORII_BINARY, "run", "-c", conf.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  // The data-port probe is routed like any request (a catch-all route
  // proxies it, a global rule counts it): tests count from a baseline taken
  // after start. So a probe is never abandoned while it may still reach an
  // upstream after that baseline: before the listener is up it is refused
  // at once; once connected it gets the whole 10 s to be answered.
  wait_until([&] {
    if (!running()) return true;
    return raw_exchange(port_, "GET /__torii_ready HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                        std::chrono::seconds(10))
               .rfind("HTTP/1.1", 0) == 0 &&
           raw_exchange(admin_port_, "HEAD /apisix/admin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                        std::chrono::milliseconds(500))
               .rfind("HTTP/1.1", 0) == 0;
  });
}

std::string test_admin_block(uint16_t port, bool exporter) {
  std::string block = "  admin:\n    admin_listen:\n      ip: 127.0.0.1\n      port: " +
                      std::to_string(port ? port : free_port()) +
                      "\n    admin_key:\n      - name: admin\n" + "        key: " + kAdminKey +
                      "\n        role: admin\n";
  if (exporter) {
    block += "plugin_attr:\n  prometheus:\n    export_addr:\n      ip: 127.0.0.1\n      port: 0\n";
  }
  return block;
}

std::string Torii::admin_url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(admin_port_) + "/apisix/admin" + path;
}

HttpResponse Torii::admin(const std::string& method, const std::string& path,
                          const std::string& body) const {
  HttpRequest req;
  req.method = method;
  req.url = admin_url(path);
  req.headers = {std::string("X-API-KEY: ") + kAdminKey};
  if (!body.empty()) req.headers.push_back("Content-Type: application/json");
  req.body = body;
  return http(req);
}

Torii::~Torii() {
  if (running()) {
    signal(SIGKILL);
    wait_exit(std::chrono::seconds(5));
  }
}

std::string Torii::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

void Torii::set_routes(const std::string& routes_yaml) {
  dir_->write("apisix.yaml", routes_yaml + "\n#END\n");
}

void Torii::write_raw_routes(const std::string& content) { dir_->write("apisix.yaml", content); }

void Torii::signal(int sig) const {
  if (pid_ > 0) ::kill(pid_, sig);
}

bool Torii::running() const {
  if (exited_ || pid_ <= 0) return false;
  int st = 0;
  const pid_t r = ::waitpid(pid_, &st, WNOHANG);
  if (r == pid_) {
    exited_ = true;
    status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return false;
  }
  return true;
}

int Torii::wait_exit(std::chrono::milliseconds timeout) {
  if (!wait_until([&] { return !running(); }, timeout)) return -1;
  return status_;
}

std::string Torii::error_log() const { return dir_->read("error.log"); }
std::string Torii::stderr_text() const { return dir_->read("stderr.log"); }
std::string Torii::access_log() const { return dir_->read("access.log"); }

long Torii::rss_kib() const {
  std::ifstream in("/proc/" + std::to_string(pid_) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  }
  return -1;
}

// ---------------------------------------------------------------- Upstream

namespace {

bool read_line(int fd, std::string& buf, std::string& line) {
  for (;;) {
    const size_t nl = buf.find("\r\n");
    if (nl != std::string::npos) {
      line = buf.substr(0, nl);
      buf.erase(0, nl + 2);
      return true;
    }
    char tmp[65536];
    const ssize_t n = ::recv(fd, tmp, sizeof(tmp), 0);
    if (n <= 0) return false;
    buf.append(tmp, static_cast<size_t>(n));
  }
}

// Reads exactly `n` body bytes (some may already be in `buf`), hashing them.
bool read_body(int fd, std::string& buf, uint64_t n, uint64_t& hash) {
  auto eat = [&](const char* p, size_t len) {
    for (size_t i = 0; i < len; ++i) hash = (hash ^ static_cast<unsigned char>(p[i])) * 1099511628211ull;
  };
  const size_t from_buf = std::min<uint64_t>(n, buf.size());
  eat(buf.data(), from_buf);
  buf.erase(0, from_buf);
  n -= from_buf;
  char tmp[65536];
  while (n > 0) {
    const ssize_t r = ::recv(fd, tmp, std::min<uint64_t>(n, sizeof(tmp)), 0);
    if (r <= 0) return false;
    eat(tmp, static_cast<size_t>(r));
    n -= static_cast<uint64_t>(r);
  }
  return true;
}

// `plain` in Content-Encoding `coding` ("gzip", "br"); any other coding
// gets the text itself with "raw:" in front, to tell it was passed through.
std::string encode_body(const std::string& coding, const std::string& plain) {
  if (coding == "gzip") {
    z_stream z{};
    deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
    std::string out(deflateBound(&z, plain.size()) + 32, '\0');
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(plain.data()));
    z.avail_in = static_cast<uInt>(plain.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    deflate(&z, Z_FINISH);
    out.resize(out.size() - z.avail_out);
    deflateEnd(&z);
    return out;
  }
  if (coding == "br") {
    size_t n = BrotliEncoderMaxCompressedSize(plain.size()) + 16;
    std::string out(n, '\0');
    BrotliEncoderCompress(5, BROTLI_DEFAULT_WINDOW, BROTLI_MODE_TEXT, plain.size(),
                          reinterpret_cast<const uint8_t*>(plain.data()), &n,
                          reinterpret_cast<uint8_t*>(out.data()));
    out.resize(n);
    return out;
  }
  return "raw:" + plain;
}

bool send_all(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    const ssize_t n = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

Upstream::Upstream() {
  listen_fd_ = listen_loopback(1024, port_);
  acceptor_ = std::thread([this] {
    for (;;) {
      const int fd = ::accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) {
        if (stopping_) return;
        continue;
      }
      if (stopping_) {
        ::close(fd);
        return;
      }
      ++connections_;
      {
        std::lock_guard<std::mutex> lock(mu_);
        open_fds_.push_back(fd);
        ++live_threads_;
      }
      std::thread([this, fd] { serve(fd); }).detach();
    }
  });
}

Upstream::~Upstream() { stop(); }

void Upstream::stop() {
  if (stopping_.exchange(true)) return;
  ::shutdown(listen_fd_, SHUT_RDWR);
  ::close(listen_fd_);
  if (acceptor_.joinable()) acceptor_.join();
  std::unique_lock<std::mutex> lock(mu_);
  for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
  // serve() threads touch this object until they return: wait for them.
  idle_cv_.wait(lock, [this] { return live_threads_ == 0; });
}

std::string Upstream::last_head() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_head_;
}

void Upstream::serve(int fd) {
  serve_requests(fd);
  std::lock_guard<std::mutex> lock(mu_);
  ::shutdown(fd, SHUT_RDWR);
  ::close(fd);
  std::erase(open_fds_, fd);
  if (--live_threads_ == 0) idle_cv_.notify_all();
}

void Upstream::serve_requests(int fd) {
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  std::string buf;
  for (;;) {
    std::string request_line, line, head;
    if (!read_line(fd, buf, request_line)) break;
    head = request_line + "\r\n";
    uint64_t content_length = 0;
    bool chunked = false, keep_alive = true;
    std::map<std::string, std::string> headers;
    while (read_line(fd, buf, line) && !line.empty()) {
      head += line + "\r\n";
      const size_t colon = line.find(':');
      std::string name = line.substr(0, colon);
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      std::string value = colon == std::string::npos ? "" : line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.erase(0, 1);
      headers[name] = value;
      if (name == "content-length") content_length = std::strtoull(value.c_str(), nullptr, 10);
      if (name == "transfer-encoding" && value.find("chunked") != std::string::npos) chunked = true;
      if (name == "connection" && value == "close") keep_alive = false;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      last_head_ = head;
    }
    ++requests_;
    uint64_t hash = 14695981039346656037ull, body_size = 0;
    if (chunked) {
      for (;;) {
        if (!read_line(fd, buf, line)) return;
        const uint64_t n = std::strtoull(line.c_str(), nullptr, 16);
        if (n == 0) {
          read_line(fd, buf, line);  // trailer end
          break;
        }
        if (!read_body(fd, buf, n, hash)) return;
        body_size += n;
        read_line(fd, buf, line);
      }
    } else if (content_length > 0) {
      if (!read_body(fd, buf, content_length, hash)) return;
      body_size = content_length;
    }
    const size_t sp1 = request_line.find(' ');
    const size_t sp2 = request_line.find(' ', sp1 + 1);
    const std::string method = request_line.substr(0, sp1);
    const std::string uri = request_line.substr(sp1 + 1, sp2 - sp1 - 1);
    std::string status = "200 OK", body, extra;
    bool chunked_out = false;
    if (uri.rfind("/status/", 0) == 0) {
      status = uri.substr(8) + " X";
      body = "status " + uri.substr(8);
    } else if (uri.rfind("/sleep/", 0) == 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(std::atoi(uri.c_str() + 7)));
      body = "slept";
    } else if (uri.rfind("/bytes/", 0) == 0) {
      const uint64_t n = std::strtoull(uri.c_str() + 7, nullptr, 10);
      std::string hdr = "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(n) + "\r\n\r\n";
      if (!send_all(fd, hdr)) break;
      if (method == "HEAD") continue;
      std::string chunk(std::min<uint64_t>(n, 1 << 20), 'x');
      uint64_t left = n;
      bool ok = true;
      while (left > 0 && ok) {
        const size_t k = std::min<uint64_t>(left, chunk.size());
        ok = send_all(fd, chunk.substr(0, k));
        left -= k;
      }
      if (!ok) break;
      continue;
    } else if (uri.rfind("/chunked/", 0) == 0) {
      const uint64_t n = std::strtoull(uri.c_str() + 9, nullptr, 10);
      std::string out = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
      for (uint64_t left = n; left > 0;) {
        const uint64_t k = std::min<uint64_t>(left, 1000);
        char size[32];
        std::snprintf(size, sizeof(size), "%llx\r\n", static_cast<unsigned long long>(k));
        out += size + std::string(k, 'y') + "\r\n";
        left -= k;
      }
      out += "0\r\n\r\n";
      if (!send_all(fd, out)) break;
      continue;
    } else if (uri == "/encoded/gzip-members") {
      // Two gzip members in two chunks, the second 100 ms later: the first
      // member ends exactly where a read ends.
      const std::string m1 = encode_body("gzip", "hello world, ");
      const std::string m2 = encode_body("gzip", "hello gateway\n");
      const auto chunk = [](const std::string& data) {
        char size[32];
        std::snprintf(size, sizeof(size), "%zx\r\n", data.size());
        return size + data + "\r\n";
      };
      if (!send_all(fd, "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n" +
                            chunk(m1))) {
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      if (!send_all(fd, chunk(m2) + "0\r\n\r\n")) break;
      continue;
    } else if (uri == "/encoded/gzip-twice") {
      // Content-Encoding: gzip on two lines, the body gzipped twice.
      body = encode_body("gzip", encode_body("gzip", "hello world, hello gateway\n"));
      extra = "Content-Encoding: gzip\r\nContent-Encoding: gzip\r\n";
    } else if (uri.rfind("/encoded/", 0) == 0) {
      // "/encoded/<coding>": a short text in that Content-Encoding.
      const std::string coding = uri.substr(9);
      body = encode_body(coding, "hello world, hello gateway\n");
      extra = "Content-Encoding: " + coding + "\r\nETag: \"v1\"\r\n";
    } else if (uri == "/close") {
      break;
    } else if (uri == "/ws") {
      send_all(fd, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n");
      if (!buf.empty()) send_all(fd, buf);
      char tmp[4096];
      for (;;) {
        const ssize_t n = ::recv(fd, tmp, sizeof(tmp), 0);
        if (n <= 0) break;
        if (!send_all(fd, std::string(tmp, static_cast<size_t>(n)))) break;
      }
      break;
    } else if (uri == "/port") {
      body = std::to_string(port_);
    } else if (uri.rfind("/echo", 0) == 0) {
      body = "method=" + method + "\nuri=" + uri + "\nbody_size=" + std::to_string(body_size) +
             "\nbody_hash=" + std::to_string(hash) + "\n" + head;
    } else {
      body = "hello from " + std::to_string(port_);
    }
    std::string out = "HTTP/1.1 " + status + "\r\n" + extra;
    const bool bodyless = status.rfind("204", 0) == 0 || status.rfind("304", 0) == 0;
    if (bodyless) body.clear();
    if (!chunked_out && !bodyless) out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    out += "X-Upstream-Port: " + std::to_string(port_) + "\r\n\r\n";
    if (method != "HEAD") out += body;
    if (!send_all(fd, out)) break;
    if (!keep_alive) break;
  }
}

std::string MetricsExport::config() const {
  return "plugins:\n  - prometheus\nplugin_attr:\n  prometheus:\n    export_addr:\n"
         "      ip: 127.0.0.1\n      port: " +
         std::to_string(port) + "\n";
}

std::string MetricsExport::url() const {
  return "http://127.0.0.1:" + std::to_string(port) + "/apisix/prometheus/metrics";
}

HttpResponse MetricsExport::scrape_response() const {
  HttpRequest r;
  r.url = url();
  r.timeout_ms = 60000;  // a scrape of many series
  HttpResponse resp;
  wait_until([&] {
    resp = http(r);
    return resp.error.empty();
  });
  return resp;
}

}  // namespace torii::testing
