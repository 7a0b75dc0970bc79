// The Redis client against a real redis-server: commands and reply types,
// scripts, AUTH/SELECT, errors, timeouts, reconnecting after a restart,
// and many coroutines sharing a few pipelined connections.
#include "net/redis_client.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <optional>
#include <set>
#include <thread>

#include "harness.h"
#include "redis_process.h"

namespace torii::net::redis {
namespace {

using testing::RedisProcess;
using Result = core::Result<Reply>;
using std::chrono::milliseconds;

// co_spawn's completion: an exception escaping a test coroutine fails the
// test (boost::asio::detached would swallow it).
constexpr auto kRethrow = [](std::exception_ptr e) {
  if (e) std::rethrow_exception(e);
};

// Runs `task` and hands its result to `done` (co_spawn's own completion
// handler needs a default-constructible result, which Result is not).
template <class T, class F>
Task<void> then(Task<T> task, F done) {
  done(co_await std::move(task));
}

// Runs `task` on `io` until it completes (the client's connections keep the
// loop busy forever, so run() would not return).
template <class T>
T run_task(boost::asio::io_context& io, Task<T> task) {
  std::optional<T> out;
  boost::asio::co_spawn(io, then(std::move(task), [&](T value) { out.emplace(std::move(value)); }),
                        kRethrow);
  io.restart();  // a loop that ran out of work earlier stays stopped until restarted
  while (!out && io.run_one() > 0) {
  }
  EXPECT_TRUE(out) << "the loop ran out of work before the task completed";
  if (!out) std::abort();
  return std::move(*out);
}

Options options_for(const RedisProcess& redis) {
  Options o;
  o.port = redis.port();
  return o;
}

Result cmd(boost::asio::io_context& io, Client& c, std::initializer_list<std::string_view> args) {
  return run_task(io, c.command(args));
}

class RedisClientTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    redis_ = new RedisProcess();
    redis_->start();
  }
  static void TearDownTestSuite() {
    delete redis_;
    redis_ = nullptr;
  }
  void SetUp() override { redis_->cli({"FLUSHALL"}); }
  static RedisProcess* redis_;
  boost::asio::io_context io_;
};
RedisProcess* RedisClientTest::redis_ = nullptr;

TEST(RedisEncoding, command_is_resp_array_of_bulk_strings) {
  std::string out;
  encode_command(out, {"SET", "k", ""});
  EXPECT_EQ(out, "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n");
}

TEST(RedisScript, sha1_is_lower_hex_of_the_body) {
  EXPECT_EQ(Script("return 1").sha1(), "e0e1f9fabfc9d4800c877a703b823ac0578ff8db");
}

TEST_F(RedisClientTest, replies_of_every_type) {
  Client c(io_.get_executor(), options_for(*redis_));
  Result r = cmd(io_, c, {"SET", "k", "v"});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->type, Reply::Type::kStatus);
  EXPECT_EQ(r->str, "OK");

  r = cmd(io_, c, {"GET", "k"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->type, Reply::Type::kString);
  EXPECT_EQ(r->str, "v");

  r = cmd(io_, c, {"GET", "missing"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->type, Reply::Type::kNil);

  r = cmd(io_, c, {"INCRBY", "n", "41"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->type, Reply::Type::kInteger);
  EXPECT_EQ(r->integer, 41);

  cmd(io_, c, {"RPUSH", "l", "a", "", "c"});
  r = cmd(io_, c, {"LRANGE", "l", "0", "-1"});
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->type, Reply::Type::kArray);
  ASSERT_EQ(r->elements.size(), 3u);
  EXPECT_EQ(r->elements[0].str, "a");
  EXPECT_EQ(r->elements[1].str, "");
  EXPECT_EQ(r->elements[2].str, "c");

  // An error reply is a reply, not a transport error; the connection stays.
  r = cmd(io_, c, {"INCR", "k"});
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->is_error());
  EXPECT_EQ(r->str, "ERR value is not an integer or out of range");
  r = cmd(io_, c, {"PING"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->str, "PONG");
  EXPECT_EQ(c.open_connections(), 1u);

  // A binary value larger than one read chunk.
  std::string big(300000, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 7);
  ASSERT_TRUE(cmd(io_, c, {"SET", "big", big}).ok());
  r = cmd(io_, c, {"GET", "big"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->str, big);

  std::vector<std::string> args = {"MGET", "k", "missing"};
  r = run_task(io_, c.command(args));
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->elements.size(), 2u);
  EXPECT_EQ(r->elements[0].str, "v");
  EXPECT_EQ(r->elements[1].type, Reply::Type::kNil);
}

TEST_F(RedisClientTest, eval_loads_the_script_once_and_after_a_flush) {
  static const Script kScript(
      "redis.call('incrby', KEYS[1], ARGV[1]) return {redis.call('get', KEYS[1]), ARGV[2]}");
  Client c(io_.get_executor(), options_for(*redis_));
  redis_->cli({"SCRIPT", "FLUSH"});
  Result r = run_task(io_, c.eval(kScript, {"counter"}, {"5", "x"}));
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->type, Reply::Type::kArray);
  EXPECT_EQ(r->elements[0].str, "5");
  EXPECT_EQ(r->elements[1].str, "x");
  EXPECT_EQ(redis_->cli({"SCRIPT", "EXISTS", kScript.sha1()}), "1");

  r = run_task(io_, c.eval(kScript, {"counter"}, {"2", "y"}));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->elements[0].str, "7");

  redis_->cli({"SCRIPT", "FLUSH"});
  r = run_task(io_, c.eval(kScript, {"counter"}, {"1", "z"}));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->elements[0].str, "8");

  // A script error is an error reply.
  static const Script kBad("return redis.call('nosuchcommand')");
  r = run_task(io_, c.eval(kBad, {}, {}));
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->is_error()) << r->str;
}

TEST_F(RedisClientTest, select_uses_the_configured_database) {
  Options o = options_for(*redis_);
  o.database = 3;
  Client c(io_.get_executor(), o);
  ASSERT_TRUE(cmd(io_, c, {"SET", "dbkey", "in3"}).ok());
  EXPECT_EQ(redis_->cli({"GET", "dbkey"}, 3), "in3");
  EXPECT_EQ(redis_->cli({"EXISTS", "dbkey"}, 0), "0");
}

TEST_F(RedisClientTest, select_of_a_missing_database_fails_the_command) {
  Options o = options_for(*redis_);
  o.database = 99;  // redis has 16 by default
  Client c(io_.get_executor(), o);
  Result r = cmd(io_, c, {"PING"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, core::ErrorKind::kUnavailable);
  EXPECT_NE(r.error().message.find("failed to change redis db, err: ERR DB index is out of range"),
            std::string::npos)
      << r.error().message;
}

TEST(RedisClientAuth, password_and_acl_user) {
  RedisProcess redis({"--requirepass", "s3cret"});
  redis.start();
  boost::asio::io_context io;

  Options o;
  o.port = redis.port();
  {
    Client none(io.get_executor(), o);
    Result r = cmd(io, none, {"PING"});
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(r->is_error());
    EXPECT_TRUE(r->str.starts_with("NOAUTH")) << r->str;
  }
  {
    o.password = "wrong";
    Client bad(io.get_executor(), o);
    Result r = cmd(io, bad, {"PING"});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().kind, core::ErrorKind::kUnavailable);
    EXPECT_EQ(r.error().source, core::ErrorSource::kUpstream);
    EXPECT_NE(r.error().message.find("WRONGPASS"), std::string::npos) << r.error().message;
    EXPECT_EQ(bad.open_connections(), 0u);
  }
  {
    o.password = "s3cret";
    Client good(io.get_executor(), o);
    Result r = cmd(io, good, {"PING"});
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->str, "PONG");
  }
  {
    EXPECT_EQ(redis.cli({"ACL", "SETUSER", "alice", "on", ">pw", "~*", "+@all"}), "OK");
    o.username = "alice";
    o.password = "pw";
    Client user(io.get_executor(), o);
    Result r = cmd(io, user, {"ACL", "WHOAMI"});
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->str, "alice");
  }
}

TEST(RedisClientErrors, connection_refused_names_the_peer) {
  boost::asio::io_context io;
  Options o;
  o.port = testing::free_port();
  Client c(io.get_executor(), o);
  Result r = cmd(io, c, {"PING"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, core::ErrorKind::kUnavailable);
  EXPECT_EQ(r.error().source, core::ErrorSource::kUpstream);
  EXPECT_TRUE(r.error().retryable);
  EXPECT_NE(r.error().message.find("redis 127.0.0.1:" + std::to_string(o.port) + ": "),
            std::string::npos)
      << r.error().message;
}

TEST(RedisClientErrors, unresolvable_host) {
  boost::asio::io_context io;
  Options o;
  o.host = "no-such-host.invalid";
  Client c(io.get_executor(), o);
  Result r = cmd(io, c, {"PING"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, core::ErrorKind::kUnavailable);
  EXPECT_NE(r.error().message.find("no-such-host.invalid"), std::string::npos);
}

// PING against a server that answers the first command with `reply`, then
// stays silent a second and closes.
Result ping_a_server_answering(const std::string& reply) {
  uint16_t port = 0;
  const int lfd = testing::listen_loopback(4, port);
  std::thread server([lfd, reply] {
    const int fd = ::accept(lfd, nullptr, nullptr);
    char buf[256];
    if (::read(fd, buf, sizeof buf) > 0) (void)!::write(fd, reply.data(), reply.size());
    ::sleep(1);
    ::close(fd);
  });
  boost::asio::io_context io;
  Options o;
  o.port = port;
  Client c(io.get_executor(), o);
  Result r = cmd(io, c, {"PING"});
  server.join();
  ::close(lfd);
  return r;
}

// A server that answers anything with bytes that are not RESP.
TEST(RedisClientErrors, garbage_reply_is_a_bad_response) {
  Result r = ping_a_server_answering("HTTP/1.1 400 Bad Request\r\n\r\n");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, core::ErrorKind::kBadResponse);
  EXPECT_NE(r.error().message.find("Protocol error"), std::string::npos) << r.error().message;
}

// A reply's elements are bounded for the whole tree: nested array headers
// of 2^20 elements each (70 bytes on the wire) made hiredis size a vector
// per level, over 500 MB for one connection. Now the connection fails on
// the second header.
TEST(RedisClientErrors, nested_huge_array_headers_fail_the_reply) {
  std::string nested;
  for (int i = 0; i < 7; ++i) nested += "*1048576\r\n";
  Result r = ping_a_server_answering(nested);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, core::ErrorKind::kBadResponse) << r.error().message;
}

TEST(RedisClientErrors, silent_server_times_out_within_the_deadline) {
  // Connects (the kernel accepts into the backlog) but never answers.
  uint16_t port = 0;
  const int lfd = testing::listen_loopback(4, port);
  boost::asio::io_context io;
  Options o;
  o.port = port;
  o.timeout = milliseconds(200);
  Client c(io.get_executor(), o);
  const auto t0 = std::chrono::steady_clock::now();
  Result r = cmd(io, c, {"PING"});
  const auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, core::ErrorKind::kTimeout);
  EXPECT_NE(r.error().message.find("timeout after 200 ms"), std::string::npos);
  EXPECT_GE(took, milliseconds(190));
  EXPECT_LT(took, milliseconds(1000));
  EXPECT_EQ(c.open_connections(), 0u);  // closed: a late reply would desynchronise it
  ::close(lfd);
}

TEST_F(RedisClientTest, paused_redis_times_out_then_the_client_recovers) {
  Options o = options_for(*redis_);
  o.timeout = milliseconds(150);
  Client c(io_.get_executor(), o);
  ASSERT_TRUE(cmd(io_, c, {"PING"}).ok());
  redis_->pause();
  Result r = cmd(io_, c, {"PING"});
  redis_->resume();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, core::ErrorKind::kTimeout);
  r = cmd(io_, c, {"PING"});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->str, "PONG");
}

TEST(RedisClientRestart, reconnects_after_redis_restarts) {
  RedisProcess redis;
  redis.start();
  boost::asio::io_context io;
  Options o;
  o.port = redis.port();
  Client c(io.get_executor(), o);
  ASSERT_TRUE(cmd(io, c, {"SET", "a", "1"}).ok());

  // Down: commands fail fast with kUnavailable.
  redis.stop();
  Result r = cmd(io, c, {"GET", "a"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, core::ErrorKind::kUnavailable);

  // Back: the next command connects again.
  redis.start();
  r = cmd(io, c, {"SET", "a", "2"});
  ASSERT_TRUE(r.ok()) << r.error().message;

  // A restart between two commands: the idle connection sees the close
  // while the loop runs, so the next command does not fail.
  redis.stop();
  redis.start();
  io.restart();
  io.run_for(milliseconds(100));
  r = cmd(io, c, {"GET", "a"});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->type, Reply::Type::kNil);  // nothing was saved
}

Task<std::pair<int, Result>> echo(Client& c, int i) {
  const std::string s = std::to_string(i);
  auto task = c.command({"ECHO", s});  // not inside co_await: GCC 12 and initializer lists
  Result r = co_await std::move(task);
  co_return std::pair<int, Result>{i, std::move(r)};
}

TEST_F(RedisClientTest, concurrent_commands_share_pipelined_connections) {
  Options o = options_for(*redis_);
  o.max_connections = 3;
  Client c(io_.get_executor(), o);
  constexpr int kN = 600;
  int done = 0;
  int mismatched = 0;
  for (int i = 0; i < kN; ++i) {
    boost::asio::co_spawn(
        io_,
        then(echo(c, i),
             [&](std::pair<int, Result> got) {
               ++done;
               if (!got.second.ok() || got.second->str != std::to_string(got.first)) {
                 ++mismatched;
               }
             }),
        kRethrow);
  }
  io_.restart();
  while (done < kN) io_.run_one();
  EXPECT_EQ(mismatched, 0);
  EXPECT_LE(c.open_connections(), 3u);
  EXPECT_GE(c.open_connections(), 1u);

  // INCR from many coroutines: every value exactly once.
  std::set<int64_t> seen;
  int incr_done = 0;
  for (int i = 0; i < kN; ++i) {
    boost::asio::co_spawn(io_,
                          then(c.command({"INCR", "ctr"}),
                               [&](Result r) {
                                 ++incr_done;
                                 if (r.ok()) seen.insert(r->integer);
                               }),
                          kRethrow);
  }
  io_.restart();
  while (incr_done < kN) io_.run_one();
  EXPECT_EQ(seen.size(), static_cast<size_t>(kN));
  EXPECT_EQ(*seen.begin(), 1);
  EXPECT_EQ(*seen.rbegin(), kN);
}

TEST_F(RedisClientTest, idle_connections_are_closed_after_the_keepalive_timeout) {
  Options o = options_for(*redis_);
  o.keepalive_timeout = milliseconds(50);
  Client c(io_.get_executor(), o);
  ASSERT_TRUE(cmd(io_, c, {"CLIENT", "SETNAME", "first"}).ok());
  std::this_thread::sleep_for(milliseconds(80));
  Result r = cmd(io_, c, {"CLIENT", "GETNAME"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->type, Reply::Type::kNil);  // a new connection
  EXPECT_EQ(c.open_connections(), 1u);
}

TEST_F(RedisClientTest, close_fails_pending_commands) {
  Client c(io_.get_executor(), options_for(*redis_));
  std::optional<Result> got;
  boost::asio::co_spawn(
      io_, then(c.command({"BLPOP", "never", "5"}), [&](Result r) { got.emplace(std::move(r)); }),
      kRethrow);
  io_.restart();
  io_.run_for(milliseconds(50));
  c.close();
  io_.restart();
  while (!got) io_.run_one();
  ASSERT_FALSE(got->ok());
  EXPECT_EQ(got->error().kind, core::ErrorKind::kUnavailable);
  EXPECT_NE(got->error().message.find("client closed"), std::string::npos);
}

TEST_F(RedisClientTest, client_for_keeps_one_client_per_worker_and_options) {
  auto io = std::make_unique<boost::asio::io_context>();
  Options a = options_for(*redis_);
  Options b = a;
  b.database = 1;
  Client& ca = client_for(io->get_executor(), a);
  EXPECT_EQ(&ca, &client_for(io->get_executor(), a));
  EXPECT_NE(&ca, &client_for(io->get_executor(), b));
  boost::asio::io_context other;
  EXPECT_NE(&ca, &client_for(other.get_executor(), a));

  // Destroying the worker's loop with a connection open and a command in
  // flight is clean.
  Result r = run_task(*io, ca.command({"PING"}));
  ASSERT_TRUE(r.ok());
  boost::asio::co_spawn(*io, then(ca.command({"BLPOP", "never", "5"}), [](Result) {}), kRethrow);
  io->restart();
  io->run_for(milliseconds(20));
  io.reset();
}

}  // namespace
}  // namespace torii::net::redis
