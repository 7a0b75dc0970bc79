#include "store/etcd_store.h"

#include <algorithm>
#include <boost/json.hpp>
#include <charconv>
#include <optional>
#include <string_view>
#include <utility>

#include "store/http_client.h"

namespace torii::store {
namespace {

namespace json = boost::json;
using core::Error;
using core::ErrorKind;
using core::ErrorSource;

constexpr size_t kMaxReply = size_t{128} << 20;        // a range of a large config
constexpr size_t kMaxWatchMessage = size_t{64} << 20;  // one watch response
constexpr size_t kMaxErrorBody = size_t{1} << 20;
constexpr size_t kMaxIdle = 4;
constexpr std::chrono::milliseconds kMinConnectTimeout{200};
constexpr std::string_view kDirMarker = "init_dir";

Error unavailable(std::string message) {
  return Error{ErrorKind::kUnavailable, ErrorSource::kUpstream, true, "etcd: " + message};
}

// Connection-level errors as the store reports them: timeouts stay
// timeouts, everything else is "cannot reach etcd".
Error from_http(const Error& e) {
  if (e.kind == ErrorKind::kTimeout) {
    return Error{ErrorKind::kTimeout, ErrorSource::kUpstream, true, "etcd " + e.message};
  }
  return Error{ErrorKind::kUnavailable, ErrorSource::kUpstream, true, "etcd " + e.message};
}

Error closed_error() { return unavailable("store closed"); }

// ------------------------------------------------------------ encoding

constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string b64_encode(std::string_view in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    const uint32_t v =
        (uint32_t(uint8_t(in[i])) << 16) | (uint32_t(uint8_t(in[i + 1])) << 8) | uint8_t(in[i + 2]);
    out += kB64[v >> 18];
    out += kB64[(v >> 12) & 63];
    out += kB64[(v >> 6) & 63];
    out += kB64[v & 63];
  }
  if (i + 1 == in.size()) {
    const uint32_t v = uint32_t(uint8_t(in[i])) << 16;
    out += kB64[v >> 18];
    out += kB64[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    const uint32_t v = (uint32_t(uint8_t(in[i])) << 16) | (uint32_t(uint8_t(in[i + 1])) << 8);
    out += kB64[v >> 18];
    out += kB64[(v >> 12) & 63];
    out += kB64[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

int b64_digit(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

std::optional<std::string> b64_decode(std::string_view in) {
  while (!in.empty() && in.back() == '=') in.remove_suffix(1);
  if (in.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(in.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    const int d = b64_digit(c);
    if (d < 0) return std::nullopt;
    acc = (acc << 6) | uint32_t(d);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += char((acc >> bits) & 0xff);
    }
  }
  return out;
}

// The smallest key greater than every key starting with `prefix` (etcd's
// range_end for a prefix); "\0" (every key) when there is none.
std::string prefix_end(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    if (uint8_t(end.back()) < 0xff) {
      end.back() = char(uint8_t(end.back()) + 1);
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');
}

// ------------------------------------------------------------ decoding

// The gateway prints int64 as a JSON string and omits zero: absent -> 0.
bool read_int(const json::object& o, std::string_view name, int64_t& out) {
  out = 0;
  const json::value* v = o.if_contains(name);
  if (!v) return true;
  if (const auto* i = v->if_int64()) {
    out = *i;
    return true;
  }
  if (const auto* u = v->if_uint64()) {
    if (*u > uint64_t(INT64_MAX)) return false;
    out = int64_t(*u);
    return true;
  }
  if (const auto* s = v->if_string()) {
    auto [p, ec] = std::from_chars(s->data(), s->data() + s->size(), out);
    return ec == std::errc() && p == s->data() + s->size();
  }
  return false;
}

bool read_bool(const json::object& o, std::string_view name) {
  const json::value* v = o.if_contains(name);
  return v && v->is_bool() && v->get_bool();
}

std::string_view read_string(const json::object& o, std::string_view name) {
  const json::value* v = o.if_contains(name);
  if (!v || !v->is_string()) return {};
  return v->get_string();
}

const json::object* read_object(const json::object& o, std::string_view name) {
  const json::value* v = o.if_contains(name);
  return v ? v->if_object() : nullptr;
}

core::Result<KeyValue> parse_kv(const json::value& v) {
  const json::object* o = v.if_object();
  if (!o) return unavailable("malformed answer: kv is not an object");
  KeyValue kv;
  const json::value* key = o->if_contains("key");
  if (!key || !key->is_string()) return unavailable("malformed answer: kv without a key");
  auto k = b64_decode(key->get_string());
  if (!k) return unavailable("malformed answer: key is not base64");
  kv.key = std::move(*k);
  if (const json::value* val = o->if_contains("value")) {
    if (!val->is_string()) return unavailable("malformed answer: value is not a string");
    auto d = b64_decode(val->get_string());
    if (!d) return unavailable("malformed answer: value is not base64");
    kv.value = std::move(*d);
  }
  if (!read_int(*o, "create_revision", kv.create_revision) ||
      !read_int(*o, "mod_revision", kv.mod_revision)) {
    return unavailable("malformed answer: bad revision in kv");
  }
  return kv;
}

std::optional<KeyValue> parse_prev_kv(const json::object& o, core::Status& st) {
  const json::value* p = o.if_contains("prev_kv");
  if (!p) return std::nullopt;
  auto kv = parse_kv(*p);
  if (!kv) {
    st = kv.error();
    return std::nullopt;
  }
  return std::move(*kv);
}

core::Result<int64_t> header_revision(const json::object& root) {
  const json::object* h = read_object(root, "header");
  int64_t rev = 0;
  if (!h || !read_int(*h, "revision", rev)) return unavailable("malformed answer: no header");
  return rev;
}

bool is_dir_marker(const KeyValue& kv) {
  return !kv.key.empty() && kv.key.back() == '/' && kv.value == kDirMarker;
}

// etcd's error answer ({"error": "...", "code": N}) as a store error.
struct GatewayError {
  Error error;
  bool unauthenticated = false;  // the token is missing, invalid or expired
};

GatewayError gateway_error(const json::value* doc, int status, std::string_view path) {
  std::string message;
  int64_t code = 0;
  if (doc && doc->is_object()) {
    const json::object& o = doc->get_object();
    message = std::string(read_string(o, "error"));
    if (message.empty()) message = std::string(read_string(o, "message"));
    if (!read_int(o, "code", code)) code = 0;
  }
  if (message.empty()) message = "HTTP " + std::to_string(status) + " from " + std::string(path);
  GatewayError g{unavailable(message), code == 16 || status == 401};
  // The only etcd errors that are the caller's, not the store's.
  if (message == "etcdserver: request is too large" ||
      message == "etcdserver: too many operations in txn request") {
    g.error.kind = ErrorKind::kInvalid;
    g.error.retryable = false;
  }
  return g;
}

}  // namespace

// ------------------------------------------------------------ Impl

class EtcdStore::Impl {
 public:
  Impl(net::Executor ex, EtcdOptions opts, std::vector<HttpTarget> targets)
      : ex_(ex), opts_(std::move(opts)), targets_(std::move(targets)) {}

  std::string describe() const {
    std::string s = "etcd ";
    for (size_t i = 0; i < opts_.hosts.size(); ++i) {
      if (i) s += ',';
      s += opts_.hosts[i];
    }
    return s;
  }

  void close() {
    closed_ = true;
    for (auto& weak : live_) {
      if (auto c = weak.lock()) c->cancel();
    }
    live_.clear();
    idle_.clear();
  }

  net::Task<core::Result<RangeResult>> range(std::string prefix);
  net::Task<core::Result<std::optional<KeyValue>>> get(std::string key);
  net::Task<core::Result<PutResult>> put(std::string key, std::string value, Expect expect,
                                         std::chrono::seconds ttl);
  net::Task<core::Result<DeleteResult>> remove(std::string key, bool with_children);
  net::Task<core::Status> watch(std::string prefix, int64_t after, WatchHandler on_events);

 private:
  struct Leased {
    std::shared_ptr<HttpConnection> conn;
    size_t host = 0;
    bool reused = false;
  };
  enum class Step : uint8_t { kContinue, kAuthAgain, kCompacted, kStop };

  bool auth_enabled() const { return !opts_.user.empty(); }
  std::shared_ptr<HttpConnection> new_conn(size_t host);
  std::shared_ptr<HttpConnection> take_idle(size_t host);
  net::Task<core::Result<Leased>> connect_any(Clock::time_point deadline, bool allow_idle);
  net::Task<core::Result<HttpReply>> exchange(std::string path, std::string body,
                                              Clock::time_point deadline, bool retry_safe);
  net::Task<core::Result<json::value>> call(std::string path, std::string body, bool retry_safe);
  net::Task<core::Status> authenticate(Clock::time_point deadline);
  net::Task<core::Result<std::string>> grant_lease(std::chrono::seconds ttl);
  core::Result<Step> on_watch_message(std::string_view line, const WatchHandler& on_events,
                                      int64_t& last, std::string& detail);
  HttpRequest make_request(std::string path, std::string body) const {
    HttpRequest req{std::move(path), std::move(body), {}};
    if (!token_.empty()) req.headers.emplace_back("Authorization", token_);
    return req;
  }

  net::Executor ex_;
  EtcdOptions opts_;
  std::vector<HttpTarget> targets_;
  size_t current_ = 0;  // the host that answered last
  bool closed_ = false;
  std::string token_;
  std::vector<std::pair<size_t, std::shared_ptr<HttpConnection>>> idle_;  // (host, conn)
  std::vector<std::weak_ptr<HttpConnection>> live_;  // every connection close() must cancel
};

std::shared_ptr<HttpConnection> EtcdStore::Impl::new_conn(size_t host) {
  std::erase_if(live_, [](const auto& w) { return w.expired(); });
  auto c = std::make_shared<HttpConnection>(ex_, targets_[host]);
  live_.push_back(c);
  return c;
}

std::shared_ptr<HttpConnection> EtcdStore::Impl::take_idle(size_t host) {
  for (size_t i = idle_.size(); i-- > 0;) {
    if (idle_[i].first != host) continue;
    auto c = std::move(idle_[i].second);
    idle_.erase(idle_.begin() + static_cast<std::ptrdiff_t>(i));
    if (c->reusable()) return c;
  }
  return nullptr;
}

// A connected connection to the first host that accepts one, starting with
// the one that answered last. Each host gets a share of the deadline, so a
// blackholed first host still leaves time for the next.
net::Task<core::Result<EtcdStore::Impl::Leased>> EtcdStore::Impl::connect_any(
    Clock::time_point deadline, bool allow_idle) {
  const size_t n = targets_.size();
  std::optional<Error> last;
  for (size_t i = 0; i < n; ++i) {
    if (closed_) co_return closed_error();
    const size_t host = (current_ + i) % n;
    if (allow_idle) {
      if (auto c = take_idle(host)) co_return Leased{std::move(c), host, true};
    }
    auto conn = new_conn(host);
    auto share =
        std::max<Clock::duration>(opts_.timeout / static_cast<int64_t>(n), kMinConnectTimeout);
    auto st = co_await conn->connect(std::min(deadline, Clock::now() + share));
    if (st) {
      current_ = host;
      co_return Leased{std::move(conn), host, false};
    }
    last = st.error();
  }
  if (closed_) co_return closed_error();
  co_return from_http(*last);
}

net::Task<core::Result<HttpReply>> EtcdStore::Impl::exchange(std::string path, std::string body,
                                                             Clock::time_point deadline,
                                                             bool retry_safe) {
  const HttpRequest req = make_request(std::move(path), std::move(body));
  for (;;) {
    auto leased = co_await connect_any(deadline, true);
    if (!leased) co_return leased.error();
    auto reply = co_await leased->conn->request(req, deadline, kMaxReply);
    if (closed_) co_return closed_error();
    if (reply) {
      if (leased->conn->reusable() && idle_.size() < kMaxIdle) {
        idle_.emplace_back(leased->host, std::move(leased->conn));
      }
      co_return reply;
    }
    // A kept-alive connection the server closed meanwhile: it saw nothing
    // of this request, try again on a fresh one.
    if (leased->reused && retry_safe && leased->conn->received() == 0 &&
        reply.error().kind != ErrorKind::kTimeout) {
      continue;
    }
    co_return from_http(reply.error());
  }
}

net::Task<core::Status> EtcdStore::Impl::authenticate(Clock::time_point deadline) {
  token_.clear();
  json::object b{{"name", opts_.user}, {"password", opts_.password}};
  auto reply = co_await exchange("/v3/auth/authenticate", json::serialize(b), deadline, true);
  if (!reply) co_return reply.error();
  boost::system::error_code ec;
  json::value doc = json::parse(reply->body, ec);
  if (!ec && reply->status == 200 && doc.is_object()) {
    std::string_view token = read_string(doc.get_object(), "token");
    if (!token.empty()) {
      token_ = std::string(token);
      co_return core::ok_status();
    }
  }
  GatewayError g = gateway_error(ec ? nullptr : &doc, reply->status, "/v3/auth/authenticate");
  g.error.message =
      "etcd: authentication as \"" + opts_.user + "\" failed: " + g.error.message.substr(6);
  g.error.source = ErrorSource::kConfig;
  co_return g.error;
}

// One unary gateway call: the JSON answer, or the error etcd or the
// connection gave. Fetches a token first when needed, and once more when
// etcd says the token is no longer valid.
net::Task<core::Result<json::value>> EtcdStore::Impl::call(std::string path, std::string body,
                                                           bool retry_safe) {
  if (closed_) co_return closed_error();
  const auto deadline = Clock::now() + opts_.timeout;
  for (int attempt = 0;; ++attempt) {
    if (auth_enabled() && token_.empty()) {
      if (auto st = co_await authenticate(deadline); !st) co_return st.error();
    }
    auto reply = co_await exchange(path, body, deadline, retry_safe);
    if (!reply) co_return reply.error();
    boost::system::error_code ec;
    json::value doc = json::parse(reply->body, ec);
    if (!ec && reply->status == 200 && doc.is_object() && !doc.get_object().contains("error")) {
      co_return doc;
    }
    if (ec && reply->status == 200) co_return unavailable("malformed JSON answer to " + path);
    GatewayError g = gateway_error(ec ? nullptr : &doc, reply->status, path);
    if (g.unauthenticated && auth_enabled() && attempt == 0) {
      token_.clear();
      continue;
    }
    co_return g.error;
  }
}

net::Task<core::Result<std::string>> EtcdStore::Impl::grant_lease(std::chrono::seconds ttl) {
  json::object b{{"TTL", ttl.count()}};
  auto doc = co_await call("/v3/lease/grant", json::serialize(b), true);
  if (!doc) co_return doc.error();
  int64_t id = 0;
  if (!read_int(doc->get_object(), "ID", id) || id == 0) {
    co_return unavailable("malformed answer to /v3/lease/grant");
  }
  co_return std::to_string(id);
}

net::Task<core::Result<RangeResult>> EtcdStore::Impl::range(std::string prefix) {
  json::object b{{"key", b64_encode(prefix)}, {"range_end", b64_encode(prefix_end(prefix))}};
  auto doc = co_await call("/v3/kv/range", json::serialize(b), true);
  if (!doc) co_return doc.error();
  const json::object& root = doc->get_object();
  auto rev = header_revision(root);
  if (!rev) co_return rev.error();
  RangeResult out;
  out.revision = *rev;
  if (const json::value* kvs = root.if_contains("kvs")) {
    const json::array* arr = kvs->if_array();
    if (!arr) co_return unavailable("malformed answer: kvs is not an array");
    out.kvs.reserve(arr->size());
    for (const json::value& v : *arr) {
      auto kv = parse_kv(v);
      if (!kv) co_return kv.error();
      if (is_dir_marker(*kv)) continue;
      out.kvs.push_back(std::move(*kv));
    }
  }
  co_return out;
}

net::Task<core::Result<std::optional<KeyValue>>> EtcdStore::Impl::get(std::string key) {
  json::object b{{"key", b64_encode(key)}};
  auto doc = co_await call("/v3/kv/range", json::serialize(b), true);
  if (!doc) co_return doc.error();
  const json::object& root = doc->get_object();
  if (auto rev = header_revision(root); !rev) co_return rev.error();
  const json::value* kvs = root.if_contains("kvs");
  if (!kvs) co_return std::optional<KeyValue>{};
  const json::array* arr = kvs->if_array();
  if (!arr) co_return unavailable("malformed answer: kvs is not an array");
  if (arr->empty()) co_return std::optional<KeyValue>{};
  auto kv = parse_kv(arr->front());
  if (!kv) co_return kv.error();
  co_return std::optional<KeyValue>(std::move(*kv));
}

net::Task<core::Result<PutResult>> EtcdStore::Impl::put(std::string key, std::string value,
                                                        Expect expect, std::chrono::seconds ttl) {
  if (closed_) co_return closed_error();
  json::object req{{"key", b64_encode(key)}, {"value", b64_encode(value)}, {"prev_kv", true}};
  if (ttl.count() > 0) {
    auto lease = co_await grant_lease(ttl);
    if (!lease) co_return lease.error();
    req["lease"] = *lease;
  }

  core::Result<json::value> doc = unavailable("unreachable");
  const json::object* put_resp = nullptr;  // where prev_kv is
  if (expect.kind == Expect::Kind::kAny) {
    doc = co_await call("/v3/kv/put", json::serialize(req), false);
    if (!doc) co_return doc.error();
    put_resp = &doc->get_object();
  } else {
    json::object cmp{{"key", b64_encode(key)}, {"result", "EQUAL"}};
    if (expect.kind == Expect::Kind::kAbsent) {
      cmp["target"] = "CREATE";
      cmp["create_revision"] = 0;
    } else {
      cmp["target"] = "MOD";
      cmp["mod_revision"] = expect.mod_revision;
    }
    json::object txn{{"compare", json::array{cmp}},
                     {"success", json::array{json::object{{"request_put", std::move(req)}}}}};
    doc = co_await call("/v3/kv/txn", json::serialize(txn), false);
    if (!doc) co_return doc.error();
    const json::object& root = doc->get_object();
    if (!read_bool(root, "succeeded")) {
      Error e{ErrorKind::kConflict, ErrorSource::kDownstream, false, ""};
      e.message = expect.kind == Expect::Kind::kAbsent ? "key " + key + " already exists"
                                                       : "key " + key + " changed since revision " +
                                                             std::to_string(expect.mod_revision);
      co_return e;
    }
    const json::value* responses = root.if_contains("responses");
    const json::array* arr = responses ? responses->if_array() : nullptr;
    const json::object* first = arr && !arr->empty() ? arr->front().if_object() : nullptr;
    put_resp = first ? read_object(*first, "response_put") : nullptr;
    if (!put_resp) co_return unavailable("malformed answer to /v3/kv/txn: no response_put");
  }

  auto rev = header_revision(doc->get_object());
  if (!rev) co_return rev.error();
  core::Status st = core::ok_status();
  PutResult out;
  out.prev = parse_prev_kv(*put_resp, st);
  if (!st) co_return st.error();
  out.kv.key = std::move(key);
  out.kv.value = std::move(value);
  out.kv.mod_revision = *rev;
  out.kv.create_revision = out.prev ? out.prev->create_revision : *rev;
  co_return out;
}

net::Task<core::Result<DeleteResult>> EtcdStore::Impl::remove(std::string key, bool with_children) {
  DeleteResult out;
  if (!with_children) {
    json::object b{{"key", b64_encode(key)}};
    auto doc = co_await call("/v3/kv/deleterange", json::serialize(b), false);
    if (!doc) co_return doc.error();
    const json::object& root = doc->get_object();
    auto rev = header_revision(root);
    if (!rev) co_return rev.error();
    out.revision = *rev;
    if (!read_int(root, "deleted", out.deleted)) co_return unavailable("malformed deleted count");
    co_return out;
  }
  // One txn, so the key and its children go in one revision.
  const std::string children = key + "/";
  json::array ops{json::object{{"request_delete_range", json::object{{"key", b64_encode(key)}}}},
                  json::object{{"request_delete_range",
                                json::object{{"key", b64_encode(children)},
                                             {"range_end", b64_encode(prefix_end(children))}}}}};
  json::object txn{{"success", std::move(ops)}};
  auto doc = co_await call("/v3/kv/txn", json::serialize(txn), false);
  if (!doc) co_return doc.error();
  const json::object& root = doc->get_object();
  auto rev = header_revision(root);
  if (!rev) co_return rev.error();
  out.revision = *rev;
  if (const json::value* responses = root.if_contains("responses")) {
    const json::array* arr = responses->if_array();
    if (!arr) co_return unavailable("malformed answer to /v3/kv/txn");
    for (const json::value& r : *arr) {
      const json::object* o = r.if_object();
      const json::object* d = o ? read_object(*o, "response_delete_range") : nullptr;
      int64_t n = 0;
      if (!d || !read_int(*d, "deleted", n)) co_return unavailable("malformed answer to txn");
      out.deleted += n;
    }
  }
  co_return out;
}

// One message of the watch stream. `last` is the revision the watcher is
// known to be complete up to; `detail` explains a kCompacted / error.
core::Result<EtcdStore::Impl::Step> EtcdStore::Impl::on_watch_message(std::string_view line,
                                                                      const WatchHandler& on_events,
                                                                      int64_t& last,
                                                                      std::string& detail) {
  boost::system::error_code ec;
  json::value doc = json::parse(line, ec);
  if (ec || !doc.is_object()) return unavailable("malformed watch message");
  const json::object& root = doc.get_object();
  if (const json::value* err = root.if_contains("error")) {
    // A stream error: {"error":{"grpc_code":16,"http_code":401,"message":...}}.
    const json::object* eo = err->if_object();
    int64_t code = 0;
    std::string message = "watch stream error";
    if (eo) {
      if (!read_int(*eo, "grpc_code", code)) code = 0;
      if (auto m = read_string(*eo, "message"); !m.empty()) message = std::string(m);
    } else if (err->is_string()) {
      message = std::string(err->get_string());
    }
    if (code == 16 && auth_enabled()) {
      detail = message;
      return Step::kAuthAgain;
    }
    return unavailable(message);
  }
  const json::object* result = read_object(root, "result");
  if (!result) return unavailable("malformed watch message: no result");
  int64_t compact = 0;
  if (!read_int(*result, "compact_revision", compact))
    return unavailable("malformed watch message");
  if (compact > 0) {
    detail = "watch from revision " + std::to_string(last + 1) +
             ": history compacted up to revision " + std::to_string(compact);
    return Step::kCompacted;
  }
  if (read_bool(*result, "canceled")) {
    std::string reason(read_string(*result, "cancel_reason"));
    if (reason.find("compact") != std::string::npos) {
      detail = reason;
      return Step::kCompacted;
    }
    return unavailable("watch canceled" + (reason.empty() ? "" : ": " + reason));
  }
  if (read_bool(*result, "created")) return Step::kContinue;
  const json::value* evs = result->if_contains("events");
  if (!evs) {
    // A progress notification: etcd sends those only to watchers that have
    // seen everything up to the header revision.
    if (auto rev = header_revision(*result); rev && *rev > last) last = *rev;
    return Step::kContinue;
  }
  const json::array* arr = evs->if_array();
  if (!arr) return unavailable("malformed watch message: events is not an array");
  std::vector<WatchEvent> events;
  events.reserve(arr->size());
  int64_t top = last;
  for (const json::value& e : *arr) {
    const json::object* eo = e.if_object();
    const json::value* kvv = eo ? eo->if_contains("kv") : nullptr;
    if (!kvv) return unavailable("malformed watch event");
    auto kv = parse_kv(*kvv);
    if (!kv) return kv.error();
    WatchEvent ev;
    const std::string_view type = read_string(*eo, "type");
    if (type == "DELETE") {
      ev.type = WatchEvent::Type::kDelete;
    } else if (!type.empty() && type != "PUT") {
      return unavailable("unknown watch event type " + std::string(type));
    }
    top = std::max(top, kv->mod_revision);
    ev.kv = std::move(*kv);
    if (ev.type == WatchEvent::Type::kPut && is_dir_marker(ev.kv)) continue;
    events.push_back(std::move(ev));
  }
  // The revision of the last event, not the header's: a catch-up message
  // may stop short of the header revision (etcd batches 1000 revisions).
  last = top;
  if (!events.empty()) on_events(events, top);
  return closed_ ? Step::kStop : Step::kContinue;
}

net::Task<core::Status> EtcdStore::Impl::watch(std::string prefix, int64_t after,
                                               WatchHandler on_events) {
  int64_t last = after;
  bool auth_retried = false;
  const std::string key = b64_encode(prefix);
  const std::string end = b64_encode(prefix_end(prefix));
  for (;;) {
    if (closed_) co_return core::ok_status();
    const auto deadline = Clock::now() + opts_.timeout;
    const auto rearm_at = Clock::now() + opts_.watch_timeout;
    if (auth_enabled() && token_.empty()) {
      if (auto st = co_await authenticate(deadline); !st) {
        if (closed_) co_return core::ok_status();
        co_return st.error();
      }
    }
    json::object create{
        {"key", key}, {"range_end", end}, {"start_revision", last + 1}, {"progress_notify", true}};
    json::object body{{"create_request", std::move(create)}};
    auto leased = co_await connect_any(deadline, false);
    if (closed_) co_return core::ok_status();
    if (!leased) co_return leased.error();
    std::shared_ptr<HttpConnection> conn = std::move(leased->conn);
    auto status = co_await conn->start(make_request("/v3/watch", json::serialize(body)), deadline);
    if (closed_) co_return core::ok_status();
    if (!status) co_return from_http(status.error());

    if (*status != 200) {
      std::string text;
      for (;;) {
        auto piece = co_await conn->read_body(deadline);
        if (!piece) break;
        text += piece->data;
        if (piece->last || text.size() > kMaxErrorBody) break;
      }
      if (closed_) co_return core::ok_status();
      boost::system::error_code ec;
      json::value doc = json::parse(text, ec);
      GatewayError g = gateway_error(ec ? nullptr : &doc, *status, "/v3/watch");
      if (g.unauthenticated && auth_enabled() && !auth_retried) {
        auth_retried = true;
        token_.clear();
        continue;
      }
      co_return g.error;
    }

    std::string pending;  // bytes of a message not complete yet
    bool created = false;
    bool rearm = false;
    while (!rearm) {
      // The ack must come within the operation timeout; events, any time
      // until the re-arm.
      const auto read_until = created ? rearm_at : std::min(rearm_at, deadline);
      auto piece = co_await conn->read_body(read_until);
      if (closed_) co_return core::ok_status();
      if (!piece) {
        if (piece.error().kind == ErrorKind::kTimeout && created) break;
        co_return from_http(piece.error());
      }
      pending += piece->data;
      size_t start = 0;
      for (size_t nl; (nl = pending.find('\n', start)) != std::string::npos; start = nl + 1) {
        const std::string_view line = std::string_view(pending).substr(start, nl - start);
        if (line.find_first_not_of(" \r\t") == std::string_view::npos) continue;
        std::string detail;
        auto step = on_watch_message(line, on_events, last, detail);
        if (!step) co_return step.error();
        created = true;
        if (*step == Step::kStop) co_return core::ok_status();
        if (*step == Step::kCompacted) {
          co_return Error{ErrorKind::kCompacted, ErrorSource::kUpstream, false, "etcd: " + detail};
        }
        if (*step == Step::kAuthAgain) {
          if (auth_retried) co_return unavailable(detail);
          auth_retried = true;
          token_.clear();
          rearm = true;
          break;
        }
        auth_retried = false;
      }
      if (rearm) break;
      pending.erase(0, start);
      if (pending.size() > kMaxWatchMessage) co_return unavailable("watch message too large");
      if (piece->last) co_return unavailable("watch stream ended");
    }
    conn->cancel();
  }
}

// ------------------------------------------------------------ EtcdStore

core::Result<std::unique_ptr<EtcdStore>> EtcdStore::create(net::Executor ex, EtcdOptions opts) {
  if (opts.hosts.empty()) return core::config_error("etcd.host: at least one host is required");
  std::vector<HttpTarget> targets;
  for (const std::string& h : opts.hosts) {
    auto t = parse_http_url(h);
    if (!t) return t.error();
    targets.push_back(std::move(*t));
  }
  if (opts.timeout.count() <= 0) return core::config_error("etcd.timeout: must be positive");
  if (opts.watch_timeout.count() <= 0) {
    return core::config_error("etcd.watch_timeout: must be positive");
  }
  if (opts.user.empty() && !opts.password.empty()) {
    return core::config_error("etcd.password: set without etcd.user");
  }
  auto impl = std::make_shared<Impl>(ex, std::move(opts), std::move(targets));
  return std::unique_ptr<EtcdStore>(new EtcdStore(std::move(impl)));
}

EtcdStore::~EtcdStore() { impl_->close(); }

std::string EtcdStore::describe() const { return impl_->describe(); }

void EtcdStore::close() { impl_->close(); }

// Each forwarder keeps the Impl alive for as long as its operation runs.
net::Task<core::Result<RangeResult>> EtcdStore::range(std::string prefix) {
  auto impl = impl_;
  co_return co_await impl->range(std::move(prefix));
}

net::Task<core::Result<std::optional<KeyValue>>> EtcdStore::get(std::string key) {
  auto impl = impl_;
  co_return co_await impl->get(std::move(key));
}

net::Task<core::Result<PutResult>> EtcdStore::put(std::string key, std::string value, Expect expect,
                                                  std::chrono::seconds ttl) {
  auto impl = impl_;
  co_return co_await impl->put(std::move(key), std::move(value), expect, ttl);
}

net::Task<core::Result<DeleteResult>> EtcdStore::remove(std::string key, bool with_children) {
  auto impl = impl_;
  co_return co_await impl->remove(std::move(key), with_children);
}

net::Task<core::Status> EtcdStore::watch(std::string prefix, int64_t after,
                                         WatchHandler on_events) {
  auto impl = impl_;
  co_return co_await impl->watch(std::move(prefix), after, std::move(on_events));
}

}  // namespace torii::store
