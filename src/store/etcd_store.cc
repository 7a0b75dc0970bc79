#include "store/etcd_store.h"

#include <algorithm>
#include <boost/json.hpp>
#include <optional>
#include <string_view>
#include <utility>

#include "store/etcd_json.h"
#include "store/http_client.h"

namespace torii::store {
namespace {

namespace json = boost::json;
using core::Error;
using core::ErrorKind;
using core::ErrorSource;
using etcd::unavailable;

constexpr size_t kMaxReply = size_t{128} << 20;        // a range of a large config
constexpr size_t kMaxWatchMessage = size_t{64} << 20;  // one watch response
constexpr size_t kMaxErrorBody = size_t{1} << 20;
constexpr size_t kMaxIdle = 4;
constexpr std::chrono::milliseconds kMinConnectTimeout{200};

// Connection-level errors as the store reports them: timeouts stay
// timeouts, everything else is "cannot reach etcd".
Error from_http(const Error& e) {
  if (e.kind == ErrorKind::kTimeout) {
    return Error{ErrorKind::kTimeout, ErrorSource::kUpstream, true, "etcd " + e.message};
  }
  return Error{ErrorKind::kUnavailable, ErrorSource::kUpstream, true, "etcd " + e.message};
}

Error closed_error() { return unavailable("store closed"); }

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
  auto token = etcd::decode_token(reply->status, reply->body, opts_.user);
  if (!token) co_return token.error();
  token_ = std::move(*token);
  co_return core::ok_status();
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
    etcd::Answer answer = etcd::decode_answer(reply->status, reply->body, path);
    if (answer.doc) co_return std::move(*answer.doc);
    etcd::GatewayError& g = answer.failure;
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
  co_return etcd::decode_lease(doc->get_object());
}

net::Task<core::Result<RangeResult>> EtcdStore::Impl::range(std::string prefix) {
  json::object b{{"key", etcd::b64_encode(prefix)},
                 {"range_end", etcd::b64_encode(etcd::prefix_end(prefix))}};
  auto doc = co_await call("/v3/kv/range", json::serialize(b), true);
  if (!doc) co_return doc.error();
  co_return etcd::decode_range(doc->get_object());
}

net::Task<core::Result<std::optional<KeyValue>>> EtcdStore::Impl::get(std::string key) {
  json::object b{{"key", etcd::b64_encode(key)}};
  auto doc = co_await call("/v3/kv/range", json::serialize(b), true);
  if (!doc) co_return doc.error();
  co_return etcd::decode_get(doc->get_object());
}

net::Task<core::Result<PutResult>> EtcdStore::Impl::put(std::string key, std::string value,
                                                        Expect expect, std::chrono::seconds ttl) {
  if (closed_) co_return closed_error();
  json::object req{
      {"key", etcd::b64_encode(key)}, {"value", etcd::b64_encode(value)}, {"prev_kv", true}};
  if (ttl.count() > 0) {
    auto lease = co_await grant_lease(ttl);
    if (!lease) co_return lease.error();
    req["lease"] = *lease;
  }

  core::Result<json::value> doc = unavailable("unreachable");
  if (expect.kind == Expect::Kind::kAny) {
    doc = co_await call("/v3/kv/put", json::serialize(req), false);
    if (!doc) co_return doc.error();
  } else {
    json::object cmp{{"key", etcd::b64_encode(key)}, {"result", "EQUAL"}};
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
  }
  co_return etcd::decode_put(doc->get_object(), std::move(key), std::move(value), expect);
}

net::Task<core::Result<DeleteResult>> EtcdStore::Impl::remove(std::string key, bool with_children) {
  if (!with_children) {
    json::object b{{"key", etcd::b64_encode(key)}};
    auto doc = co_await call("/v3/kv/deleterange", json::serialize(b), false);
    if (!doc) co_return doc.error();
    co_return etcd::decode_delete(doc->get_object(), false);
  }
  // One txn, so the key and its children go in one revision.
  const std::string children = key + "/";
  json::array ops{
      json::object{{"request_delete_range", json::object{{"key", etcd::b64_encode(key)}}}},
      json::object{{"request_delete_range",
                    json::object{{"key", etcd::b64_encode(children)},
                                 {"range_end", etcd::b64_encode(etcd::prefix_end(children))}}}}};
  json::object txn{{"success", std::move(ops)}};
  auto doc = co_await call("/v3/kv/txn", json::serialize(txn), false);
  if (!doc) co_return doc.error();
  co_return etcd::decode_delete(doc->get_object(), true);
}

// One message of the watch stream. `last` is the revision the watcher is
// known to be complete up to; `detail` explains a kCompacted / error.
core::Result<EtcdStore::Impl::Step> EtcdStore::Impl::on_watch_message(std::string_view line,
                                                                      const WatchHandler& on_events,
                                                                      int64_t& last,
                                                                      std::string& detail) {
  std::vector<WatchEvent> events;
  auto step = etcd::decode_watch_message(line, auth_enabled(), last, detail, events);
  if (!step) return step.error();
  switch (*step) {
    case etcd::WatchStep::kContinue:
      return Step::kContinue;
    case etcd::WatchStep::kAuthAgain:
      return Step::kAuthAgain;
    case etcd::WatchStep::kCompacted:
      return Step::kCompacted;
    case etcd::WatchStep::kEvents:
      break;
  }
  if (!events.empty()) on_events(events, last);
  return closed_ ? Step::kStop : Step::kContinue;
}

net::Task<core::Status> EtcdStore::Impl::watch(std::string prefix, int64_t after,
                                               WatchHandler on_events) {
  int64_t last = after;
  bool auth_retried = false;
  const std::string key = etcd::b64_encode(prefix);
  const std::string end = etcd::b64_encode(etcd::prefix_end(prefix));
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
      etcd::GatewayError g = etcd::gateway_error(ec ? nullptr : &doc, *status, "/v3/watch");
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
