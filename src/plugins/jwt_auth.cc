// jwt-auth (priority 2510, type auth): identifies the consumer by a JSON Web
// Token, as APISIX 3.x's plugin.
//
// Phase: rewrite. The token is read from the `header` request header
// (default "authorization", a "Bearer " / "bearer " prefix stripped), else
// the `query` argument (default "jwt"), else the `cookie` (default "jwt").
// The payload's `key_claim_name` claim (default "key") names the credential;
// the signature is verified with that credential's algorithm and key (the
// token's `alg` must equal it: "none" or an algorithm switch is refused),
// then `exp` and `nbf` when present (with the consumer's
// lifetime_grace_period seconds of slack), and every claim listed in
// `claims_to_verify` must be present. Failures answer 401 with
// `WWW-Authenticate: Bearer realm="<realm>"`:
//   Missing JWT token in request | JWT token invalid |
//   missing user key in JWT token | Invalid user key in JWT token |
//   failed to verify jwt
// (as {"message": ...}), unless `anonymous_consumer` names a consumer to
// attach instead.
//
// Consumer conf: key (unique), algorithm (HS256 default; HS384/512, RS*,
// PS*, ES256/384/512, EdDSA), secret (HS*, encrypted at rest,
// base64_secret), public_key (PEM, the others), exp, lifetime_grace_period.
// Keys are parsed once per configuration (prepare_credential), never per
// request. Tokens larger than 16 KiB are invalid.
#include <boost/json.hpp>
#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include "http/uri.h"
#include "plugins/auth_common.h"
#include "plugins/consumer.h"
#include "plugins/jwt.h"
#include "plugins/plugin.h"
#include "plugins/plugin_registry.h"

namespace torii::plugins {
namespace {

namespace json = boost::json;

constexpr std::string_view kSchema = R"json({
  "type": "object",
  "properties": {
    "header": {"type": "string", "default": "authorization"},
    "query": {"type": "string", "default": "jwt"},
    "cookie": {"type": "string", "default": "jwt"},
    "hide_credentials": {"type": "boolean", "default": false},
    "key_claim_name": {"type": "string", "default": "key", "minLength": 1},
    "store_in_ctx": {"type": "boolean", "default": false},
    "anonymous_consumer": {"type": "string", "minLength": 1},
    "realm": {"type": "string", "default": "jwt"},
    "claims_to_verify": {
      "type": "array",
      "items": {"type": "string", "enum": ["exp", "nbf"]},
      "uniqueItems": true
    }
  }
})json";

constexpr std::string_view kConsumerSchema = R"json({
  "type": "object",
  "properties": {
    "key": {"type": "string"},
    "secret": {"type": "string"},
    "algorithm": {
      "type": "string",
      "enum": ["HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
               "ES256", "ES384", "ES512", "EdDSA"],
      "default": "HS256"
    },
    "exp": {"type": "integer", "minimum": 1, "default": 86400},
    "base64_secret": {"type": "boolean", "default": false},
    "lifetime_grace_period": {"type": "integer", "minimum": 0, "default": 0},
    "public_key": {"type": "string"}
  },
  "required": ["key"],
  "if": {
    "properties": {"algorithm": {"enum": ["HS256", "HS384", "HS512"]}}
  },
  "then": {"required": ["secret"]},
  "else": {"required": ["public_key"]}
})json";

// What a credential carries once prepared.
struct JwtCredential {
  std::shared_ptr<const jwt::Key> key;
  int64_t grace = 0;  // lifetime_grace_period, seconds
};

core::Result<std::shared_ptr<const void>> prepare(const json::object& conf) {
  auto str = [&](std::string_view k) -> std::string_view {
    const auto* v = conf.if_contains(k);
    return v && v->is_string() ? std::string_view(v->get_string()) : std::string_view();
  };
  std::string_view alg_name = str("algorithm");
  if (alg_name.empty()) alg_name = "HS256";
  auto alg = jwt::algorithm_from_name(alg_name);
  if (!alg) return core::config_error("algorithm: unknown " + std::string(alg_name));
  bool base64_secret = false;
  if (const auto* v = conf.if_contains("base64_secret"); v && v->is_bool()) base64_secret = v->get_bool();
  auto key = jwt::Key::create(*alg, str("secret"), base64_secret, str("public_key"));
  if (!key) return key.error();
  auto out = std::make_shared<JwtCredential>();
  out->key = std::move(*key);
  if (const auto* v = conf.if_contains("lifetime_grace_period"); v && v->is_number()) {
    const double d = v->to_number<double>();
    out->grace = d < 0 ? 0 : d > 1e9 ? 1000000000 : static_cast<int64_t>(d);
  }
  return std::shared_ptr<const void>(std::move(out));
}

struct JwtAuthConfig {
  std::string header = "authorization";
  std::string query = "jwt";
  std::string cookie = "jwt";
  bool hide_credentials = false;
  std::string key_claim_name = "key";
  std::string anonymous_consumer;
  std::string realm = "jwt";
  std::vector<std::string> claims_to_verify;
};

enum class Source : uint8_t { kHeader, kQuery, kCookie };

// The Cookie header without the cookie `name`.
std::string without_cookie(std::string_view header, std::string_view name) {
  std::string out;
  size_t pos = 0;
  while (pos < header.size()) {
    size_t end = header.find(';', pos);
    if (end == std::string_view::npos) end = header.size();
    std::string_view pair = header.substr(pos, end - pos);
    while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
    if (!pair.empty() && pair.substr(0, pair.find('=')) != name) {
      if (!out.empty()) out += "; ";
      out.append(pair);
    }
    pos = end + 1;
  }
  return out;
}

// NumericDate claim check: false when present and not a number.
bool number_claim(const json::object& payload, std::string_view name, std::optional<double>& out) {
  const auto* v = payload.if_contains(name);
  if (!v) return true;
  if (!v->is_number()) return false;
  out = v->to_number<double>();
  return true;
}

class JwtAuth final : public Plugin {
 public:
  explicit JwtAuth(JwtAuthConfig conf) : conf_(std::move(conf)) {
    www_authenticate_ = "Bearer realm=\"" + conf_.realm + "\"";
  }

  uint8_t phases() const override { return bit(Phase::kRewrite); }

  Step rewrite(PluginContext& ctx) const override {
    Source source = Source::kHeader;
    std::string token;
    if (auto h = ctx.request_header(conf_.header)) {
      std::string_view v = *h;
      if (v.substr(0, 7) == "Bearer " || v.substr(0, 7) == "bearer ") v.remove_prefix(7);
      token = std::string(v);
    } else if (auto q = http::find_query_arg(ctx.query(), conf_.query)) {
      source = Source::kQuery;
      token = http::percent_decode(*q, true);
    } else if (auto c = ctx.request_header("Cookie")) {
      if (auto v = http::find_cookie(*c, conf_.cookie)) {
        source = Source::kCookie;
        token = std::string(*v);
      }
    }
    const char* failure = authenticate(ctx, token);
    if (failure) return refuse_or_anonymous(ctx, conf_.anonymous_consumer, failure, www_authenticate_);
    if (conf_.hide_credentials) hide(ctx, source);
    return kContinue;
  }

 private:
  // Attaches the consumer, or returns APISIX's failure message.
  const char* authenticate(PluginContext& ctx, const std::string& token) const {
    if (token.empty()) return "Missing JWT token in request";
    auto parsed = jwt::parse_jwt(token);
    if (!parsed) return "JWT token invalid";
    const auto* user_key = parsed->payload.if_contains(conf_.key_claim_name);
    if (!user_key || !user_key->is_string()) return "missing user key in JWT token";
    const Credential* cred = ctx.consumers().find("jwt-auth", user_key->get_string());
    if (!cred || !cred->prepared) return "Invalid user key in JWT token";
    const auto& prepared = *static_cast<const JwtCredential*>(cred->prepared.get());
    if (!prepared.key->verify(*parsed)) return "failed to verify jwt";
    std::optional<double> exp, nbf;
    if (!number_claim(parsed->payload, "exp", exp) || !number_claim(parsed->payload, "nbf", nbf)) {
      return "failed to verify jwt";
    }
    const double now = static_cast<double>(std::time(nullptr));
    const double grace = static_cast<double>(prepared.grace);
    if (exp && now - grace >= *exp) return "failed to verify jwt";
    if (nbf && now + grace < *nbf) return "failed to verify jwt";
    for (const std::string& claim : conf_.claims_to_verify) {
      if (!parsed->payload.contains(claim)) return "failed to verify jwt";
    }
    ctx.attach_consumer(cred->consumer, cred->id);
    return nullptr;
  }

  void hide(PluginContext& ctx, Source source) const {
    switch (source) {
      case Source::kHeader:
        ctx.remove_request_header(conf_.header);
        break;
      case Source::kQuery:
        remove_query_credential(ctx, conf_.query);
        break;
      case Source::kCookie: {
        std::string rest = without_cookie(ctx.request_header("Cookie").value_or(""), conf_.cookie);
        if (rest.empty()) {
          ctx.remove_request_header("Cookie");
        } else {
          ctx.set_request_header("Cookie", std::move(rest));
        }
        break;
      }
    }
  }

  JwtAuthConfig conf_;
  std::string www_authenticate_;
};

core::Result<std::shared_ptr<const Plugin>> create(const json::object& conf, const PluginScope&) {
  JwtAuthConfig c;
  c.header = conf_string(conf, "header", c.header);
  c.query = conf_string(conf, "query", c.query);
  c.cookie = conf_string(conf, "cookie", c.cookie);
  c.key_claim_name = conf_string(conf, "key_claim_name", c.key_claim_name);
  c.anonymous_consumer = conf_string(conf, "anonymous_consumer");
  c.realm = conf_string(conf, "realm", c.realm);
  c.hide_credentials = conf_bool(conf, "hide_credentials");
  if (const auto* v = conf.if_contains("claims_to_verify"); v && v->is_array()) {
    for (const auto& x : v->get_array()) {
      if (x.is_string()) c.claims_to_verify.emplace_back(x.get_string());
    }
  }
  return std::shared_ptr<const Plugin>(std::make_shared<JwtAuth>(std::move(c)));
}

PluginInfo make_info() {
  PluginInfo info;
  info.name = "jwt-auth";
  info.priority = 2510;
  info.is_auth = true;
  info.consumer_key_field = "key";
  info.encrypt_fields = {"secret"};
  info.schema = json::parse(kSchema);
  info.consumer_schema = json::parse(kConsumerSchema);
  info.prepare_credential = prepare;
  info.create = create;
  return info;
}

}  // namespace

namespace {
const plugins::PluginRegistration kRegistration{make_info()};
}

}  // namespace torii::plugins
