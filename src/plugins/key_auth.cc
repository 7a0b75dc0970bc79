// key-auth (priority 2500, type auth): identifies the consumer by an API key,
// as APISIX 3.x's plugin.
//
// Phase: rewrite. The key is read from the `header` request header (default
// "apikey"), else from the `query` argument (default "apikey"). It is looked
// up among the key-auth confs of every consumer and credential
// (ConsumerDirectory, whose index compares keys in constant time, so no
// secret bytes are compared with an early exit). Found: the consumer is attached (X-Consumer-*
// headers upstream, its plugins join the chain). Not found:
//   401 {"message":"Missing API key in request"}   (no key at all)
//   401 {"message":"Invalid API key in request"}   (unknown key)
// with `WWW-Authenticate: apikey realm="<realm>"`, unless `anonymous_consumer`
// names a consumer to attach instead (401 {"message":"Invalid user
// authorization"} when that consumer does not exist).
//
// `hide_credentials` removes the header (or the query argument) before the
// request goes upstream. Consumer conf: {"key": "..."}; `key` is unique
// across consumers (Admin API) and encrypted at rest (encrypt_fields).
//
// Security posture: keys never appear in logs or error bodies.
#include <boost/json.hpp>
#include <memory>
#include <string>

#include "http/uri.h"
#include "plugins/auth_common.h"
#include "plugins/consumer.h"
#include "plugins/plugin.h"
#include "plugins/plugin_registry.h"

namespace torii::plugins {
namespace {

namespace json = boost::json;

constexpr std::string_view kSchema = R"json({
  "type": "object",
  "properties": {
    "header": {"type": "string", "default": "apikey"},
    "query": {"type": "string", "default": "apikey"},
    "hide_credentials": {"type": "boolean", "default": false},
    "anonymous_consumer": {"type": "string", "minLength": 1},
    "realm": {"type": "string", "default": "key"}
  }
})json";

constexpr std::string_view kConsumerSchema = R"json({
  "type": "object",
  "properties": {
    "key": {"type": "string"}
  },
  "required": ["key"]
})json";

struct KeyAuthConfig {
  std::string header = "apikey";
  std::string query = "apikey";
  bool hide_credentials = false;
  std::string anonymous_consumer;
  std::string realm = "key";
};

class KeyAuth final : public Plugin {
 public:
  explicit KeyAuth(KeyAuthConfig conf) : conf_(std::move(conf)) {
    www_authenticate_ = "apikey realm=\"" + conf_.realm + "\"";
  }

  uint8_t phases() const override { return bit(Phase::kRewrite); }

  Step rewrite(PluginContext& ctx) const override {
    bool from_header = true;
    std::optional<std::string_view> key = ctx.request_header(conf_.header);
    std::string decoded;
    if (!key) {
      from_header = false;
      if (auto raw = http::find_query_arg(ctx.query(), conf_.query)) {
        decoded = http::percent_decode(*raw, true);
        key = decoded;
      }
    }
    const Credential* found = key ? ctx.consumers().find("key-auth", *key) : nullptr;
    if (!found) {
      return refuse_or_anonymous(ctx, conf_.anonymous_consumer,
                                 key ? "Invalid API key in request" : "Missing API key in request",
                                 www_authenticate_);
    }
    if (conf_.hide_credentials) {
      if (from_header) {
        ctx.remove_request_header(conf_.header);
      } else {
        remove_query_credential(ctx, conf_.query);
      }
    }
    ctx.attach_consumer(found->consumer, found->id);
    return kContinue;
  }

 private:
  KeyAuthConfig conf_;
  std::string www_authenticate_;
};

core::Result<std::shared_ptr<const Plugin>> create(const json::object& conf, const PluginScope&) {
  KeyAuthConfig c;
  c.header = conf_string(conf, "header", c.header);
  c.query = conf_string(conf, "query", c.query);
  c.realm = conf_string(conf, "realm", c.realm);
  c.anonymous_consumer = conf_string(conf, "anonymous_consumer");
  c.hide_credentials = conf_bool(conf, "hide_credentials");
  return std::shared_ptr<const Plugin>(std::make_shared<KeyAuth>(std::move(c)));
}

PluginInfo make_info() {
  PluginInfo info;
  info.name = "key-auth";
  info.priority = 2500;
  info.is_auth = true;
  info.consumer_key_field = "key";
  info.encrypt_fields = {"key"};
  info.schema = json::parse(kSchema);
  info.consumer_schema = json::parse(kConsumerSchema);
  info.create = create;
  return info;
}

}  // namespace

namespace {
const plugins::PluginRegistration kRegistration{make_info()};
}

}  // namespace torii::plugins
