// A Redis client for the data path: RESP2 over net::TcpSocket on one
// worker's io_context, with hiredis used only as the reply parser
// (redisReader). No blocking calls, no exceptions, no threads.
//
// Model. A Client talks to one Redis server with one set of credentials and
// belongs to one worker: it is created on first use by client_for() and
// lives as long as that worker's io_context. It keeps a few connections
// (Options::max_connections) and pipelines commands on them: a command is
// appended to a connection's output buffer and its reply is matched by
// order (Redis answers in order). A connection is opened lazily when every
// open one is busy; AUTH and SELECT are queued ahead of the first command,
// so a new connection costs no extra round trip. A connection that fails
// (reset, EOF, protocol error, a command timing out, AUTH refused) is
// closed, its pending commands fail, and the next command opens a new one:
// a Redis restart costs at most the commands that were in flight.
//
// Timeouts. Every command has one deadline, Options::timeout after it was
// issued, covering the connect (for a new connection), the write and the
// reply. A command that misses it gets kTimeout and its connection is
// closed (the reply may still come and would desynchronise the pipeline),
// as lua-resty-redis does.
//
// Threading: a Client and everything it returns belong to its worker's
// thread; call it only from coroutines running on that io_context.
#pragma once

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "net/io.h"

namespace torii::net::redis {

// One RESP2 reply.
struct Reply {
  enum class Type : uint8_t {
    kString,   // bulk string: `str`
    kArray,    // `elements`
    kInteger,  // `integer`
    kNil,      // nil bulk string or nil array
    kStatus,   // simple string ("OK", "QUEUED"): `str`
    kError,    // error reply ("ERR ...", "NOSCRIPT ..."): `str`
  };
  Type type = Type::kNil;
  int64_t integer = 0;
  std::string str;
  std::vector<Reply> elements;

  bool is_error() const { return type == Type::kError; }
};

struct Options {
  std::string host = "127.0.0.1";  // an IP literal or a name (resolved per connect)
  uint16_t port = 6379;
  std::string username;  // with a password: AUTH <username> <password> (Redis 6 ACL)
  std::string password;  // non-empty: AUTH on each new connection
  int64_t database = 0;  // non-zero: SELECT on each new connection
  std::chrono::milliseconds timeout{1000};  // per command, connect included
  // A connection unused this long is closed when the client is next used.
  std::chrono::milliseconds keepalive_timeout{10000};
  size_t max_connections = 4;  // per worker (>= 1)

  // Identity of the client in a worker's table: two Options with the same
  // key share a Client (and its connections).
  std::string table_key() const;
  // "host:port", for error messages.
  std::string peer() const;
};

// A Lua script run with EVALSHA, falling back to EVAL when Redis does not
// know it yet (NOSCRIPT): the body crosses the wire once per server restart.
class Script {
 public:
  explicit Script(std::string body);
  const std::string& body() const { return body_; }
  const std::string& sha1() const { return sha1_; }  // lower-case hex

 private:
  std::string body_;
  std::string sha1_;
};

class Connection;
// What a reply to a connection's opening command means on error.
enum class Handshake : uint8_t { kNone, kAuth, kSelect };

class Client {
 public:
  // Prefer client_for(); a Client made directly must be destroyed before
  // its io_context, and must not be destroyed while its commands are in
  // flight (close() first).
  Client(Executor ex, Options options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Sends one command. Returns the reply (a Redis error reply is a reply of
  // type kError, not an Error) or an Error with source kUpstream:
  //   kUnavailable  cannot connect, connection lost, AUTH or SELECT refused,
  //                 or the client was closed;
  //   kTimeout      no reply within Options::timeout;
  //   kBadResponse  the server sent something that is not RESP.
  // The arguments are encoded before this returns: they need not outlive it.
  Task<core::Result<Reply>> command(std::initializer_list<std::string_view> args);
  // `asking`: send ASKING first on the same connection (the answer to a
  // cluster ASK redirection); its reply is dropped.
  Task<core::Result<Reply>> command(const std::vector<std::string>& args, bool asking = false);

  // EVALSHA <sha> <#keys> keys... args..., then EVAL once on NOSCRIPT.
  // `script` must outlive the returned task (use a static Script).
  Task<core::Result<Reply>> eval(const Script& script, std::initializer_list<std::string_view> keys,
                                 std::initializer_list<std::string_view> args);
  Task<core::Result<Reply>> eval(const Script& script, const std::vector<std::string>& keys,
                                 const std::vector<std::string>& args, bool asking);

  // Closes every connection; pending commands fail with kUnavailable.
  void close();

  const Options& options() const { return options_; }
  Executor executor() const { return ex_; }
  // Connections currently open or opening (for tests and stats).
  size_t open_connections() const;

 private:
  // Coroutines take their arguments by value (the caller's temporaries are
  // gone after the first suspension).
  // `encoded` holds `discard` commands whose replies are dropped, then the
  // one whose reply is returned; all go on one connection.
  Task<core::Result<Reply>> send(std::string encoded, size_t discard = 0);
  Task<core::Result<Reply>> send_eval(const Script* script, size_t argc, std::string tail,
                                      bool asking);
  std::shared_ptr<Connection> acquire();

  Executor ex_;
  Options options_;
  std::string handshake_;  // AUTH/SELECT bytes queued on every new connection
  std::vector<Handshake> handshake_replies_;
  std::vector<std::shared_ptr<Connection>> connections_;
};

// The Client for `options` on the worker whose io_context runs `ex`, created
// on first use and destroyed with that io_context. Call only on that
// worker's thread. The reference stays valid until the io_context is
// destroyed.
Client& client_for(Executor ex, const Options& options);
// The same with `options.table_key()` computed once by the caller (the
// per-request path).
Client& client_for(Executor ex, const Options& options, std::string_view table_key);

// RESP encoding of one command, appended to `out` (exposed for tests).
void encode_command(std::string& out, std::initializer_list<std::string_view> args);

}  // namespace torii::net::redis
