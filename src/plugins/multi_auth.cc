// multi-auth (priority 2600): accepts a request that any one of several auth
// plugins accepts, as APISIX 3.x's plugin.
//
// Phase: rewrite (asynchronous when one of the auth plugins is, e.g.
// hmac-auth validating the body). `auth_plugins` is a list of at least two
// {"<auth plugin>": {<its route conf>}}; they are tried in order and the first
// that identifies the consumer wins (it attaches the consumer itself). When
// every one refuses: 401 {"message":"Authorization Failed"}, with the last
// one's WWW-Authenticate header; each refusal is logged.
// The sub-plugins are built with the same factories as on a route, once per
// configuration.
#include <spdlog/spdlog.h>

#include <boost/json.hpp>
#include <memory>
#include <string>
#include <vector>

#include "plugins/plugin.h"
#include "plugins/plugin_registry.h"

namespace torii::plugins {
namespace {

namespace json = boost::json;

constexpr std::string_view kSchema = R"json({
  "type": "object",
  "title": "work with route or service object",
  "properties": {
    "auth_plugins": {"type": "array", "minItems": 2}
  },
  "required": ["auth_plugins"]
})json";

struct SubPlugin {
  std::string name;
  std::shared_ptr<const Plugin> plugin;
};

class MultiAuth final : public Plugin {
 public:
  explicit MultiAuth(std::vector<SubPlugin> subs) : subs_(std::move(subs)) {
    for (const auto& s : subs_) async_ |= s.plugin->is_async(Phase::kRewrite);
  }

  uint8_t phases() const override { return bit(Phase::kRewrite); }
  bool is_async(Phase p) const override { return p == Phase::kRewrite && async_; }

  Step rewrite(PluginContext& ctx) const override {
    std::optional<Exit> last;
    for (const SubPlugin& s : subs_) {
      Step step = s.plugin->rewrite(ctx);
      if (!step) return kContinue;
      note_refusal(s, *step);
      last = std::move(step);
    }
    return failed(std::move(last));
  }

  net::Task<Step> rewrite_async(PluginContext& ctx) const override {
    std::optional<Exit> last;
    for (const SubPlugin& s : subs_) {
      Step step;
      if (s.plugin->is_async(Phase::kRewrite)) {
        step = co_await s.plugin->rewrite_async(ctx);
      } else {
        step = s.plugin->rewrite(ctx);
      }
      if (!step) co_return kContinue;
      note_refusal(s, *step);
      last = std::move(step);
    }
    co_return failed(std::move(last));
  }

 private:
  static void note_refusal(const SubPlugin& s, const Exit& e) {
    spdlog::warn("multi-auth: {} failed to authenticate the request, code: {}. error: {}", s.name,
                 e.status, e.body.substr(0, e.body.find('\n')));
  }

  static Exit failed(std::optional<Exit> last) {
    Exit e = Exit::message(401, "Authorization Failed");
    if (last) {
      for (auto& h : last->headers) {
        if (h.first == "WWW-Authenticate") e.headers.push_back(std::move(h));
      }
    }
    return e;
  }

  std::vector<SubPlugin> subs_;
  bool async_ = false;
};

core::Result<std::shared_ptr<const Plugin>> create(const json::object& conf, const PluginScope& scope) {
  std::vector<SubPlugin> subs;
  const auto* list = conf.if_contains("auth_plugins");
  if (!list || !list->is_array()) return core::config_error("auth_plugins: expected an array");
  for (const auto& item : list->get_array()) {
    if (!item.is_object() || item.get_object().size() != 1) {
      return core::config_error("auth_plugins: each item must be {\"<plugin>\": {<conf>}}");
    }
    const auto& [name_key, sub_conf] = *item.get_object().begin();
    const std::string name(name_key);
    const PluginInfo* info = find_plugin(name);
    if (!info || !info->is_auth || name == "multi-auth") {
      return core::config_error("plugin " + name + " is not supported");
    }
    if (auto st = check_plugin_conf(name, sub_conf, SchemaType::kRoute); !st) {
      return core::config_error("plugin " + name + " check schema failed: " + st.error().message);
    }
    auto made = info->create(sub_conf.get_object(), scope);
    if (!made) return core::config_error("plugin " + name + " check schema failed: " + made.error().message);
    subs.push_back({name, std::move(*made)});
  }
  return std::shared_ptr<const Plugin>(std::make_shared<MultiAuth>(std::move(subs)));
}

PluginInfo make_info() {
  PluginInfo info;
  info.name = "multi-auth";
  info.priority = 2600;
  info.schema = json::parse(kSchema);
  info.create = create;
  return info;
}

}  // namespace

namespace {
const plugins::PluginRegistration kRegistration{make_info()};
}

}  // namespace torii::plugins
