// client-control (priority 22000): per-route limits on what the client may
// send, as APISIX's plugin; today that is `max_body_size` (bytes; 0 means
// unlimited), which overrides client_max_body_size for the route.
//
// Phase: rewrite. A declared Content-Length over the limit is refused at
// once with 413 (the default error page); a chunked or otherwise longer
// body is refused with 413 by the proxy when the limit is crossed while
// reading, before anything over it is sent upstream.
//
// Security posture: lets one route accept large uploads without raising the
// global limit, or a sensitive route cap bodies tighter than the default.
#include <boost/json.hpp>
#include <charconv>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "plugins/plugin.h"
#include "plugins/plugin_registry.h"

namespace torii::plugins {
namespace {

namespace json = boost::json;

struct ClientControlConfig {
  std::optional<uint64_t> max_body_size;  // unset: leave the node's limit
};

constexpr std::string_view kSchema = R"json({
  "type": "object",
  "properties": {
    "max_body_size": {
      "type": "integer",
      "minimum": 0,
      "description": "Maximum message body size in bytes. No restriction when set to 0."
    }
  }
})json";

class ClientControl final : public Plugin {
 public:
  explicit ClientControl(ClientControlConfig conf) : conf_(conf) {}

  uint8_t phases() const override { return bit(Phase::kRewrite); }

  Step rewrite(PluginContext& ctx) const override {
    if (!conf_.max_body_size) return kContinue;
    uint64_t limit = *conf_.max_body_size;
    if (limit != 0) {
      if (auto cl = ctx.request_header("Content-Length")) {
        uint64_t len = 0;
        auto [end, ec] = std::from_chars(cl->data(), cl->data() + cl->size(), len);
        if (ec == std::errc() && end == cl->data() + cl->size() && len > limit) {
          Exit e;
          e.status = 413;
          return e;
        }
      }
    }
    ctx.set_max_body_size(limit);
    return kContinue;
  }

 private:
  ClientControlConfig conf_;
};

core::Result<std::shared_ptr<const Plugin>> create(const json::object& conf, const PluginScope&) {
  ClientControlConfig c;
  if (const auto* v = conf.if_contains("max_body_size")) {
    if (v->is_int64()) {
      c.max_body_size = static_cast<uint64_t>(v->get_int64());  // minimum 0: not negative
    } else if (v->is_uint64()) {
      c.max_body_size = v->get_uint64();
    } else if (v->is_double()) {  // 1024.0, or beyond 2^64: no practical limit
      double d = v->get_double();
      c.max_body_size = d >= 1.8e19 ? 0 : static_cast<uint64_t>(d);
    }
  }
  return std::shared_ptr<const Plugin>(std::make_shared<ClientControl>(c));
}

PluginInfo make_info() {
  PluginInfo info;
  info.name = "client-control";
  info.priority = 22000;
  info.schema = json::parse(kSchema);
  info.create = create;
  return info;
}

}  // namespace

namespace {
const plugins::PluginRegistration kRegistration{make_info()};
}

}  // namespace torii::plugins
