// The Admin API listener: accept loop, one coroutine per connection, the
// checks APISIX does in nginx and http_admin() before a resource module
// runs, and response framing. See admin_server.h for the order of checks.
#include "admin/admin_server.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <spdlog/spdlog.h>

#include <array>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/write.hpp>
#include <boost/json.hpp>
#include <optional>
#include <string_view>
#include <unordered_set>

#include "core/buffer.h"
#include "core/http_date.h"
#include "http/h1_parser.h"
#include "http/local_reply.h"
#include "http/request.h"
#include "http/uri.h"
#include "net/accept_loop.h"
#include "net/io_timeout.h"
#include "router/ip_matcher.h"

namespace torii::admin {

namespace asio = boost::asio;
using boost::system::error_code;
using net::kNoThrow;
using namespace std::chrono_literals;

namespace {

// After a reply that closes the connection, input still in flight is read
// and dropped for this long, so the kernel does not answer it with a RST
// that could destroy the reply before the client reads it (nginx
// lingering_close).
constexpr std::chrono::seconds kLingerTime{2};
constexpr size_t kMaxRequestLine = 8192;  // longer: 414
constexpr size_t kMaxHead = 32768;        // longer: 431
constexpr size_t kInitialBuffer = 4096;
constexpr size_t kBodyBuffer = 65536;

constexpr std::string_view kPrefix = "/apisix/admin";

using Digest = std::array<unsigned char, 32>;

Digest sha256(std::string_view s) {
  Digest d{};
  unsigned int len = 0;
  EVP_Digest(s.data(), s.size(), d.data(), &len, EVP_sha256(), nullptr);
  return d;
}

struct KeyDigest {
  Digest digest;
  bool viewer = false;
};

std::string json_error(std::string_view message) {
  boost::json::object o;
  o["error_msg"] = message;
  return boost::json::serialize(o) + "\n";
}

// APISIX admin/init.lua set_ctx_and_check_token(): 401 with the reason.
std::string token_error(std::string_view description) {
  boost::json::object o;
  o["error_msg"] = "failed to check token";
  o["description"] = description;
  return boost::json::serialize(o) + "\n";
}

AdminResponse html(int status) {
  return AdminResponse{status, http::html_error_page(status), "text/html", {}};
}

std::string_view reason(int status) {
  switch (status) {
    case 409:
      return "Conflict";
    case 410:
      return "Gone";
    case 412:
      return "Precondition Failed";
    case 415:
      return "Unsupported Media Type";
    case 422:
      return "Unprocessable Entity";
    default:
      return http::reason_phrase(status);
  }
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// What APISIX's admin clients send: JSON (any type naming json), curl -d's
// default form type and text/plain (APISIX decodes the body as JSON
// whatever the type says), or nothing.
bool acceptable_content_type(std::string_view type) {
  std::string media = lower(type.substr(0, type.find(';')));
  while (!media.empty() && (media.back() == ' ' || media.back() == '\t')) media.pop_back();
  return media.empty() || media.find("json") != std::string::npos ||
         media == "application/x-www-form-urlencoded" || media == "text/plain";
}

// First value wins for repeated names, as APISIX's ctx.var.arg_* does.
void parse_query(std::string_view query, std::map<std::string, std::string, std::less<>>& out) {
  size_t pos = 0;
  while (pos <= query.size()) {
    size_t amp = query.find('&', pos);
    if (amp == std::string_view::npos) amp = query.size();
    const std::string_view pair = query.substr(pos, amp - pos);
    pos = amp + 1;
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');
    std::string key = http::percent_decode(pair.substr(0, eq), true);
    if (key.empty()) continue;
    std::string value = eq == std::string_view::npos
                            ? std::string()
                            : http::percent_decode(pair.substr(eq + 1), true);
    out.emplace(std::move(key), std::move(value));
  }
}

bool header_safe(std::string_view s) { return s.find_first_of("\r\n") == std::string_view::npos; }

bool is_framing_header(std::string_view name) {
  return http::iequals(name, "content-length") || http::iequals(name, "transfer-encoding") ||
         http::iequals(name, "connection") || http::iequals(name, "content-type");
}

}  // namespace

class AdminConnection;

struct AdminServer::State {
  explicit State(net::Executor ex) : acceptor(ex) {}

  AdminServerOptions options;
  AdminHandler handler;
  net::TcpAcceptor acceptor;
  router::IpMatcher allow;  // empty: every peer
  std::vector<KeyDigest> keys;
  bool check_keys = true;
  std::unordered_set<AdminConnection*> conns;
  core::HttpDate date;
  uint16_t port = 0;
  bool stopped = false;
};

namespace {

using State = AdminServer::State;

// How a request ended, for the connection loop.
enum class Next : uint8_t { kKeepAlive, kLingerClose, kClose };

struct Reply {
  AdminResponse response;
  bool close = false;      // "Connection: close", then lingering close
  bool preflight = false;  // CORS preflight headers instead of the usual CORS set
};

}  // namespace

class AdminConnection : public std::enable_shared_from_this<AdminConnection> {
 public:
  AdminConnection(std::shared_ptr<State> state, net::TcpSocket socket)
      : state_(std::move(state)),
        socket_(std::move(socket)),
        timeout_(socket_.get_executor()),
        in_(kInitialBuffer) {
    error_code ec;
    socket_.set_option(asio::ip::tcp::no_delay(true), ec);
    const auto remote = socket_.remote_endpoint(ec);
    if (!ec) {
      peer_ = remote.address();
      if (peer_->is_v6() && peer_->to_v6().is_v4_mapped()) {
        peer_ = asio::ip::make_address_v4(asio::ip::v4_mapped, peer_->to_v6());
      }
    }
    state_->conns.insert(this);
  }
  ~AdminConnection() { state_->conns.erase(this); }
  AdminConnection(const AdminConnection&) = delete;
  AdminConnection& operator=(const AdminConnection&) = delete;

  // Coroutine entry point; `self` keeps the connection alive while it runs.
  static net::Task<void> serve(std::shared_ptr<AdminConnection> self) { co_await self->run(); }

  // From AdminServer::stop(): every pending operation completes with an error.
  void close() {
    error_code ignored;
    timeout_.disarm();
    socket_.close(ignored);
  }

 private:
  using IoResult = std::tuple<error_code, size_t>;

  net::Task<void> run();
  net::Task<Next> serve_request();
  net::Task<bool> read_body(std::string& body, std::optional<Reply>& refusal);
  // Serialises `reply` into out_; returns what the connection does once it
  // is sent. Separate from flush(): GCC 12 mishandles class temporaries in
  // a co_await full-expression, so a reply never crosses a co_await.
  Next prepare(const Reply& reply);
  // Writes out_; `next`, or kClose when the write failed.
  net::Task<Next> flush(Next next);
  net::Task<void> linger_close();
  net::Task<IoResult> read_some();

  std::optional<Reply> check_request(std::string_view path, bool& under_admin);
  std::optional<Reply> check_token(std::string_view method, const std::string* query_key,
                                   bool& viewer) const;
  std::string serialize(const Reply& reply) const;

  // The timeout of the current socket operation (net/io_timeout.h).
  void arm(std::chrono::steady_clock::duration after) {
    timeout_.arm(after, weak_from_this(), socket_);
  }
  void disarm() { timeout_.disarm(); }

  std::shared_ptr<State> state_;
  net::TcpSocket socket_;
  net::IoTimeout timeout_;
  std::optional<asio::ip::address> peer_;
  core::InputBuffer in_;
  size_t parsed_ = 0;
  http::H1Parser parser_{http::H1Parser::Kind::kRequest};
  http::Request req_;
  // Per request, for serialize().
  bool head_request_ = false;
  bool http10_keep_alive_ = false;
  std::string out_;  // the response being written
};

net::Task<void> AdminConnection::run() {
  for (;;) {
    if (state_->stopped) break;
    const Next next = co_await serve_request();
    if (next == Next::kKeepAlive && !state_->stopped) continue;
    if (next == Next::kLingerClose && !state_->stopped) co_await linger_close();
    break;
  }
  disarm();
  error_code ignored;
  socket_.shutdown(net::TcpSocket::shutdown_both, ignored);
  socket_.close(ignored);
}

net::Task<AdminConnection::IoResult> AdminConnection::read_some() {
  const auto area = in_.write_area();
  return socket_.async_read_some(asio::buffer(area.data(), area.size()), kNoThrow);
}

net::Task<Next> AdminConnection::serve_request() {
  // Drop the previous request's bytes; keep what the client pipelined after it.
  in_.consume_front(parsed_);
  parsed_ = 0;
  parser_.reset();
  head_request_ = false;
  http10_keep_alive_ = false;
  in_.shrink_if_larger(kInitialBuffer);  // idle connections keep no large buffer

  // ---- head
  // Idle wait, then one deadline for the whole head from its first byte (a
  // byte a second must not keep the connection).
  bool started = in_.size() > 0;
  arm(state_->options.io_timeout);
  std::optional<Reply> refusal;
  for (;;) {
    if (parsed_ < in_.size()) {
      parsed_ += parser_.feed(in_.data(), parsed_, in_.size() - parsed_);
      if (parser_.error() != http::ParseError::kNone) {
        const int status = parser_.error() == http::ParseError::kTooManyHeaders      ? 431
                           : parser_.error() == http::ParseError::kUnsupportedCoding ? 501
                                                                                     : 400;
        refusal = Reply{html(status), true};
        break;
      }
      if (parser_.head_complete()) break;
    }
    if (!parser_.url_complete() && in_.size() > kMaxRequestLine) {
      refusal = Reply{html(414), true};
      break;
    }
    if (in_.free_space() == 0 && !in_.grow(kMaxHead)) {
      refusal = Reply{html(parser_.url_complete() ? 431 : 414), true};
      break;
    }
    auto [ec, n] = co_await read_some();
    if (ec || n == 0) co_return Next::kClose;  // gone, idle or head timeout: close quietly
    in_.commit(n);
    if (!started) {
      started = true;
      arm(state_->options.io_timeout);
    }
  }
  disarm();
  if (refusal) {
    const Next next = prepare(*refusal);
    co_return co_await flush(next);
  }

  if (const auto err = http::build_request(parser_, in_, 0, req_);
      err != http::RequestError::kNone) {
    const Next next = prepare(Reply{html(http::reply_status(err)), true});
    co_return co_await flush(next);
  }

  // Copy what the rest needs: the buffer is compacted while the body is read.
  AdminRequest request;
  request.method = std::string(req_.method_token);
  head_request_ = req_.method == http::Method::kHead;
  http10_keep_alive_ = req_.version_minor == 0 && req_.keep_alive;
  const bool keep_alive = req_.keep_alive && !parser_.upgraded();
  const bool has_body = req_.has_body();
  const bool expect_continue = req_.expect_continue;
  const std::optional<uint64_t> content_length = req_.content_length;
  if (auto ct = req_.header("content-type")) request.content_type = std::string(*ct);
  parse_query(req_.query, request.query);

  // Whether bytes of this request are still unread: a reply now must close.
  const auto early = [&](Reply r) {
    if (!parser_.message_complete() || !keep_alive) r.close = true;
    return r;
  };

  bool under_admin = false;
  refusal = check_request(req_.path, under_admin);
  if (!refusal && under_admin) {
    const auto it = request.query.find("api_key");
    refusal = check_token(request.method, it == request.query.end() ? nullptr : &it->second,
                          request.viewer);
  }
  if (!refusal && content_length && *content_length > kMaxAdminBody) {
    // APISIX core.request.get_body(MAX_REQ_BODY) refuses before reading
    // (and without sending 100 Continue); admin/init.lua turns it into 400.
    refusal = Reply{AdminResponse{400,
                                  json_error("invalid request body: request size " +
                                             std::to_string(*content_length) +
                                             " is greater than the maximum size " +
                                             std::to_string(kMaxAdminBody) + " allowed"),
                                  "application/json",
                                  {}},
                    true};
  }
  if (!refusal && has_body && !acceptable_content_type(request.content_type)) {
    refusal = Reply{AdminResponse{415,
                                  json_error("unsupported content type \"" + request.content_type +
                                             "\": send application/json"),
                                  "application/json",
                                  {}}};
  }
  if (refusal) {
    const Next next = prepare(early(std::move(*refusal)));
    co_return co_await flush(next);
  }
  request.path = req_.path.substr(kPrefix.size());

  // ---- body
  if (expect_continue && !parser_.message_complete()) {
    static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    arm(state_->options.io_timeout);
    auto [ec, n] = co_await asio::async_write(socket_, asio::buffer(kContinue), kNoThrow);
    disarm();
    if (ec) co_return Next::kClose;
  }
  if (!co_await read_body(request.body, refusal)) {
    if (!refusal) co_return Next::kClose;
    const Next next = prepare(*refusal);
    co_return co_await flush(next);
  }
  if (state_->stopped) co_return Next::kClose;

  // ---- handler
  const std::string method = request.method;
  const std::string path = request.path;
  Reply reply;
  try {
    net::Task<AdminResponse> call = state_->handler(std::move(request));
    reply.response = co_await std::move(call);
    if (reply.response.status < 200 || reply.response.status > 599) {
      spdlog::error("admin: {} {}: handler answered invalid status {}", method, path,
                    reply.response.status);
      reply.response = AdminResponse{500, json_error("internal error"), "application/json", {}};
    }
  } catch (const std::exception& e) {
    spdlog::error("admin: {} {}: handler threw: {}", method, path, e.what());
    reply.response = AdminResponse{500, json_error("internal error"), "application/json", {}};
  } catch (...) {
    spdlog::error("admin: {} {}: handler threw a non-exception", method, path);
    reply.response = AdminResponse{500, json_error("internal error"), "application/json", {}};
  }
  if (state_->stopped) co_return Next::kClose;
  reply.close = !keep_alive;
  const Next next = prepare(reply);
  co_return co_await flush(next);
}

// Allow list, path and the requests answered without a key. Sets
// `under_admin` when the request goes on to the key check.
std::optional<Reply> AdminConnection::check_request(std::string_view path, bool& under_admin) {
  under_admin = false;
  const State& st = *state_;
  // nginx allow/deny: runs before anything else in the location.
  if (!st.allow.empty() && (!peer_ || !st.allow.contains(*peer_))) {
    spdlog::info("admin: access forbidden by allow_admin: {}",
                 peer_ ? peer_->to_string() : std::string("unknown peer"));
    return Reply{html(403), true};
  }
  const bool in_location = path.starts_with(kPrefix);  // nginx `location /apisix/admin`
  const bool under = in_location && (path.size() == kPrefix.size() || path[kPrefix.size()] == '/');
  if (!in_location) return Reply{html(404)};
  const http::Method m = req_.method;
  // apisix/init.lua cors_admin(): a preflight is answered before the router
  // and the key check; without enable_admin_cors the router has no OPTIONS.
  if (m == http::Method::kOptions && st.options.settings.enable_admin_cors) {
    AdminResponse r{200, "", "text/plain", {}};
    r.headers = {{"Access-Control-Allow-Origin", "*"},
                 {"Access-Control-Allow-Methods", "POST, GET, PUT, OPTIONS, DELETE, PATCH"},
                 {"Access-Control-Max-Age", "3600"},
                 {"Access-Control-Allow-Headers", "*"},
                 {"Access-Control-Allow-Credentials", "true"}};
    Reply reply{std::move(r)};
    reply.preflight = true;
    return reply;
  }
  if (!under) return Reply{html(404)};
  // admin/init.lua: `HEAD /apisix/admin` is a health probe, without a key.
  if (m == http::Method::kHead) {
    if (path.size() == kPrefix.size()) return Reply{AdminResponse{200, "", "application/json", {}}};
    return Reply{html(404)};
  }
  if (m != http::Method::kGet && m != http::Method::kPut && m != http::Method::kPost &&
      m != http::Method::kPatch && m != http::Method::kDelete) {
    return Reply{html(404)};
  }
  under_admin = true;
  return std::nullopt;
}

// admin/init.lua check_token(): the key from the `api_key` argument, then
// the X-API-KEY header, then the cookie; compared with every configured key.
std::optional<Reply> AdminConnection::check_token(std::string_view method,
                                                  const std::string* query_key,
                                                  bool& viewer) const {
  viewer = false;
  if (!state_->check_keys) return std::nullopt;
  std::optional<std::string_view> token;
  if (query_key) token = *query_key;
  if (!token) token = req_.header("x-api-key");
  if (!token) {
    // APISIX reads ctx.var.cookie_x_api_key, i.e. the cookie named
    // "x_api_key"; "X-API-KEY" is accepted as well (the header's spelling).
    for (const http::Header& h : req_.headers) {
      if (!http::iequals(h.name, "cookie")) continue;
      token = http::find_cookie(h.value, "x_api_key");
      if (!token) token = http::find_cookie(h.value, "X-API-KEY");
      if (token) break;
    }
  }
  const auto refuse = [&](std::string_view why) {
    spdlog::warn("admin: {} {} from {}: failed to check token: {}", method, req_.path,
                 peer_ ? peer_->to_string() : std::string("unknown peer"), why);
    return Reply{AdminResponse{401, token_error(why), "application/json", {}}};
  };
  if (!token) return refuse("missing apikey");
  // Constant time: fixed-size digests, every key compared, no early exit.
  const Digest d = sha256(*token);
  const KeyDigest* match = nullptr;
  for (const KeyDigest& k : state_->keys) {
    const bool equal = CRYPTO_memcmp(d.data(), k.digest.data(), d.size()) == 0;
    if (equal && !match) match = &k;
  }
  if (!match) return refuse("wrong apikey");
  if (match->viewer && method != "GET") return refuse("invalid method for role viewer");
  viewer = match->viewer;
  return std::nullopt;
}

// Reads the rest of the body into `body`. False when the connection must
// close: with `refusal` set when the client is to be told why.
net::Task<bool> AdminConnection::read_body(std::string& body, std::optional<Reply>& refusal) {
  const auto too_large = [&] {
    refusal = Reply{AdminResponse{400,
                                  json_error("invalid request body: request size " +
                                             std::to_string(body.size()) +
                                             " is greater than the maximum size " +
                                             std::to_string(kMaxAdminBody) + " allowed"),
                                  "application/json",
                                  {}},
                    true};
  };
  const auto collect = [&] {
    for (const http::Span& s : parser_.body()) body.append(in_.data() + s.off, s.len);
    parser_.clear_body();
    // The head is no longer needed: keep only unparsed bytes.
    in_.consume_front(parsed_);
    parsed_ = 0;
  };
  collect();
  if (body.size() > kMaxAdminBody) {
    too_large();
    co_return false;
  }
  if (parser_.message_complete()) co_return true;
  while (in_.capacity() < kBodyBuffer && in_.grow(kBodyBuffer)) {
  }
  arm(state_->options.io_timeout);
  while (!parser_.message_complete()) {
    auto [ec, n] = co_await read_some();
    if (ec || n == 0) co_return false;  // gone, or body timeout
    in_.commit(n);
    parsed_ += parser_.feed(in_.data(), parsed_, in_.size() - parsed_);
    if (parser_.error() != http::ParseError::kNone) {
      refusal = Reply{html(400), true};
      co_return false;
    }
    collect();
    if (body.size() > kMaxAdminBody) {
      too_large();
      co_return false;
    }
  }
  disarm();
  co_return true;
}

std::string AdminConnection::serialize(const Reply& reply) const {
  const AdminResponse& r = reply.response;
  const AdminServerOptions& o = state_->options;
  const bool bodyless = r.status == 204 || r.status == 304;
  std::string out;
  out.reserve(320 + r.body.size());
  out.append("HTTP/1.1 ").append(std::to_string(r.status)).append(" ");
  out.append(reason(r.status)).append("\r\n");
  out.append("Date: ").append(state_->date.now()).append("\r\n");
  if (!r.content_type.empty() && header_safe(r.content_type)) {
    out.append("Content-Type: ").append(r.content_type).append("\r\n");
  }
  if (!bodyless)
    out.append("Content-Length: ").append(std::to_string(r.body.size())).append("\r\n");
  if (reply.close) {
    out.append("Connection: close\r\n");
  } else if (http10_keep_alive_) {
    out.append("Connection: keep-alive\r\n");
  }
  out.append("Server: ").append(o.server_header).append("\r\n");
  if (o.settings.enable_admin_cors && !reply.preflight) {
    out.append(
        "Access-Control-Allow-Origin: *\r\n"
        "Access-Control-Allow-Credentials: true\r\n"
        "Access-Control-Expose-Headers: *\r\n"
        "Access-Control-Max-Age: 3600\r\n");
  }
  out.append("X-API-VERSION: v3\r\n");
  for (const auto& [name, value] : r.headers) {
    // Framing is ours; a header that could split the response is dropped.
    if (is_framing_header(name) || !header_safe(name) || !header_safe(value) || name.empty()) {
      continue;
    }
    out.append(name).append(": ").append(value).append("\r\n");
  }
  out.append("\r\n");
  if (!head_request_ && !bodyless) out.append(r.body);
  return out;
}

Next AdminConnection::prepare(const Reply& reply) {
  out_ = serialize(reply);
  return reply.close ? Next::kLingerClose : Next::kKeepAlive;
}

net::Task<Next> AdminConnection::flush(Next next) {
  arm(state_->options.io_timeout);
  auto [ec, n] = co_await asio::async_write(socket_, asio::buffer(out_), kNoThrow);
  disarm();
  co_return ec ? Next::kClose : next;
}

net::Task<void> AdminConnection::linger_close() {
  error_code ignored;
  socket_.shutdown(net::TcpSocket::shutdown_send, ignored);
  arm(kLingerTime);
  std::array<char, 16384> sink;
  for (;;) {
    auto [ec, n] = co_await socket_.async_read_some(asio::buffer(sink), kNoThrow);
    if (ec || n == 0) break;
  }
  disarm();
}

namespace {

net::Task<void> accept_loop(std::shared_ptr<State> st) {
  const std::string what = "admin_listen";
  const std::function<void(net::TcpSocket)> on_accept = [st](net::TcpSocket socket) {
    if (st->stopped) return;
    if (st->conns.size() >= st->options.max_connections) {
      spdlog::warn("admin_listen: {} connections open, closing a new one", st->conns.size());
      error_code ignored;
      socket.close(ignored);
      return;
    }
    auto conn = std::make_shared<AdminConnection>(st, std::move(socket));
    asio::co_spawn(st->acceptor.get_executor(), AdminConnection::serve(std::move(conn)),
                   asio::detached);
  };
  co_await net::accept_connections(st->acceptor, what, on_accept);
}

}  // namespace

core::Result<std::unique_ptr<AdminServer>> AdminServer::start(net::Executor ex,
                                                              AdminServerOptions options,
                                                              AdminHandler handler) {
  const config::AdminSettings& s = options.settings;
  auto st = std::make_shared<State>(ex);

  auto allow = router::IpMatcher::build(s.allow_admin);
  if (!allow.ok())
    return core::config_error("deployment.admin.allow_admin: " + allow.error().message);
  st->allow = std::move(*allow);

  st->check_keys = s.admin_key_required;
  for (const config::AdminKey& k : s.keys) {
    if (!k.key.empty()) st->keys.push_back(KeyDigest{sha256(k.key), k.viewer});
  }
  if (st->check_keys && st->keys.empty()) {
    return core::config_error(
        "deployment.admin.admin_key: no key configured while admin_key_required is true");
  }
  if (!handler) return core::config_error("admin server: no handler");

  boost::system::error_code ec;
  const auto addr = asio::ip::make_address(s.ip, ec);
  const std::string where = "admin_listen " + (addr.is_v6() && !ec ? "[" + s.ip + "]" : s.ip) +
                            ":" + std::to_string(s.port) + ": ";
  if (ec) return core::config_error(where + "invalid address");
  const asio::ip::tcp::endpoint ep(addr, s.port);
  st->acceptor.open(ep.protocol(), ec);
  if (!ec) st->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) st->acceptor.bind(ep, ec);
  if (!ec) st->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return core::Error{core::ErrorKind::kIo, core::ErrorSource::kConfig, false,
                       where + ec.message()};
  }
  st->port = st->acceptor.local_endpoint(ec).port();
  st->options = std::move(options);
  st->handler = std::move(handler);
  asio::co_spawn(ex, accept_loop(st), asio::detached);
  return std::unique_ptr<AdminServer>(new AdminServer(std::move(st)));
}

AdminServer::~AdminServer() { stop(); }

uint16_t AdminServer::port() const { return state_->port; }

size_t AdminServer::connections() const { return state_->conns.size(); }

void AdminServer::stop() {
  if (state_->stopped) return;
  state_->stopped = true;
  error_code ignored;
  state_->acceptor.close(ignored);
  for (AdminConnection* c : state_->conns) c->close();
}

}  // namespace torii::admin
