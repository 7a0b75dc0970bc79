// conf/config.yaml loading: APISIX's keys and defaults, durations and sizes,
// warnings for unknown keys (by dotted path), errors naming the key, and
// where the standalone file is looked for.
#include "config/server_config.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace torii::config {
namespace {

using std::chrono::milliseconds;

class ConfigServerConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/torii_server_config_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string write(const std::string& content, const std::string& name = "config.yaml") {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path) << content;
    return path;
  }

  core::Result<ServerConfig> load(const std::string& content) {
    warnings_.clear();
    return load_server_config(write(content), warnings_);
  }

  std::string error_of(const std::string& content) {
    auto c = load(content);
    EXPECT_FALSE(c.ok()) << content;
    return c.ok() ? std::string() : c.error().message;
  }

  std::string dir_;
  std::vector<std::string> warnings_;
};

TEST(ConfigParseDurationTest, units) {
  EXPECT_EQ(*parse_duration("10s"), milliseconds(10000));
  EXPECT_EQ(*parse_duration("500ms"), milliseconds(500));
  EXPECT_EQ(*parse_duration("1m"), milliseconds(60000));
  EXPECT_EQ(*parse_duration("2h"), milliseconds(7200000));
  EXPECT_EQ(*parse_duration("1d"), milliseconds(86400000));
  EXPECT_EQ(*parse_duration("30"), milliseconds(30000));
  EXPECT_EQ(*parse_duration("0"), milliseconds(0));
  EXPECT_EQ(*parse_duration("1.5s"), milliseconds(1500));
}

TEST(ConfigParseDurationTest, invalid) {
  for (const char* t : {"", "s", "abc", "10x", "10 s", "-1s", "10sec", "1.5.2"}) {
    auto d = parse_duration(t);
    EXPECT_FALSE(d.ok()) << t;
    if (!d.ok()) {
      EXPECT_NE(d.error().message.find(std::string("\"") + t + "\""), std::string::npos)
          << d.error().message;
      EXPECT_EQ(d.error().source, core::ErrorSource::kConfig);
    }
  }
}

TEST(ConfigParseDurationTest, non_finite_and_overflowing_values_are_invalid) {
  // Not durations a user can mean; converting them to int64 is undefined.
  for (const char* t : {"inf", "nan", "infs", "1e300s", "1e30"}) {
    EXPECT_FALSE(parse_duration(t).ok()) << t;
  }
}

TEST(ConfigParseSizeTest, units) {
  EXPECT_EQ(*parse_size("123"), 123u);
  EXPECT_EQ(*parse_size("8k"), 8192u);
  EXPECT_EQ(*parse_size("8K"), 8192u);
  EXPECT_EQ(*parse_size("1m"), 1048576u);
  EXPECT_EQ(*parse_size("2M"), 2097152u);
  EXPECT_EQ(*parse_size("1g"), 1073741824u);
  EXPECT_EQ(*parse_size("0"), 0u);
}

TEST(ConfigParseSizeTest, invalid) {
  for (const char* t : {"", "k", "-1", "1.5k", "8kb", "8 k", "abc", "8t"}) {
    EXPECT_FALSE(parse_size(t).ok()) << t;
  }
}

TEST(ConfigParseSizeTest, overflow_is_invalid) {
  // 2^64 bytes and more must not wrap around to a small limit.
  EXPECT_FALSE(parse_size("17179869184g").ok());
  EXPECT_FALSE(parse_size("99999999999999999999").ok());
}

TEST_F(ConfigServerConfigTest, empty_file_gives_apisix_defaults) {
  auto c = load("");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_TRUE(warnings_.empty());
  ASSERT_EQ(c->node_listen.size(), 1u);
  EXPECT_EQ(c->node_listen[0].ip, "0.0.0.0");
  EXPECT_EQ(c->node_listen[0].port, 9080);
  EXPECT_GE(c->worker_processes, 1);
  EXPECT_EQ(c->router, router::RouterKind::kRadixtreeHostUri);
  EXPECT_EQ(c->role, "traditional");
  EXPECT_EQ(c->config_provider, ConfigProvider::kSqlite);
  EXPECT_EQ(c->admin.port, 9180);
  EXPECT_EQ(c->error_log_level, "warn");
  EXPECT_EQ(c->http.keepalive_timeout, milliseconds(60000));
  EXPECT_EQ(c->http.client_max_body_size, 0u);
  EXPECT_FALSE(c->http.access_log_format.empty());
  EXPECT_EQ(c->conf_dir, dir_);
}

TEST_F(ConfigServerConfigTest, node_listen_as_a_port) {
  auto c = load("apisix:\n  node_listen: 9081\n");
  ASSERT_TRUE(c.ok()) << c.error().message;
  ASSERT_EQ(c->node_listen.size(), 1u);
  EXPECT_EQ(c->node_listen[0].port, 9081);
  EXPECT_EQ(c->node_listen[0].ip, "0.0.0.0");
}

TEST_F(ConfigServerConfigTest, node_listen_as_a_list) {
  auto c = load(
      "apisix:\n"
      "  node_listen:\n"
      "    - 9081\n"
      "    - ip: 127.0.0.2\n"
      "      port: 9082\n"
      "    - port: 9083\n");
  ASSERT_TRUE(c.ok()) << c.error().message;
  ASSERT_EQ(c->node_listen.size(), 3u);
  EXPECT_EQ(c->node_listen[0].port, 9081);
  EXPECT_EQ(c->node_listen[1].ip, "127.0.0.2");
  EXPECT_EQ(c->node_listen[1].port, 9082);
  EXPECT_EQ(c->node_listen[2].ip, "0.0.0.0");
  EXPECT_EQ(c->node_listen[2].port, 9083);
}

TEST_F(ConfigServerConfigTest, node_listen_as_an_object) {
  auto c = load("apisix:\n  node_listen:\n    ip: 127.0.0.1\n    port: 8000\n");
  ASSERT_TRUE(c.ok()) << c.error().message;
  ASSERT_EQ(c->node_listen.size(), 1u);
  EXPECT_EQ(c->node_listen[0].ip, "127.0.0.1");
  EXPECT_EQ(c->node_listen[0].port, 8000);
}

TEST_F(ConfigServerConfigTest, node_listen_errors_name_the_key) {
  EXPECT_NE(error_of("apisix:\n  node_listen: 70000\n").find("apisix.node_listen"),
            std::string::npos);
  EXPECT_NE(error_of("apisix:\n  node_listen: abc\n").find("apisix.node_listen"),
            std::string::npos);
  EXPECT_NE(error_of("apisix:\n  node_listen:\n    - 9080\n    - ip: 1.2.3.4\n")
                .find("apisix.node_listen[1].port"),
            std::string::npos);
  EXPECT_NE(error_of("apisix:\n  node_listen:\n    - 9080\n    - 0\n").find("apisix.node_listen[1]"),
            std::string::npos);
  EXPECT_NE(error_of("apisix:\n  node_listen: []\n").find("apisix.node_listen"), std::string::npos);
}

TEST_F(ConfigServerConfigTest, worker_processes_auto_and_number) {
  auto a = load("nginx_config:\n  worker_processes: auto\n");
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_EQ(a->worker_processes,
            static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
  auto n = load("nginx_config:\n  worker_processes: 3\n");
  ASSERT_TRUE(n.ok()) << n.error().message;
  EXPECT_EQ(n->worker_processes, 3);
}

TEST_F(ConfigServerConfigTest, worker_processes_invalid) {
  for (const char* v : {"0", "-2", "many", "2000"}) {
    const std::string msg = error_of(std::string("nginx_config:\n  worker_processes: ") + v + "\n");
    EXPECT_NE(msg.find("nginx_config.worker_processes"), std::string::npos) << v << ": " << msg;
  }
}

TEST_F(ConfigServerConfigTest, router_kinds) {
  const std::pair<const char*, router::RouterKind> cases[] = {
      {"radixtree_host_uri", router::RouterKind::kRadixtreeHostUri},
      {"radixtree_uri", router::RouterKind::kRadixtreeUri},
      {"radixtree_uri_with_parameter", router::RouterKind::kRadixtreeUriWithParameter},
  };
  for (const auto& [name, kind] : cases) {
    auto c = load(std::string("apisix:\n  router:\n    http: ") + name + "\n");
    ASSERT_TRUE(c.ok()) << name << ": " << c.error().message;
    EXPECT_EQ(c->router, kind) << name;
  }
  const std::string msg = error_of("apisix:\n  router:\n    http: radixtree_foo\n");
  EXPECT_NE(msg.find("apisix.router.http"), std::string::npos) << msg;
  EXPECT_NE(msg.find("radixtree_foo"), std::string::npos) << msg;
}

TEST_F(ConfigServerConfigTest, unknown_keys_warn_with_the_dotted_path) {
  auto c = load(
      "apisix:\n"
      "  node_listen: 9080\n"
      "  no_such_option: 1\n"
      "nginx_config:\n"
      "  http:\n"
      "    mystery: 2\n"
      "top_level_thing: 3\n");
  ASSERT_TRUE(c.ok()) << c.error().message;
  ASSERT_EQ(warnings_.size(), 3u);
  auto has = [&](const std::string& path) {
    for (const auto& w : warnings_) {
      if (w.find("unknown key " + path) != std::string::npos) return true;
    }
    return false;
  };
  EXPECT_TRUE(has("apisix.no_such_option"));
  EXPECT_TRUE(has("nginx_config.http.mystery"));
  EXPECT_TRUE(has("top_level_thing"));
}

TEST_F(ConfigServerConfigTest, free_form_blocks_do_not_warn) {
  auto c = load(
      "plugin_attr:\n"
      "  prometheus:\n"
      "    export_uri: /m\n"
      "discovery:\n"
      "  dns:\n"
      "    servers: [\"127.0.0.1:53\"]\n"
      "deployment:\n"
      "  etcd:\n"
      "    host: [\"http://127.0.0.1:2379\"]\n"
      "apisix:\n"
      "  ssl:\n"
      "    listen: [9443]\n");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_TRUE(warnings_.empty()) << warnings_.front();
}

TEST_F(ConfigServerConfigTest, http_settings) {
  auto c = load(
      "nginx_config:\n"
      "  worker_shutdown_timeout: 5s\n"
      "  error_log_level: info\n"
      "  http:\n"
      "    keepalive_timeout: 30s\n"
      "    client_header_timeout: 500ms\n"
      "    client_body_timeout: 2m\n"
      "    send_timeout: 7\n"
      "    client_max_body_size: 8m\n"
      "    client_header_buffer_size: 2k\n"
      "    keepalive_requests: 10\n"
      "    enable_access_log: false\n"
      "apisix:\n"
      "  show_upstream_status_in_response_header: true\n");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->worker_shutdown_timeout, milliseconds(5000));
  EXPECT_EQ(c->error_log_level, "info");
  EXPECT_EQ(c->http.keepalive_timeout, milliseconds(30000));
  EXPECT_EQ(c->http.client_header_timeout, milliseconds(500));
  EXPECT_EQ(c->http.client_body_timeout, milliseconds(120000));
  EXPECT_EQ(c->http.send_timeout, milliseconds(7000));
  EXPECT_EQ(c->http.client_max_body_size, 8u * 1024 * 1024);
  EXPECT_EQ(c->http.client_header_buffer_size, 2048u);
  EXPECT_EQ(c->http.keepalive_requests, 10u);
  EXPECT_FALSE(c->http.access_log_enabled);
  EXPECT_TRUE(c->http.show_upstream_status_in_response_header);
}

TEST_F(ConfigServerConfigTest, value_errors_name_the_key) {
  const std::pair<const char*, const char*> cases[] = {
      {"nginx_config:\n  http:\n    keepalive_timeout: 10parsecs\n",
       "nginx_config.http.keepalive_timeout"},
      {"nginx_config:\n  http:\n    client_max_body_size: lots\n",
       "nginx_config.http.client_max_body_size"},
      {"nginx_config:\n  http:\n    max_header_size: 10\n", "nginx_config.http.max_header_size"},
      {"nginx_config:\n  error_log_level: loud\n", "nginx_config.error_log_level"},
      {"nginx_config:\n  http:\n    enable_access_log: maybe\n",
       "nginx_config.http.enable_access_log"},
      {"deployment:\n  role: boss\n", "deployment.role"},
      {"deployment:\n  role_traditional:\n    config_provider: redis\n",
       "deployment.role_traditional.config_provider"},
      {"nginx_config:\n  worker_shutdown_timeout: [1]\n", "nginx_config.worker_shutdown_timeout"},
  };
  for (const auto& [yaml, key] : cases) {
    auto c = load(yaml);
    ASSERT_FALSE(c.ok()) << yaml;
    EXPECT_NE(c.error().message.find(key), std::string::npos) << c.error().message;
    EXPECT_EQ(c.error().source, core::ErrorSource::kConfig);
  }
}

TEST_F(ConfigServerConfigTest, admin_port_out_of_range_is_an_error) {
  for (const char* port : {"70000", "0", "-1"}) {
    auto c = load(std::string("deployment:\n  admin:\n    admin_listen:\n      port: ") + port +
                  "\n");
    ASSERT_FALSE(c.ok()) << port << " became " << c->admin.port;
    EXPECT_NE(c.error().message.find("deployment.admin.admin_listen.port"), std::string::npos)
        << c.error().message;
  }
}

TEST_F(ConfigServerConfigTest, top_level_must_be_a_map) {
  const std::string msg = error_of("- a\n- b\n");
  EXPECT_NE(msg.find("top level"), std::string::npos) << msg;
}

TEST_F(ConfigServerConfigTest, invalid_yaml_is_an_error) {
  EXPECT_FALSE(load("apisix: [unclosed\n").ok());
}

TEST_F(ConfigServerConfigTest, missing_file_is_an_error) {
  std::vector<std::string> w;
  auto c = load_server_config(dir_ + "/nope.yaml", w);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("nope.yaml"), std::string::npos);
}

TEST_F(ConfigServerConfigTest, standalone_file_defaults_next_to_config_yaml) {
  auto c = load("");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->standalone_file, dir_ + "/apisix.yaml");
}

TEST_F(ConfigServerConfigTest, standalone_file_is_json_with_the_json_provider) {
  auto c = load(
      "deployment:\n"
      "  role: data_plane\n"
      "  role_data_plane:\n"
      "    config_provider: json\n");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->role, "data_plane");
  EXPECT_EQ(c->config_provider, ConfigProvider::kJson);
  EXPECT_EQ(c->standalone_file, dir_ + "/apisix.json");
}

TEST_F(ConfigServerConfigTest, standalone_file_relative_and_absolute) {
  auto rel = load("deployment:\n  standalone:\n    file: sub/../conf.yaml\n");
  ASSERT_TRUE(rel.ok()) << rel.error().message;
  EXPECT_EQ(rel->standalone_file, dir_ + "/conf.yaml");
  auto abs = load("deployment:\n  standalone:\n    file: /etc/x/apisix.yaml\n");
  ASSERT_TRUE(abs.ok()) << abs.error().message;
  EXPECT_EQ(abs->standalone_file, "/etc/x/apisix.yaml");
}

TEST_F(ConfigServerConfigTest, admin_listen) {
  auto c = load(
      "deployment:\n"
      "  admin:\n"
      "    admin_listen:\n"
      "      ip: 0.0.0.0\n"
      "      port: 9999\n");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->admin.ip, "0.0.0.0");
  EXPECT_EQ(c->admin.port, 9999);
}

TEST_F(ConfigServerConfigTest, trusted_addresses_are_loaded_and_bad_entries_named) {
  auto c = load("apisix:\n  trusted_addresses:\n    - 127.0.0.1\n    - 10.0.0.0/8\n");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->http.trusted_addresses, (std::vector<std::string>{"127.0.0.1", "10.0.0.0/8"}));
  auto bad = load("apisix:\n  trusted_addresses:\n    - 10.0.0.0/33\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("apisix.trusted_addresses"), std::string::npos)
      << bad.error().message;
  EXPECT_NE(bad.error().message.find("10.0.0.0/33"), std::string::npos) << bad.error().message;
}

TEST_F(ConfigServerConfigTest, proxy_mirror_plugin_attr) {
  auto d = load("");
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(d->proxy_mirror.connect_timeout, milliseconds(60000));  // APISIX's defaults
  EXPECT_EQ(d->proxy_mirror.send_timeout, milliseconds(60000));
  EXPECT_EQ(d->proxy_mirror.read_timeout, milliseconds(60000));
  EXPECT_EQ(d->proxy_mirror.max_inflight, 128u);
  auto c = load(
      "plugin_attr:\n  proxy-mirror:\n    timeout:\n      connect: 2s\n      send: 500ms\n"
      "      read: 10\n    max_inflight: 16\n");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->proxy_mirror.connect_timeout, milliseconds(2000));
  EXPECT_EQ(c->proxy_mirror.send_timeout, milliseconds(500));
  EXPECT_EQ(c->proxy_mirror.read_timeout, milliseconds(10000));
  EXPECT_EQ(c->proxy_mirror.max_inflight, 16u);
  EXPECT_TRUE(warnings_.empty());
  auto bad = load("plugin_attr:\n  proxy-mirror:\n    timeout:\n      read: soon\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message,
            "config.yaml: plugin_attr.proxy-mirror.timeout.read: invalid duration \"soon\"");
  // A duration is added to steady_clock readings in nanoseconds: past 100
  // years (1e12 s did pass before) it would wrap into the past.
  auto huge = load("plugin_attr:\n  proxy-mirror:\n    timeout:\n      read: 1000000000000s\n");
  ASSERT_FALSE(huge.ok());
  EXPECT_NE(huge.error().message.find("too large: at most 100 years"), std::string::npos)
      << huge.error().message;
  auto century = load("plugin_attr:\n  proxy-mirror:\n    timeout:\n      read: 36500d\n");
  EXPECT_TRUE(century.ok()) << century.error().message;
  auto zero = load("plugin_attr:\n  proxy-mirror:\n    max_inflight: 0\n");
  ASSERT_FALSE(zero.ok());
  EXPECT_EQ(zero.error().message,
            "config.yaml: plugin_attr.proxy-mirror.max_inflight: must be at least 1");
}

}  // namespace
}  // namespace torii::config

namespace torii::config {
namespace {

class ConfigDeploymentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/torii-deploy-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  core::Result<ServerConfig> load(const std::string& yaml) {
    const std::string path = dir_ + "/config.yaml";
    std::ofstream(path) << yaml;
    warnings_.clear();
    return load_server_config(path, warnings_);
  }
  std::string dir_;
  std::vector<std::string> warnings_;
};

TEST_F(ConfigDeploymentTest, traditional_defaults_to_the_embedded_store) {
  auto c = load("deployment:\n  role: traditional\n");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->config_provider, ConfigProvider::kSqlite);
  EXPECT_EQ(c->sqlite_path, dir_ + "/torii.db");
  EXPECT_EQ(c->admin.admin_key_file, dir_ + "/admin_key");
  EXPECT_EQ(c->admin.allow_admin, (std::vector<std::string>{"127.0.0.0/24"}));
  EXPECT_TRUE(c->admin.keys.empty());
  EXPECT_TRUE(c->admin.admin_key_required);
  auto dp = load("deployment:\n  role: data_plane\n");
  ASSERT_TRUE(dp.ok());
  EXPECT_EQ(dp->config_provider, ConfigProvider::kYaml);
}

TEST_F(ConfigDeploymentTest, admin_etcd_sqlite_and_encryption_keys) {
  auto c = load(
      "apisix:\n"
      "  enable_admin: true\n"
      "  data_encryption:\n"
      "    enable_encrypt_fields: true\n"
      "    keyring:\n      - abcdefghijklmnop\n"
      "deployment:\n"
      "  role: traditional\n"
      "  role_traditional:\n    config_provider: etcd\n"
      "  admin:\n"
      "    admin_listen: {ip: 0.0.0.0, port: 9999}\n"
      "    allow_admin: [10.0.0.0/8, \"::1\"]\n"
      "    admin_key:\n"
      "      - {name: admin, key: k1, role: admin}\n"
      "      - {name: viewer, key: k2, role: viewer}\n"
      "      - {name: empty, key: \"\", role: admin}\n"
      "    enable_admin_cors: false\n"
      "    admin_key_file: /var/lib/torii/key\n"
      "  etcd:\n"
      "    host: [\"http://127.0.0.1:2379\", \"http://127.0.0.1:2479\"]\n"
      "    prefix: /gw/\n"
      "    timeout: 5\n"
      "    user: root\n"
      "    password: secret\n"
      "  sqlite:\n    path: /var/lib/torii/db\n");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_TRUE(warnings_.empty()) << warnings_.front();
  EXPECT_EQ(c->config_provider, ConfigProvider::kEtcd);
  EXPECT_EQ(c->admin.ip, "0.0.0.0");
  EXPECT_EQ(c->admin.port, 9999);
  EXPECT_EQ(c->admin.allow_admin, (std::vector<std::string>{"10.0.0.0/8", "::1"}));
  ASSERT_EQ(c->admin.keys.size(), 2u);
  EXPECT_EQ(c->admin.keys[0].key, "k1");
  EXPECT_FALSE(c->admin.keys[0].viewer);
  EXPECT_TRUE(c->admin.keys[1].viewer);
  EXPECT_FALSE(c->admin.enable_admin_cors);
  EXPECT_EQ(c->admin.admin_key_file, "/var/lib/torii/key");
  EXPECT_EQ(c->etcd.hosts.size(), 2u);
  EXPECT_EQ(c->etcd.prefix, "/gw");
  EXPECT_EQ(c->etcd.timeout, std::chrono::milliseconds(5000));
  EXPECT_EQ(c->etcd.user, "root");
  EXPECT_EQ(c->etcd.password, "secret");
  EXPECT_EQ(c->sqlite_path, "/var/lib/torii/db");
  EXPECT_EQ(c->data_encryption_keyring, (std::vector<std::string>{"abcdefghijklmnop"}));
}

TEST_F(ConfigDeploymentTest, errors_name_the_key) {
  const std::pair<const char*, const char*> cases[] = {
      {"deployment:\n  admin:\n    allow_admin: [nope]\n", "deployment.admin.allow_admin"},
      {"deployment:\n  admin:\n    allow_admin: []\n", "deployment.admin.allow_admin"},
      {"deployment:\n  admin:\n    admin_key:\n      - {key: a, role: root}\n",
       "deployment.admin.admin_key[0].role"},
      {"deployment:\n  etcd:\n    host: [\"https://e:2379\"]\n", "deployment.etcd.host"},
      {"deployment:\n  etcd:\n    prefix: apisix\n", "deployment.etcd.prefix"},
      {"deployment:\n  etcd:\n    timeout: -1\n", "deployment.etcd.timeout"},
      {"apisix:\n  data_encryption:\n    keyring: [short]\n", "apisix.data_encryption.keyring[0]"},
  };
  for (const auto& [yaml, key] : cases) {
    auto c = load(yaml);
    ASSERT_FALSE(c.ok()) << yaml;
    EXPECT_NE(c.error().message.find(key), std::string::npos) << c.error().message;
  }
  auto off = load("apisix:\n  data_encryption:\n    enable_encrypt_fields: false\n");
  ASSERT_TRUE(off.ok());
  EXPECT_FALSE(off->encrypt_plugin_fields);
  EXPECT_EQ(off->data_encryption_keyring.size(), 2u) << "SSL keys stay encrypted";
  auto unknown = load("deployment:\n  etcd:\n    tls:\n      verify: false\n");
  ASSERT_TRUE(unknown.ok());
  ASSERT_EQ(unknown->config_provider, ConfigProvider::kSqlite);
  EXPECT_FALSE(warnings_.empty());
}

}  // namespace
}  // namespace torii::config
