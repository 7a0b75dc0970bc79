// basic-auth (priority 2520, type auth): identifies the consumer by HTTP
// Basic credentials (RFC 7617), as APISIX 3.x's plugin.
//
// Phase: rewrite. `Authorization: Basic base64(user:password)`; whitespace is
// stripped from the decoded user and password (APISIX). The user is looked
// up among the basic-auth confs of every consumer and credential, and the
// password compared in constant time. Failures answer 401 with
// `WWW-Authenticate: Basic realm="<realm>"` and
//   {"message":"Missing authorization in request"}   no Authorization header
//   {"message":"Invalid authorization in request"}   not Basic, bad base64, no ':'
//   {"message":"Invalid user authorization"}         unknown user, wrong password
// unless `anonymous_consumer` names a consumer to attach instead.
// `hide_credentials` removes the Authorization header before proxying.
//
// Consumer conf: {"username": "...", "password": "..."}; `username` is unique
// across consumers, `password` is encrypted at rest.
//
// Difference from APISIX: the password is everything after the first ':'
// (RFC 7617), where APISIX keeps only the text up to a second ':'.
#include <boost/json.hpp>
#include <memory>
#include <string>

#include "core/base64.h"
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
    "hide_credentials": {"type": "boolean", "default": false},
    "anonymous_consumer": {"type": "string", "minLength": 1},
    "realm": {"type": "string", "default": "basic"}
  }
})json";

constexpr std::string_view kConsumerSchema = R"json({
  "type": "object",
  "title": "work with consumer object",
  "properties": {
    "username": {"type": "string"},
    "password": {"type": "string"}
  },
  "required": ["username", "password"]
})json";

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v'; }

std::string strip_spaces(std::string_view in) {
  std::string out;
  for (char c : in) {
    if (!is_space(c)) out.push_back(c);
  }
  return out;
}

// Decodes "Basic <b64>" into user and password; false when malformed.
bool parse_basic(std::string_view header, std::string& user, std::string& password) {
  while (!header.empty() && is_space(header.front())) header.remove_prefix(1);
  constexpr std::string_view kScheme = "basic";
  if (header.size() <= kScheme.size() || !is_space(header[kScheme.size()])) return false;
  for (size_t i = 0; i < kScheme.size(); ++i) {
    if ((header[i] | 0x20) != kScheme[i]) return false;
  }
  header.remove_prefix(kScheme.size());
  while (!header.empty() && is_space(header.front())) header.remove_prefix(1);
  while (!header.empty() && is_space(header.back())) header.remove_suffix(1);
  if (header.empty()) return false;
  auto decoded = core::base64_decode(header);
  if (!decoded) return false;
  const size_t colon = decoded->find(':');
  if (colon == std::string::npos) return false;
  user = strip_spaces(std::string_view(*decoded).substr(0, colon));
  password = strip_spaces(std::string_view(*decoded).substr(colon + 1));
  return true;
}

struct BasicAuthConfig {
  bool hide_credentials = false;
  std::string anonymous_consumer;
  std::string realm = "basic";
};

class BasicAuth final : public Plugin {
 public:
  explicit BasicAuth(BasicAuthConfig conf) : conf_(std::move(conf)) {
    www_authenticate_ = "Basic realm=\"" + conf_.realm + "\"";
  }

  uint8_t phases() const override { return bit(Phase::kRewrite); }

  Step rewrite(PluginContext& ctx) const override {
    const char* failure = nullptr;
    const Credential* found = nullptr;
    auto header = ctx.request_header("Authorization");
    std::string user, password;
    if (!header) {
      failure = "Missing authorization in request";
    } else if (!parse_basic(*header, user, password)) {
      failure = "Invalid authorization in request";
    } else {
      found = ctx.consumers().find("basic-auth", user);
      const json::value* stored = found ? found->conf.if_contains("password") : nullptr;
      if (!stored || !stored->is_string() || !secrets_equal(stored->get_string(), password)) {
        found = nullptr;
        failure = "Invalid user authorization";
      }
    }
    if (!found) return refuse_or_anonymous(ctx, conf_.anonymous_consumer, failure, www_authenticate_);
    if (conf_.hide_credentials) ctx.remove_request_header("Authorization");
    ctx.attach_consumer(found->consumer, found->id);
    return kContinue;
  }

 private:
  BasicAuthConfig conf_;
  std::string www_authenticate_;
};

core::Result<std::shared_ptr<const Plugin>> create(const json::object& conf, const PluginScope&) {
  BasicAuthConfig c;
  c.hide_credentials = conf_bool(conf, "hide_credentials");
  c.anonymous_consumer = conf_string(conf, "anonymous_consumer");
  c.realm = conf_string(conf, "realm", c.realm);
  return std::shared_ptr<const Plugin>(std::make_shared<BasicAuth>(std::move(c)));
}

PluginInfo make_info() {
  PluginInfo info;
  info.name = "basic-auth";
  info.priority = 2520;
  info.is_auth = true;
  info.consumer_key_field = "username";
  info.encrypt_fields = {"password"};
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
