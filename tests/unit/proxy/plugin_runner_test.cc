// The request phases in two steps (run_request_phases_now, then
// finish_request_phases only when a plugin is asynchronous): every plugin
// runs once, in chain order, and an answer stops the rest.
#include "proxy/plugin_runner.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <exception>
#include <memory>
#include <string>
#include <vector>

namespace torii::proxy {
namespace {

using plugins::Phase;
using plugins::Plugin;
using plugins::PluginContext;
using plugins::Step;

// Records "<name>.<phase>" in `log`; answers with `answer_status` in
// `answer_in` (0: never); asynchronous in `async_in` (it then suspends once
// on the io_context before answering, as a Redis call would).
class Recorder final : public Plugin {
 public:
  Recorder(std::string name, std::vector<std::string>& log, uint8_t phases,
           std::optional<Phase> async_in = std::nullopt, std::optional<Phase> answer_in = std::nullopt)
      : name_(std::move(name)), log_(log), phases_(phases), async_in_(async_in), answer_in_(answer_in) {}

  uint8_t phases() const override { return phases_; }
  bool is_async(Phase p) const override { return async_in_ == p; }
  Step rewrite(PluginContext&) const override { return step(Phase::kRewrite, "rewrite"); }
  Step access(PluginContext&) const override { return step(Phase::kAccess, "access"); }
  net::Task<Step> rewrite_async(PluginContext&) const override {
    co_await boost::asio::post(boost::asio::use_awaitable_t<net::Executor>{});
    co_return step(Phase::kRewrite, "rewrite-async");
  }
  net::Task<Step> access_async(PluginContext&) const override {
    co_await boost::asio::post(boost::asio::use_awaitable_t<net::Executor>{});
    co_return step(Phase::kAccess, "access-async");
  }

 private:
  Step step(Phase p, const char* what) const {
    log_.push_back(name_ + "." + what);
    if (answer_in_ == p) {
      plugins::Exit exit;
      exit.status = 403;
      return exit;
    }
    return plugins::kContinue;
  }
  std::string name_;
  std::vector<std::string>& log_;
  uint8_t phases_;
  std::optional<Phase> async_in_;
  std::optional<Phase> answer_in_;
};

constexpr uint8_t kRewrite = Plugin::bit(Phase::kRewrite);
constexpr uint8_t kAccess = Plugin::bit(Phase::kAccess);

class PluginRunnerTest : public ::testing::Test {
 protected:
  void add(std::shared_ptr<Plugin> p) {
    plugins::ChainEntry e;
    e.phases = p->phases();
    e.plugin = std::move(p);
    chain_->phases |= e.phases;
    chain_->entries.push_back(std::move(e));
  }

  // Routes the request to the chain built so far and returns its chains.
  Chains begin() {
    auto snap = std::make_shared<config::Snapshot>();
    snap->routes.emplace_back();
    snap->routes[0].id = "1";
    snap->routes[0].plugins = chain_;
    snapshot_ = snap;
    ctx_.reset(&req_, snapshot_);
    ctx_.route = &snapshot_->routes[0];
    return Chains::of(ctx_);
  }

  // finish_request_phases() run to completion on an io_context.
  bool finish() {
    boost::asio::io_context io;
    bool answered = false;
    std::exception_ptr failure;
    boost::asio::co_spawn(
        io,
        [&]() -> net::Task<void> { answered = co_await finish_request_phases(ctx_); },
        [&](std::exception_ptr e) { failure = e; });
    io.run();
    EXPECT_FALSE(failure);
    return answered;
  }

  std::vector<std::string> log_;
  std::shared_ptr<plugins::PluginChain> chain_ = std::make_shared<plugins::PluginChain>();
  std::shared_ptr<const config::Snapshot> snapshot_;
  ConnectionInfo conn_;
  http::Request req_;
  RequestContext ctx_{conn_};
};

TEST_F(PluginRunnerTest, synchronous_plugins_all_run_without_a_coroutine) {
  add(std::make_shared<Recorder>("a", log_, kRewrite | kAccess));
  add(std::make_shared<Recorder>("b", log_, kAccess));
  const Chains c = begin();
  EXPECT_EQ(run_request_phases_now(ctx_, c), PhasesNow::kPassed);
  EXPECT_EQ(log_, (std::vector<std::string>{"a.rewrite", "a.access", "b.access"}));
  EXPECT_FALSE(ctx_.exit);
}

TEST_F(PluginRunnerTest, a_synchronous_answer_stops_the_chain) {
  add(std::make_shared<Recorder>("a", log_, kRewrite | kAccess, std::nullopt, Phase::kRewrite));
  add(std::make_shared<Recorder>("b", log_, kRewrite | kAccess));
  const Chains c = begin();
  EXPECT_EQ(run_request_phases_now(ctx_, c), PhasesNow::kAnswered);
  EXPECT_EQ(log_, (std::vector<std::string>{"a.rewrite"}));
  ASSERT_TRUE(ctx_.exit);
  EXPECT_EQ(ctx_.exit->status, 403);
}

// The synchronous part stops before the asynchronous plugin; the rest runs
// each remaining plugin once, from there, in order.
TEST_F(PluginRunnerTest, an_asynchronous_access_plugin_resumes_where_the_run_stopped) {
  add(std::make_shared<Recorder>("a", log_, kRewrite | kAccess));
  add(std::make_shared<Recorder>("b", log_, kAccess));
  add(std::make_shared<Recorder>("c", log_, kAccess, Phase::kAccess));
  add(std::make_shared<Recorder>("d", log_, kAccess));
  const Chains c = begin();
  ASSERT_EQ(run_request_phases_now(ctx_, c), PhasesNow::kSuspend);
  EXPECT_EQ(log_, (std::vector<std::string>{"a.rewrite", "a.access", "b.access"}));
  EXPECT_FALSE(finish());
  EXPECT_EQ(log_, (std::vector<std::string>{"a.rewrite", "a.access", "b.access",
                                            "c.access-async", "d.access"}));
}

TEST_F(PluginRunnerTest, an_asynchronous_rewrite_plugin_resumes_then_runs_access) {
  add(std::make_shared<Recorder>("a", log_, kRewrite));
  add(std::make_shared<Recorder>("b", log_, kRewrite | kAccess, Phase::kRewrite));
  add(std::make_shared<Recorder>("c", log_, kRewrite | kAccess));
  const Chains c = begin();
  ASSERT_EQ(run_request_phases_now(ctx_, c), PhasesNow::kSuspend);
  EXPECT_EQ(log_, (std::vector<std::string>{"a.rewrite"}));
  EXPECT_FALSE(finish());
  EXPECT_EQ(log_, (std::vector<std::string>{"a.rewrite", "b.rewrite-async", "c.rewrite",
                                            "b.access", "c.access"}));
}

TEST_F(PluginRunnerTest, an_asynchronous_answer_stops_the_rest) {
  add(std::make_shared<Recorder>("a", log_, kAccess));
  add(std::make_shared<Recorder>("b", log_, kAccess, Phase::kAccess, Phase::kAccess));
  add(std::make_shared<Recorder>("c", log_, kAccess));
  const Chains c = begin();
  ASSERT_EQ(run_request_phases_now(ctx_, c), PhasesNow::kSuspend);
  EXPECT_TRUE(finish());
  EXPECT_EQ(log_, (std::vector<std::string>{"a.access", "b.access-async"}));
  ASSERT_TRUE(ctx_.exit);
  EXPECT_EQ(ctx_.exit->status, 403);
}

// The one-step coroutine (run_request_phases) gives the same order.
TEST_F(PluginRunnerTest, the_coroutine_form_runs_the_same_order) {
  add(std::make_shared<Recorder>("a", log_, kRewrite | kAccess, Phase::kRewrite));
  add(std::make_shared<Recorder>("b", log_, kRewrite | kAccess, Phase::kAccess));
  const Chains c = begin();
  boost::asio::io_context io;
  bool answered = true;
  boost::asio::co_spawn(
      io, [&]() -> net::Task<void> { answered = co_await run_request_phases(ctx_, c); },
      [](std::exception_ptr e) { EXPECT_FALSE(e); });
  io.run();
  EXPECT_FALSE(answered);
  EXPECT_EQ(log_, (std::vector<std::string>{"a.rewrite-async", "b.rewrite", "a.access",
                                            "b.access-async"}));
}

}  // namespace
}  // namespace torii::proxy
