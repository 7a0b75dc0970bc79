// The request context's log figures (PluginContext::log_figures): the same
// numbers a plugin gets by parsing the variables' text, including the
// millisecond rounding of $request_time / $upstream_response_time.
#include "proxy/request_context.h"

#include <gtest/gtest.h>

#include <charconv>
#include <chrono>
#include <cmath>
#include <memory>
#include <random>
#include <vector>

namespace torii::proxy {
namespace {

class RequestContextFigures : public ::testing::Test {
 protected:
  RequestContextFigures() { ctx_.reset(&req_, std::make_shared<const config::Snapshot>()); }

  // A variable's text parsed back as the default log_figures() does.
  double parsed(std::string_view name) {
    auto text = ctx_.get(http::VarRef::parse(name));
    EXPECT_TRUE(text) << name;
    double v = -1;
    if (text) std::from_chars(text->data(), text->data() + text->size(), v);
    return v;
  }

  ConnectionInfo conn_;
  http::Request req_;
  RequestContext ctx_{conn_};
};

TEST_F(RequestContextFigures, upstream_time_is_the_printed_value_bit_for_bit) {
  std::mt19937_64 rng(7);
  std::vector<std::chrono::nanoseconds> cases;
  for (int64_t us = 0; us <= 20000; ++us) cases.emplace_back(us * 1000);  // every half-ms tie too
  for (int i = 0; i < 20000; ++i) cases.emplace_back(static_cast<int64_t>(rng() % 100'000'000'000));
  for (auto d : cases) {
    ctx_.upstream_response_time = d;
    const auto f = ctx_.log_figures();
    ASSERT_TRUE(f.upstream_response_time);
    ASSERT_EQ(*f.upstream_response_time, parsed("upstream_response_time")) << d.count() << " ns";
  }
}

TEST_F(RequestContextFigures, sizes_and_missing_upstream_time) {
  ctx_.request_length = 412;
  ctx_.body_bytes_sent = 1024;
  const auto f = ctx_.log_figures();
  EXPECT_FALSE(f.upstream_response_time);
  EXPECT_FALSE(ctx_.get(http::VarRef::parse("upstream_response_time")));
  EXPECT_EQ(f.request_length, 412u);
  EXPECT_EQ(f.bytes_sent, 1024u);
  EXPECT_FALSE(ctx_.get(http::VarRef::parse("bytes_sent")));  // so body_bytes_sent counts
  ASSERT_TRUE(f.request_time);
  EXPECT_GE(*f.request_time, 0);
  // Whole milliseconds, as "%.3f" prints them.
  EXPECT_DOUBLE_EQ(*f.request_time * 1000, std::nearbyint(*f.request_time * 1000));
}

}  // namespace
}  // namespace torii::proxy
