// Redis client: connections, pipelining, timeouts, the per-worker table.
// See redis_client.h for the model.
#include "net/redis_client.h"

#include "net/draining_read.h"
#include "net/per_worker_table.h"
#include "net/resolve.h"

#include <hiredis/hiredis.h>
#include <hiredis/read.h>
#include <openssl/evp.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/write.hpp>
#include <charconv>
#include <deque>
#include <functional>
#include <new>
#include <utility>

namespace torii::net::redis {

namespace {

using Clock = std::chrono::steady_clock;

// Limits on what a server may make us hold. The unparsed bytes bound a
// reply's strings; its elements are bounded for the whole reply tree, since
// hiredis sizes each array as its header arrives: seven nested headers of
// 2^20 elements (70 bytes) made one connection hold over 500 MB.
constexpr size_t kMaxUnparsedBytes = 64u << 20;
constexpr int kMaxArrayElements = 1 << 20;
constexpr size_t kMaxReplyElements = 1 << 20;

// The elements of the reply being parsed (the reader's privdata).
struct ReplyBudget {
  size_t elements = 0;
};
constexpr size_t kReadChunk = 16 * 1024;
constexpr std::string_view kAsking = "*1\r\n$6\r\nASKING\r\n";

core::Error upstream_error(core::ErrorKind kind, std::string message) {
  const bool retryable = kind == core::ErrorKind::kUnavailable;
  return core::Error{kind, core::ErrorSource::kUpstream, retryable, std::move(message)};
}

// ---- hiredis reader functions building our Reply tree directly ----
// hiredis hands each object its parent's object; children live inside the
// parent's `elements` (sized once, so the pointers are stable) and only the
// root is heap-allocated and ever passed to free_object.

Reply* reply_slot(const redisReadTask* task) {
  if (task->parent != nullptr) {
    auto* parent = static_cast<Reply*>(task->parent->obj);
    return &parent->elements[static_cast<size_t>(task->idx)];
  }
  return new (std::nothrow) Reply;
}

void* create_string(const redisReadTask* task, char* str, size_t len) {
  try {
    Reply* r = reply_slot(task);
    if (r == nullptr) return nullptr;
    switch (task->type) {
      case REDIS_REPLY_ERROR:
        r->type = Reply::Type::kError;
        break;
      case REDIS_REPLY_STATUS:
        r->type = Reply::Type::kStatus;
        break;
      default:
        r->type = Reply::Type::kString;
        break;
    }
    r->str.assign(str, len);
    return r;
  } catch (...) {
    return nullptr;  // hiredis reports "Out of memory"
  }
}

void* create_array(const redisReadTask* task, int elements) {
  if (elements < 0 || elements > kMaxArrayElements) return nullptr;
  if (auto* budget = static_cast<ReplyBudget*>(task->privdata)) {
    if (task->parent == nullptr) budget->elements = 0;  // a new reply
    budget->elements += static_cast<size_t>(elements);
    if (budget->elements > kMaxReplyElements) return nullptr;  // "Out of memory": fails the connection
  }
  try {
    Reply* r = reply_slot(task);
    if (r == nullptr) return nullptr;
    r->type = Reply::Type::kArray;
    r->elements.resize(static_cast<size_t>(elements));
    return r;
  } catch (...) {
    return nullptr;
  }
}

void* create_integer(const redisReadTask* task, long long value) {
  Reply* r = reply_slot(task);
  if (r == nullptr) return nullptr;
  r->type = Reply::Type::kInteger;
  r->integer = value;
  return r;
}

void* create_nil(const redisReadTask* task) {
  Reply* r = reply_slot(task);
  if (r == nullptr) return nullptr;
  r->type = Reply::Type::kNil;
  return r;
}

void free_object(void* obj) { delete static_cast<Reply*>(obj); }

redisReplyObjectFunctions kReplyFunctions = {create_string, create_array, create_integer,
                                             create_nil, free_object};

void append_bulk(std::string& out, std::string_view s) {
  char digits[24];
  auto [end, ec] = std::to_chars(digits, digits + sizeof digits, s.size());
  out += '$';
  out.append(digits, end);
  out += "\r\n";
  out += s;
  out += "\r\n";
}

void append_count(std::string& out, char tag, size_t n) {
  char digits[24];
  auto [end, ec] = std::to_chars(digits, digits + sizeof digits, n);
  out += tag;
  out.append(digits, end);
  out += "\r\n";
}

std::string sha1_hex(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha1(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(len * 2);
  for (unsigned i = 0; i < len; ++i) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 15];
  }
  return out;
}

}  // namespace

void encode_command(std::string& out, std::initializer_list<std::string_view> args) {
  append_count(out, '*', args.size());
  for (std::string_view a : args) append_bulk(out, a);
}

std::string Options::table_key() const {
  std::string k;
  k.reserve(host.size() + username.size() + password.size() + 48);
  k += host;
  k += '\0';
  k += std::to_string(port);
  k += '\0';
  k += username;
  k += '\0';
  k += password;
  k += '\0';
  k += std::to_string(database);
  k += '\0';
  k += std::to_string(timeout.count());
  k += '\0';
  k += std::to_string(keepalive_timeout.count());
  k += '\0';
  k += std::to_string(max_connections);
  return k;
}

std::string Options::peer() const {
  // IPv6 literals in brackets, as in a URL.
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

Script::Script(std::string body) : body_(std::move(body)), sha1_(sha1_hex(body_)) {}

// ---- one connection ----

// A command waiting for its reply. Lives in the issuing coroutine's frame;
// the connection completes it (result, done, cancel the waiter) or, when the
// issuer gave up, the issuer detaches it (the queue entry's call is nulled).
struct Call {
  core::Result<Reply> result{Reply{}};
  Timer* waiter = nullptr;
  bool done = false;
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(Executor ex, const Options& options)
      : ex_(ex),
        host_(options.host),
        port_(options.port),
        peer_(options.peer()),
        timeout_(options.timeout),
        socket_(ex),
        wake_(ex),
        reader_(redisReaderCreateWithFunctions(&kReplyFunctions)),
        read_buf_(new char[kReadChunk]),
        last_used_(Clock::now()) {
    if (reader_ != nullptr) reader_->privdata = &budget_;  // hiredis 0.14's macro casts to int
  }

  ~Connection() {
    if (reader_ != nullptr) redisReaderFree(reader_);
  }

  // Queues the AUTH/SELECT bytes (whose replies `handshake` lists, in
  // order) and starts connecting. Commands go out only once every one of
  // them succeeded: sent in the same write, Redis would run a command after
  // a failed AUTH or SELECT (in the wrong database, or unauthenticated).
  void start(const std::string& bytes, const std::vector<Handshake>& handshake) {
    if (reader_ == nullptr) {
      fail(upstream_error(core::ErrorKind::kUnavailable, "redis " + peer_ + ": out of memory"));
      return;
    }
    handshake_out_ = bytes;
    handshake_pending_ = handshake.size();
    for (Handshake h : handshake) queue_.push_back(Entry{nullptr, h});
    boost::asio::co_spawn(ex_, run(shared_from_this()), boost::asio::detached);
  }

  // Queues `bytes`: `discard` commands whose replies are dropped, then the
  // one `call` waits for.
  void enqueue(std::string_view bytes, Call* call, size_t discard) {
    if (state_ == State::kBroken) {
      call->result = broken_error_;
      call->done = true;
      return;
    }
    out_ += bytes;
    for (size_t i = 0; i < discard; ++i) queue_.push_back(Entry{nullptr, Handshake::kNone});
    queue_.push_back(Entry{call, Handshake::kNone});
    last_used_ = Clock::now();
    if (writer_idle_) wake_.cancel();
  }

  // The issuer of `call` stopped waiting (cancelled): its reply, when it
  // comes, is read and dropped.
  void detach(Call* call) {
    for (Entry& e : queue_) {
      if (e.call == call) e.call = nullptr;
    }
  }

  // Closes the connection and fails every pending command with `error`.
  void fail(const core::Error& error) {
    if (state_ == State::kBroken) return;
    state_ = State::kBroken;
    broken_error_ = error;
    boost::system::error_code ignored;
    socket_.close(ignored);
    wake_.cancel();
    std::deque<Entry> pending;
    pending.swap(queue_);
    for (Entry& e : pending) {
      if (e.call == nullptr) continue;
      e.call->result = error;
      complete(e.call);
    }
  }

  bool broken() const { return state_ == State::kBroken; }
  size_t in_flight() const { return queue_.size(); }
  Clock::time_point last_used() const { return last_used_; }
  const std::string& peer() const { return peer_; }

 private:
  enum class State : uint8_t { kConnecting, kOpen, kBroken };
  struct Entry {
    Call* call;           // null: a handshake reply, or an abandoned command
    Handshake handshake;  // AUTH / SELECT: an error reply fails the connection
  };

  static void complete(Call* call) {
    call->done = true;
    if (call->waiter != nullptr) call->waiter->cancel();
  }

  core::Error io_error(std::string_view what, const boost::system::error_code& ec) const {
    std::string msg = "redis " + peer_ + ": ";
    if (ec == boost::asio::error::eof) {
      msg += "connection closed by the server";
    } else {
      msg += std::string(what);
      msg += ec.message();
    }
    return upstream_error(core::ErrorKind::kUnavailable, std::move(msg));
  }

  static Task<void> run(std::shared_ptr<Connection> self) { co_await self->connect_and_write(); }

  Task<void> connect_and_write() {
    std::vector<boost::asio::ip::tcp::endpoint> endpoints;
    boost::system::error_code ec;
    const auto addr = boost::asio::ip::make_address(host_, ec);
    if (!ec) {
      endpoints.emplace_back(addr, port_);
    } else {
      // The commands waiting give up at their own timeout (Client::send),
      // which breaks this connection; the lookup stops waiting then too.
      Resolved r = co_await resolve_before(ex_, host_, std::to_string(port_),
                                           Clock::now() + timeout_);
      if (state_ == State::kBroken) co_return;
      if (r.timed_out || r.error) {
        fail(r.timed_out ? upstream_error(core::ErrorKind::kTimeout,
                                          "redis " + peer_ + ": cannot resolve: timed out")
                         : io_error("cannot resolve: ", r.error));
        co_return;
      }
      endpoints = std::move(r.endpoints);
    }
    if (state_ == State::kBroken) co_return;
    auto [cec, ep] = co_await boost::asio::async_connect(socket_, endpoints, kNoThrow);
    if (state_ == State::kBroken) co_return;
    if (cec) {
      fail(io_error("", cec));
      co_return;
    }
    socket_.set_option(boost::asio::ip::tcp::no_delay(true), ec);
    enable_drain_hint(socket_.native_handle());
    state_ = State::kOpen;
    boost::asio::co_spawn(ex_, read_loop(shared_from_this()), boost::asio::detached);

    if (!handshake_out_.empty()) {
      auto [hec, hn] =
          co_await boost::asio::async_write(socket_, boost::asio::buffer(handshake_out_), kNoThrow);
      if (state_ == State::kBroken) co_return;
      if (hec) {
        fail(io_error("write: ", hec));
        co_return;
      }
    }
    while (state_ == State::kOpen) {
      if (out_.empty() || handshake_pending_ > 0) {
        writer_idle_ = true;
        wake_.expires_at(Timer::time_point::max());
        co_await wake_.async_wait(kNoThrow);
        writer_idle_ = false;
        continue;
      }
      sending_.swap(out_);
      auto [wec, n] =
          co_await boost::asio::async_write(socket_, boost::asio::buffer(sending_), kNoThrow);
      sending_.clear();
      if (state_ == State::kBroken) co_return;
      if (wec) {
        fail(io_error("write: ", wec));
        co_return;
      }
    }
  }

  static Task<void> read_loop(std::shared_ptr<Connection> self) { co_await self->read_replies(); }

  Task<void> read_replies() {
    while (state_ == State::kOpen) {
      auto [ec, n] =
          co_await socket_.async_read_some(draining_buffer(read_buf_.get(), kReadChunk), kNoThrow);
      if (state_ == State::kBroken) co_return;
      if (ec) {
        fail(io_error("read: ", ec));
        co_return;
      }
      if (redisReaderFeed(reader_, read_buf_.get(), n) != REDIS_OK) {
        fail(upstream_error(core::ErrorKind::kBadResponse,
                            "redis " + peer_ + ": " + redisReaderGetError(reader_)));
        co_return;
      }
      for (;;) {
        void* obj = nullptr;
        if (redisReaderGetReply(reader_, &obj) != REDIS_OK) {
          fail(upstream_error(core::ErrorKind::kBadResponse,
                              "redis " + peer_ + ": bad reply: " + redisReaderGetError(reader_)));
          co_return;
        }
        if (obj == nullptr) break;
        std::unique_ptr<Reply> reply(static_cast<Reply*>(obj));
        deliver(std::move(*reply));
        if (state_ == State::kBroken) co_return;
      }
      if (reader_->len - reader_->pos > kMaxUnparsedBytes) {
        fail(upstream_error(core::ErrorKind::kBadResponse,
                            "redis " + peer_ + ": reply larger than the limit"));
        co_return;
      }
    }
  }

  void deliver(Reply&& reply) {
    if (queue_.empty()) {
      fail(upstream_error(core::ErrorKind::kBadResponse,
                          "redis " + peer_ + ": reply without a command"));
      return;
    }
    Entry e = queue_.front();
    queue_.pop_front();
    if (e.handshake != Handshake::kNone) {
      if (reply.is_error()) {
        // APISIX's words (apisix/utils/redis.lua) after the peer.
        std::string msg = "redis " + peer_ + ": ";
        if (e.handshake == Handshake::kSelect) msg += "failed to change redis db, err: ";
        msg += reply.str;
        fail(upstream_error(core::ErrorKind::kUnavailable, std::move(msg)));
        return;
      }
      if (--handshake_pending_ == 0 && writer_idle_) wake_.cancel();  // commands may go now
      return;
    }
    if (e.call == nullptr) return;  // abandoned
    e.call->result = std::move(reply);
    complete(e.call);
  }

  Executor ex_;
  std::string host_;
  uint16_t port_;
  std::string peer_;
  std::chrono::milliseconds timeout_;  // a lookup gives up after the command timeout
  TcpSocket socket_;
  Timer wake_;  // the writer sleeps on it while there is nothing to send
  redisReader* reader_;
  ReplyBudget budget_;  // the reader's privdata
  std::unique_ptr<char[]> read_buf_;
  std::string handshake_out_;    // AUTH / SELECT, written first and alone
  size_t handshake_pending_ = 0;  // their replies not read yet: commands wait
  std::string out_;      // bytes queued for the next write
  std::string sending_;  // bytes of the write in progress
  std::deque<Entry> queue_;
  State state_ = State::kConnecting;
  bool writer_idle_ = false;
  core::Error broken_error_;
  Clock::time_point last_used_;
};

// ---- Client ----

Client::Client(Executor ex, Options options) : ex_(ex), options_(std::move(options)) {
  if (options_.max_connections == 0) options_.max_connections = 1;
  if (!options_.password.empty()) {
    if (!options_.username.empty()) {
      encode_command(handshake_, {"AUTH", options_.username, options_.password});
    } else {
      encode_command(handshake_, {"AUTH", options_.password});
    }
    handshake_replies_.push_back(Handshake::kAuth);
  }
  if (options_.database != 0) {
    encode_command(handshake_, {"SELECT", std::to_string(options_.database)});
    handshake_replies_.push_back(Handshake::kSelect);
  }
}

Client::~Client() { close(); }

void Client::close() {
  auto conns = std::move(connections_);
  connections_.clear();
  for (auto& c : conns) {
    c->fail(upstream_error(core::ErrorKind::kUnavailable,
                           "redis " + options_.peer() + ": client closed"));
  }
}

size_t Client::open_connections() const {
  return static_cast<size_t>(std::count_if(connections_.begin(), connections_.end(),
                                           [](const auto& c) { return !c->broken(); }));
}

std::shared_ptr<Connection> Client::acquire() {
  const auto now = Clock::now();
  std::erase_if(connections_, [&](const std::shared_ptr<Connection>& c) {
    if (c->broken()) return true;
    if (c->in_flight() == 0 && now - c->last_used() > options_.keepalive_timeout) {
      c->fail(upstream_error(core::ErrorKind::kUnavailable, "redis " + c->peer() + ": idle"));
      return true;
    }
    return false;
  });
  const std::shared_ptr<Connection>* best = nullptr;
  for (auto& c : connections_) {
    if (best == nullptr || c->in_flight() < (*best)->in_flight()) best = &c;
  }
  if (best == nullptr ||
      ((*best)->in_flight() > 0 && connections_.size() < options_.max_connections)) {
    auto c = std::make_shared<Connection>(ex_, options_);
    connections_.push_back(c);
    c->start(handshake_, handshake_replies_);
    return c;
  }
  return *best;
}

Task<core::Result<Reply>> Client::command(std::initializer_list<std::string_view> args) {
  std::string encoded;
  encode_command(encoded, args);
  return send(std::move(encoded));
}

Task<core::Result<Reply>> Client::command(const std::vector<std::string>& args, bool asking) {
  std::string encoded;
  if (asking) encoded = kAsking;
  append_count(encoded, '*', args.size());
  for (const auto& a : args) append_bulk(encoded, a);
  return send(std::move(encoded), asking ? 1 : 0);
}

Task<core::Result<Reply>> Client::eval(const Script& script,
                                       std::initializer_list<std::string_view> keys,
                                       std::initializer_list<std::string_view> args) {
  // Everything after the script (#keys, keys, args), shared by the EVALSHA
  // and the EVAL form.
  std::string tail;
  append_bulk(tail, std::to_string(keys.size()));
  for (std::string_view k : keys) append_bulk(tail, k);
  for (std::string_view a : args) append_bulk(tail, a);
  return send_eval(&script, 3 + keys.size() + args.size(), std::move(tail), false);
}

Task<core::Result<Reply>> Client::eval(const Script& script, const std::vector<std::string>& keys,
                                       const std::vector<std::string>& args, bool asking) {
  std::string tail;
  append_bulk(tail, std::to_string(keys.size()));
  for (const auto& k : keys) append_bulk(tail, k);
  for (const auto& a : args) append_bulk(tail, a);
  return send_eval(&script, 3 + keys.size() + args.size(), std::move(tail), asking);
}

Task<core::Result<Reply>> Client::send_eval(const Script* script, size_t argc, std::string tail,
                                            bool asking) {
  const size_t discard = asking ? 1 : 0;
  std::string cmd;
  cmd.reserve(tail.size() + 80);
  if (asking) cmd = kAsking;
  append_count(cmd, '*', argc);
  append_bulk(cmd, "EVALSHA");
  append_bulk(cmd, script->sha1());
  cmd += tail;
  // Tasks are made before co_await: GCC 12 mishandles temporaries with
  // destructors (here the by-value string) inside a co_await expression.
  auto first = send(std::move(cmd), discard);
  core::Result<Reply> r = co_await std::move(first);
  if (r.ok() && r->is_error() && r->str.starts_with("NOSCRIPT")) {
    std::string full;
    full.reserve(tail.size() + script->body().size() + 64);
    if (asking) full = kAsking;
    append_count(full, '*', argc);
    append_bulk(full, "EVAL");
    append_bulk(full, script->body());
    full += tail;
    auto second = send(std::move(full), discard);
    r = co_await std::move(second);
  }
  co_return r;
}

Task<core::Result<Reply>> Client::send(std::string encoded, size_t discard) {
  std::shared_ptr<Connection> conn = acquire();
  Call call;
  Timer timer(ex_);
  timer.expires_after(options_.timeout);
  call.waiter = &timer;
  conn->enqueue(encoded, &call, discard);
  if (!call.done) {
    auto [ec] = co_await timer.async_wait(kNoThrow);
    if (!call.done) {
      if (ec == boost::asio::error::operation_aborted) {
        // Cancelled from outside: drop the reply when it comes.
        conn->detach(&call);
        co_return upstream_error(core::ErrorKind::kUnavailable,
                                 "redis " + options_.peer() + ": command cancelled");
      }
      conn->fail(upstream_error(core::ErrorKind::kTimeout,
                                "redis " + options_.peer() + ": timeout after " +
                                    std::to_string(options_.timeout.count()) + " ms"));
    }
  }
  co_return std::move(call.result);
}

Client& client_for(Executor ex, const Options& options, std::string_view table_key) {
  return per_worker<Client>(ex, options, table_key);
}

Client& client_for(Executor ex, const Options& options) {
  return client_for(ex, options, options.table_key());
}

}  // namespace torii::net::redis
