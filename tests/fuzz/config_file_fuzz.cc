// Fuzz target for the files an operator writes, read before anything is
// served: the standalone file (conf/apisix.yaml or apisix.json: YAML -> JSON
// with ${{VAR}} substitution, or JSON; ids, collections), then what
// `torii validate` and a reload do with it (every item through
// check_resource, then SnapshotBuilder: references, upstreams, the router);
// and conf/config.yaml (load_server_config: deployment, data_encryption,
// durations and sizes, listeners).
//
// Input: byte 0 picks the file ('0' + n: 0 standalone YAML, 1 standalone
// JSON, 2 config.yaml; bit 2 of n builds the snapshot in kSkipInvalid
// instead of kRejectAll mode); the rest is the file. config.yaml is written
// to a file in /dev/shm since load_server_config() reads a path. Seeds:
// corpus/config_file/.
//
// Besides ASan/UBSan findings, it traps when a parse succeeds with a
// ResourceSet whose ids are empty, or when building a snapshot throws.
#include <signal.h>
#include <spdlog/spdlog.h>
#include <stdlib.h>
#include <unistd.h>

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "config/resource_schemas.h"
#include "config/server_config.h"
#include "config/snapshot_builder.h"
#include "config/standalone_file.h"

namespace {

using namespace torii;

[[noreturn]] void fail(const char* what, std::string_view detail) {
  std::fprintf(stderr, "config_file_fuzz: %s\n---\n%.*s\n---\n", what,
               static_cast<int>(detail.size()), detail.data());
  std::abort();
}

// A scratch directory in /dev/shm (RAM: no disk flush per write) named after
// this process; ones left by crashed runs (abort skips atexit) are removed
// once their process is gone.
std::string make_scratch_dir(const std::string& name) {
  const std::filesystem::path base =
      std::filesystem::is_directory("/dev/shm") ? "/dev/shm" : "/tmp";
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(base, ec)) {
    const std::string leaf = entry.path().filename().string();
    if (leaf.rfind(name + "-", 0) != 0) continue;
    const int pid = std::atoi(leaf.c_str() + name.size() + 1);
    if (pid > 0 && ::kill(pid, 0) != 0 && errno == ESRCH) {
      std::filesystem::remove_all(entry.path(), ec);
    }
  }
  std::string tmpl = (base / (name + "-" + std::to_string(::getpid()) + "-XXXXXX")).string();
  if (::mkdtemp(tmpl.data()) == nullptr) {
    std::perror("mkdtemp");
    std::abort();
  }
  return tmpl;
}

const std::string& scratch_file() {
  static const std::string path = [] {
    spdlog::set_level(spdlog::level::off);
    // ${{VAR}} substitution reads the environment: give it something to find.
    ::setenv("TORII_FUZZ_HOST", "127.0.0.1:1980", 0);
    static const std::string dir = make_scratch_dir("torii-config-fuzz");
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    });
    return dir + "/config.yaml";
  }();
  return path;
}

void standalone(std::string_view content, config::FileFormat format, config::BuildMode mode) {
  auto set = config::parse_standalone(content, format);
  if (!set) return;
  // `torii validate`: every item on its own (validate_standalone()).
  for (const auto& [collection, items] : set->collections) {
    for (const auto& item : items) {
      if (item.id.empty()) {
        fail(("an item without id in " + collection + ": " + boost::json::serialize(item.value))
                 .c_str(),
             content);
      }
      boost::json::value v(item.value);
      if (!v.as_object().contains("id")) v.as_object()["id"] = item.id;
      (void)config::check_resource(collection, v);
    }
  }
  config::ServerConfig server;
  config::SnapshotBuilder builder;
  try {
    (void)builder.build(*set, server, mode);
  } catch (const std::exception& e) {
    fail(e.what(), content);
  }
}

void server_config(std::string_view content) {
  const std::string& path = scratch_file();
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
  }
  std::vector<std::string> warnings;
  try {
    (void)config::load_server_config(path, warnings);
  } catch (const std::exception& e) {
    fail(e.what(), content);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  scratch_file();
  const unsigned mode = static_cast<uint8_t>(data[0] - '0');
  const std::string_view content(reinterpret_cast<const char*>(data) + 1, size - 1);
  const config::BuildMode build =
      (mode & 4) ? config::BuildMode::kSkipInvalid : config::BuildMode::kRejectAll;
  switch ((mode & 3) % 3) {
    case 0:
      standalone(content, config::FileFormat::kYaml, build);
      break;
    case 1:
      standalone(content, config::FileFormat::kJson, build);
      break;
    case 2:
      server_config(content);
      break;
  }
  return 0;
}
