// Fuzz target for the Admin API below the listener: ResourceApi::handle()
// end to end over a real SqliteStore (a file in /dev/shm, so a write costs
// no disk flush): URL routing, the JSON body, resource schemas and code
// checks of every kind (ssls with PEM parsing and key/cert matching, plugin
// confs against registered schemas), ids, references, PUT / POST, both PATCH
// forms (merge and sub-path), collection queries (page, page_size, name /
// label / uri regexes, filter=) and ttl. Then what the writes left in the
// store goes the way a store change reaches the data plane: ConfigSync's
// full read and SnapshotBuilder in kSkipInvalid mode. Every stored resource
// value must parse back as JSON.
//
// Input: an optional first byte '0'..'7' picks the API options (bit 0 a
// data_encryption keyring, bit 1 stream mode on, bit 2 read-only); then up
// to 4 requests separated by a "\n===\n" line. Each request is
// "METHOD /path?query\n" followed by the body ("" = none); the path is
// below /apisix/admin, the query is split and percent-decoded as
// admin_server does. The store is emptied before each input, so an input
// is reproducible on its own. Seeds: corpus/admin_request/.
//
// Besides ASan/UBSan findings, it traps on a 500 (handle() turns a C++
// exception into 500: every one is a bug), on an object or array reply
// that is not JSON, and on a successful ssls reply that carries a private
// key.
#include <signal.h>
#include <spdlog/spdlog.h>
#include <stdlib.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "admin/resource_api.h"
#include "config/data_encryption.h"
#include "config/server_config.h"
#include "config/snapshot_builder.h"
#include "http/uri.h"
#include "plugins/plugin_registry.h"
#include "store/config_sync.h"
#include "store/sqlite_store.h"

namespace {

using namespace torii;
namespace json = boost::json;

constexpr std::string_view kSeparator = "\n===\n";
constexpr int kMaxRequests = 4;

// The registry holds no real plugin yet: two stand-ins give check_plugins
// schemas to validate against (an auth plugin with a consumer schema, and
// one with a metadata schema), as the Admin API unit tests do.
plugins::PluginInfo auth_plugin() {
  plugins::PluginInfo p;
  p.name = "fuzz-auth";
  p.priority = 2500;
  p.is_auth = true;
  p.schema = json::parse(R"({"type":"object","properties":{"header":{"type":"string"}}})");
  p.consumer_schema = json::parse(
      R"({"type":"object","properties":{"key":{"type":"string","minLength":1}},"required":["key"]})");
  return p;
}

plugins::PluginInfo limit_plugin() {
  plugins::PluginInfo p;
  p.name = "fuzz-limit";
  p.priority = 1000;
  p.stream = true;
  p.schema = json::parse(R"({"type":"object","properties":{
      "count":{"type":"integer","minimum":1},
      "time_window":{"type":"integer","exclusiveMinimum":0},
      "key":{"type":"string","enum":["remote_addr","server_addr"]},
      "rejected_code":{"type":"integer","minimum":200,"maximum":599,"default":503},
      "policy":{"type":"string","pattern":"^(local|redis)$"},
      "allow":{"type":"array","items":{"type":"string"},"uniqueItems":true,"maxItems":4}},
    "required":["count"]})");
  p.metadata_schema = json::parse(
      R"({"type":"object","properties":{"ttl":{"type":"integer"}},"required":["ttl"]})");
  return p;
}

const plugins::PluginRegistration kAuthRegistration{auth_plugin()};
const plugins::PluginRegistration kLimitRegistration{limit_plugin()};

[[noreturn]] void fail(const char* what, const admin::AdminRequest& req,
                       const admin::AdminResponse& resp) {
  std::fprintf(
      stderr, "admin_request_fuzz: %s\n--- request: %s %s\n%s\n--- response %d:\n%s\n---\n", what,
      req.method.c_str(), req.path.c_str(), req.body.c_str(), resp.status, resp.body.c_str());
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

template <class T>
torii::net::Task<void> store_into(torii::net::Task<T> task, std::optional<T>* out) {
  out->emplace(co_await std::move(task));
}

struct World {
  boost::asio::io_context io;
  std::string dir;
  std::unique_ptr<store::SqliteStore> store;
  config::DataEncryption encryption;
  std::unique_ptr<admin::ResourceApi> apis[8];
  config::ServerConfig server;
  // TORII_FUZZ_VERBOSE=1: print each request and reply (to see what a seed reaches).
  const bool verbose = std::getenv("TORII_FUZZ_VERBOSE") != nullptr;

  World() {
    spdlog::set_level(spdlog::level::off);
    dir = make_scratch_dir("torii-admin-fuzz");
    auto opened = store::SqliteStore::open(io.get_executor(), dir + "/config.db", 64);
    if (!opened) {
      std::fprintf(stderr, "sqlite: %s\n", opened.error().message.c_str());
      std::abort();
    }
    store = std::move(*opened);
    auto enc = config::DataEncryption::create({"qeddd145sfvddff3", "edd1c9f0985e76a2"});
    if (!enc) std::abort();
    encryption = std::move(*enc);
    for (int flags = 0; flags < 8; ++flags) {
      admin::ResourceApiOptions o;
      if (flags & 1) o.encryption = &encryption;
      o.stream_enabled = (flags & 2) != 0;
      if (flags & 4) o.read_only_reason = "fuzz: read-only";
      o.now = [] { return int64_t{1700000000}; };
      apis[flags] = std::make_unique<admin::ResourceApi>(*store, std::move(o));
    }
  }

  ~World() {
    for (auto& a : apis) a.reset();
    store.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }

  template <class T>
  T await(torii::net::Task<T> task) {
    std::optional<T> out;
    boost::asio::co_spawn(io, store_into(std::move(task), &out), boost::asio::detached);
    while (!out) {
      if (io.stopped()) io.restart();
      // Nothing left to run and no result: the handler is stuck.
      if (io.run_one() == 0 && !out) {
        std::fprintf(stderr, "admin_request_fuzz: coroutine never completed\n");
        std::abort();
      }
    }
    return std::move(*out);
  }
};

World& world() {
  static World* w = [] {
    auto* p = new World();
    std::atexit([] { delete &world(); });
    return p;
  }();
  return *w;
}

// As admin_server's parse_query: first value wins, empty names dropped.
void parse_query(std::string_view query, admin::AdminRequest& req) {
  size_t pos = 0;
  while (pos <= query.size()) {
    size_t amp = query.find('&', pos);
    if (amp == std::string_view::npos) amp = query.size();
    const std::string_view pair = query.substr(pos, amp - pos);
    pos = amp + 1;
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');
    std::string key = http::percent_decode(pair.substr(0, eq), true);
    if (key.empty()) continue;
    std::string value = eq == std::string_view::npos
                            ? std::string()
                            : http::percent_decode(pair.substr(eq + 1), true);
    req.query.emplace(std::move(key), std::move(value));
  }
}

admin::AdminRequest make_request(std::string_view text) {
  admin::AdminRequest req;
  const size_t eol = text.find('\n');
  const std::string_view line = text.substr(0, eol);
  if (eol != std::string_view::npos) req.body = std::string(text.substr(eol + 1));
  const size_t space = line.find(' ');
  req.method = std::string(line.substr(0, space));
  if (space == std::string_view::npos) return req;
  const std::string_view target = line.substr(space + 1);
  const size_t q = target.find('?');
  req.path = http::percent_decode(target.substr(0, q), false);
  if (q != std::string_view::npos) parse_query(target.substr(q + 1), req);
  return req;
}

void check_response(const admin::AdminRequest& req, const admin::AdminResponse& resp) {
  if (resp.status == 500) fail("500 (an exception escaped a handler)", req, resp);
  if (resp.status < 200 || resp.status > 599) fail("status out of range", req, resp);
  // plain_reply() bodies ("done", "page_size must be between 10 and 500")
  // keep the default content type, as APISIX sends them: only what looks
  // like JSON must be JSON.
  if (!resp.body.empty() && (resp.body.front() == '{' || resp.body.front() == '[')) {
    // Bytes a client sent come back as they were (req_body of a body that
    // is not JSON, ids, names), invalid UTF-8 included, as with lua-cjson.
    json::parse_options options;
    options.allow_invalid_utf8 = true;
    boost::system::error_code ec;
    json::value v = json::parse(resp.body, ec, {}, options);
    if (ec) fail("JSON reply is not JSON", req, resp);
  }
  if (resp.status < 300 && req.path.find("ssls") != std::string::npos &&
      resp.body.find("PRIVATE KEY") != std::string::npos) {
    fail("a private key in an ssls reply", req, resp);
  }
}

bool is_write(const std::string& method) {
  return method == "PUT" || method == "POST" || method == "PATCH" || method == "DELETE";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  World& w = world();
  std::string_view input(reinterpret_cast<const char*>(data), size);
  unsigned flags = 0;
  if (!input.empty() && input[0] >= '0' && input[0] <= '7') {
    flags = static_cast<unsigned>(input[0] - '0');
    input.remove_prefix(1);
  }
  admin::ResourceApi& api = *w.apis[flags];

  bool wrote = false;      // a write succeeded: the data plane has work
  bool attempted = false;  // a write was tried: the store may have changed
  for (int n = 0; n < kMaxRequests && !input.empty(); ++n) {
    const size_t sep = input.find(kSeparator);
    const std::string_view one = input.substr(0, sep);
    input =
        sep == std::string_view::npos ? std::string_view() : input.substr(sep + kSeparator.size());
    admin::AdminRequest req = make_request(one);
    const admin::AdminRequest copy = req;
    const admin::AdminResponse resp = w.await(api.handle(std::move(req)));
    check_response(copy, resp);
    if (w.verbose) {
      std::fprintf(stderr, "%s %s -> %d %.300s\n", copy.method.c_str(), copy.path.c_str(),
                   resp.status, resp.body.c_str());
    }
    attempted |= is_write(copy.method);
    wrote |= is_write(copy.method) && resp.status < 300;
  }

  if (wrote) {
    // What was stored must read back: a resource value that is not JSON
    // would be dropped by every reader (ConfigSync, APISIX on the same etcd).
    auto stored = w.await(w.store->range("/apisix"));
    if (stored) {
      for (const store::KeyValue& kv : stored->kvs) {
        if (kv.value.empty() || kv.value.front() != '{') continue;  // gen_id, markers
        json::parse_options options;
        options.allow_invalid_utf8 = true;
        boost::system::error_code ec;
        json::parse(kv.value, ec, {}, options);
        if (ec) {
          std::fprintf(stderr, "admin_request_fuzz: a stored value is not JSON: %s\n---\n%s\n",
                       kv.key.c_str(), kv.value.c_str());
          std::abort();
        }
      }
    }
    // What a store change does next: a full read into resources, then a
    // snapshot that leaves out what it cannot use.
    store::ConfigSync sync(w.io.get_executor(), *w.store, "/apisix", [] {});
    auto loaded = w.await(sync.load());
    if (!loaded) {
      std::fprintf(stderr, "admin_request_fuzz: reading the store back: %s\n",
                   loaded.error().message.c_str());
      std::abort();
    }
    config::SnapshotBuilder builder;
    (void)builder.build(sync.resources(), w.server, config::BuildMode::kSkipInvalid);
  }
  if (attempted) {
    auto cleared = w.await(w.store->remove("/apisix", true));
    if (!cleared) {
      std::fprintf(stderr, "admin_request_fuzz: clearing the store: %s\n",
                   cleared.error().message.c_str());
      std::abort();
    }
  }
  return 0;
}
