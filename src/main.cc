// The torii command line: `run`, `validate`, `version`. Nothing else lives here.
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <malloc.h>

#include <csignal>
#include <cstdio>
#include <iostream>

#include "config/server_config.h"
#include "config/snapshot_builder.h"
#include "config/standalone_file.h"
#include "observability/error_log.h"
#include "plugins/mirror_client.h"
#include "plugins/plugin_registry.h"
#include "plugins/redirect.h"
#include "proxy/gateway.h"

namespace {

using torii::config::ServerConfig;

// config.yaml `plugins` decides which registered plugins are enabled.
void apply_plugin_list(const ServerConfig& cfg, std::vector<std::string>& warnings) {
  if (!cfg.plugins) return;
  for (const auto& name : torii::plugins::set_enabled_plugins(*cfg.plugins)) {
    warnings.push_back("config.yaml: plugins: unknown plugin " + name + " (ignored)");
  }
}

// config.yaml plugin_attr for plugins that read it at run time.
void apply_plugin_attrs(const ServerConfig& cfg) {
  torii::plugins::mirror::Settings mirror;
  mirror.connect_timeout = cfg.proxy_mirror.connect_timeout;
  mirror.send_timeout = cfg.proxy_mirror.send_timeout;
  mirror.read_timeout = cfg.proxy_mirror.read_timeout;
  mirror.max_inflight = cfg.proxy_mirror.max_inflight;
  torii::plugins::mirror::set_settings(mirror);
  torii::plugins::redirect::set_https_port(
      torii::config::https_redirect_port(cfg.ssl, cfg.redirect_https_port));
}

int cmd_version() {
  std::printf("torii %s (APISIX 3.x compatible)\n", TORII_VERSION);
  return 0;
}

int cmd_validate(const std::string& path) {
  std::vector<std::string> warnings;
  auto cfg = torii::config::load_server_config(path, warnings);
  if (cfg) apply_plugin_list(*cfg, warnings);
  for (const auto& w : warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
  if (!cfg) {
    std::fprintf(stderr, "error: %s\n", cfg.error().message.c_str());
    return 1;
  }
  if (cfg->config_provider == torii::config::ConfigProvider::kSqlite ||
      cfg->config_provider == torii::config::ConfigProvider::kEtcd) {
    // Resources in a store were validated when written; config.yaml is all
    // there is to check here.
    std::printf("%s: ok\n", path.c_str());
    return 0;
  }
  const auto errors = torii::config::validate_standalone(*cfg);
  for (const auto& e : errors) std::fprintf(stderr, "error: %s\n", e.c_str());
  if (!errors.empty()) return 1;
  std::printf("%s: ok\n%s: ok\n", path.c_str(), cfg->standalone_file.c_str());
  return 0;
}

int cmd_run(const std::string& path) {
  std::vector<std::string> warnings;
  auto cfg = torii::config::load_server_config(path, warnings);
  if (!cfg) {
    std::fprintf(stderr, "torii: %s\n", cfg.error().message.c_str());
    return 1;
  }
  if (auto st = torii::observability::setup_error_log(cfg->error_log, cfg->error_log_level); !st) {
    std::fprintf(stderr, "torii: %s\n", st.error().message.c_str());
    return 1;
  }
  apply_plugin_list(*cfg, warnings);
  apply_plugin_attrs(*cfg);
  for (const auto& w : warnings) spdlog::warn("{}", w);
  torii::proxy::Gateway gateway(std::move(*cfg));
  return gateway.run();
}

}  // namespace

int main(int argc, char** argv) {
  // Keep freed memory in the process: response windows are allocated and
  // freed per large response, and returning pages to the kernel each time
  // costs a page fault per 4 KiB on the next response.
  mallopt(M_MMAP_THRESHOLD, 4 << 20);
  mallopt(M_TRIM_THRESHOLD, 64 << 20);
  // OpenSSL writes TLS records with write(2) on the client socket: a client
  // gone mid-response must be an EPIPE error, not a signal that ends the process.
  std::signal(SIGPIPE, SIG_IGN);
  CLI::App app{"torii: an APISIX-compatible API gateway"};
  app.require_subcommand(1);
  std::string config = "conf/config.yaml";
  auto* run = app.add_subcommand("run", "run the gateway in the foreground");
  run->add_option("-c,--config", config, "path to config.yaml");
  auto* validate = app.add_subcommand("validate", "check config.yaml and the routes file, then exit");
  validate->add_option("-c,--config", config, "path to config.yaml");
  app.add_subcommand("version", "print the version");
  CLI11_PARSE(app, argc, argv);
  if (app.got_subcommand("version")) return cmd_version();
  if (app.got_subcommand("validate")) return cmd_validate(config);
  return cmd_run(config);
}
