// config.yaml `torii.client_limits`: defaults (everything off), every key
// read, errors naming the key, unknown keys under it warned about.
#include "config/server_config.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace torii::config {
namespace {

using std::chrono::milliseconds;

class ConfigClientLimitsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/torii_client_limits_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  core::Result<ServerConfig> load(const std::string& content) {
    const std::string path = dir_ + "/config.yaml";
    std::ofstream(path) << content;
    warnings_.clear();
    return load_server_config(path, warnings_);
  }
  std::string error_of(const std::string& content) {
    auto c = load(content);
    EXPECT_FALSE(c.ok()) << content;
    return c.ok() ? std::string() : c.error().message;
  }

  std::string dir_;
  std::vector<std::string> warnings_;
};

TEST_F(ConfigClientLimitsTest, DefaultsAreOff) {
  auto c = load("apisix:\n  node_listen: 9080\n");
  ASSERT_TRUE(c.ok());
  const net::ClientLimitSettings& s = c->client_limits;
  EXPECT_EQ(s.max_connections, 0u);
  EXPECT_EQ(s.max_connections_per_ip, 0u);
  EXPECT_EQ(s.requests_per_second_per_ip, 0);
  EXPECT_EQ(s.burst, 0u);
  EXPECT_EQ(s.ban_after_violations, 0u);
  EXPECT_EQ(s.ban_within, milliseconds(10000));
  EXPECT_EQ(s.ban_duration, milliseconds(60000));
  EXPECT_EQ(s.max_tracked_ips, 100000u);
  EXPECT_FALSE(s.per_ip());
}

TEST_F(ConfigClientLimitsTest, ReadsEveryKey) {
  auto c = load(
      "torii:\n  client_limits:\n    max_connections: 20000\n    max_connections_per_ip: 64\n"
      "    requests_per_second_per_ip: 12.5\n    burst: 50\n    max_tracked_ips: 5000\n"
      "    ban:\n      after_violations: 20\n      within: 30s\n      duration: 10m\n");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_TRUE(warnings_.empty()) << warnings_.front();
  const net::ClientLimitSettings& s = c->client_limits;
  EXPECT_EQ(s.max_connections, 20000u);
  EXPECT_EQ(s.max_connections_per_ip, 64u);
  EXPECT_DOUBLE_EQ(s.requests_per_second_per_ip, 12.5);
  EXPECT_EQ(s.burst, 50u);
  EXPECT_EQ(s.max_tracked_ips, 5000u);
  EXPECT_EQ(s.ban_after_violations, 20u);
  EXPECT_EQ(s.ban_within, milliseconds(30000));
  EXPECT_EQ(s.ban_duration, milliseconds(600000));
}

TEST_F(ConfigClientLimitsTest, UnknownKeysUnderItAreWarnedAbout) {
  auto c = load(
      "torii:\n  client_limits:\n    max_conections: 5\n    ban:\n      after: 3\n"
      "  other: 1\n");
  ASSERT_TRUE(c.ok());
  ASSERT_EQ(warnings_.size(), 3u);
  EXPECT_EQ(warnings_[0], "config.yaml: unknown key torii.client_limits.max_conections (ignored)");
  EXPECT_EQ(warnings_[1], "config.yaml: unknown key torii.client_limits.ban.after (ignored)");
  EXPECT_EQ(warnings_[2], "config.yaml: unknown key torii.other (ignored)");
}

TEST_F(ConfigClientLimitsTest, BadValuesNameTheKey) {
  EXPECT_EQ(error_of("torii:\n  client_limits:\n    max_connections_per_ip: -1\n"),
            "config.yaml: torii.client_limits.max_connections_per_ip: wrong type or value \"-1\"");
  EXPECT_EQ(error_of("torii:\n  client_limits:\n    requests_per_second_per_ip: lots\n"),
            "config.yaml: torii.client_limits.requests_per_second_per_ip: wrong type or value "
            "\"lots\"");
  EXPECT_EQ(error_of("torii:\n  client_limits:\n    requests_per_second_per_ip: 0.0001\n"),
            "config.yaml: torii.client_limits.requests_per_second_per_ip: must be 0 (off) or at "
            "least 0.001");
  EXPECT_EQ(error_of("torii:\n  client_limits:\n    max_tracked_ips: 10\n"),
            "config.yaml: torii.client_limits.max_tracked_ips: must be between 1000 and 100000000");
  EXPECT_EQ(error_of("torii:\n  client_limits:\n    max_connections_per_ip: 5\n    ban:\n"
                     "      after_violations: 3\n      within: 0s\n"),
            "config.yaml: torii.client_limits.ban.within: must be greater than 0");
  EXPECT_EQ(error_of("torii:\n  client_limits:\n    max_connections_per_ip: 5\n    ban:\n"
                     "      duration: soon\n"),
            "config.yaml: torii.client_limits.ban.duration: invalid duration \"soon\"");
  EXPECT_EQ(error_of("torii:\n  client_limits: 5\n"),
            "config.yaml: torii.client_limits: expected a map");
  EXPECT_EQ(error_of("torii: 5\n"), "config.yaml: torii: expected a map");
}

TEST_F(ConfigClientLimitsTest, ABanWithoutAPerIpLimitIsRefused) {
  EXPECT_EQ(error_of("torii:\n  client_limits:\n    max_connections: 100\n    ban:\n"
                     "      after_violations: 3\n"),
            "config.yaml: torii.client_limits.ban: needs max_connections_per_ip or "
            "requests_per_second_per_ip (only they count violations)");
}

}  // namespace
}  // namespace torii::config
