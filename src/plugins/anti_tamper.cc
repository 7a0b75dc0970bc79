// anti-tamper (priority 2535, type auth; a Torii plugin, not in APISIX):
// proves a request comes from a consumer's key holder and was not changed
// on the way. The client signs the method, path, sorted query, chosen
// headers and the SHA-256 of the body with its secret (HMAC-SHA256 over the
// canonical string of signed_request.h); the gateway recomputes it over the
// bytes it received and refuses any difference.
//
// Phase: rewrite, asynchronous (it reads the body). Checks, in order, each
// answered through signing_reject.h:
//   1. the six X-Torii-* headers present, then well-formed   (401 / 400)
//   2. a credential with that X-Torii-Key                      (401)
//   3. the timestamp within allowed_clock_skew, else 401 with X-Torii-Server-Time
//   4. the signed headers include host, content-type when the request
//      declares a body (Content-Length > 0 or Transfer-Encoding), every
//      required_signed_headers name, and are all present        (401)
//   5. the signature, in constant time (before any body byte is read, so
//      a client without the secret cannot make the gateway buffer a body)
//   6. the body read (at most max_body_bytes, else 413) and its SHA-256
//      equal to X-Torii-Content-SHA256                          (401)
// then the consumer is attached as hmac-auth does. The body read here is
// what goes upstream, byte for byte.
//
// Security posture: the secret is encrypted at rest (encrypt_fields) and
// never logged; the log and the auth_reject_total counter carry the key,
// a hash of the nonce and the reason only. anti-tamper does not stop a
// replay inside the clock-skew window: pair it with anti-replay.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/json.hpp>
#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include "plugins/auth_common.h"
#include "plugins/consumer.h"
#include "plugins/plugin.h"
#include "plugins/plugin_registry.h"
#include "plugins/signed_request.h"
#include "plugins/signing_reject.h"

namespace torii::plugins {
namespace {

namespace json = boost::json;
using signing::Reject;
using signing::Rejection;

constexpr std::string_view kName = "anti-tamper";

constexpr std::string_view kSchema = R"json({
  "type": "object",
  "properties": {
    "allowed_clock_skew": {"type": "integer", "minimum": 1, "maximum": 900, "default": 300},
    "max_body_bytes": {"type": "integer", "minimum": 0, "maximum": 1073741824, "default": 8388608},
    "required_signed_headers": {
      "type": "array",
      "maxItems": 16,
      "uniqueItems": true,
      "items": {"type": "string", "pattern": "^[a-z0-9!#$%&'*+.^_`|~-]+$", "maxLength": 64}
    }
  },
  "additionalProperties": false
})json";

constexpr std::string_view kConsumerSchema = R"json({
  "type": "object",
  "properties": {
    "key": {"type": "string", "minLength": 1, "maxLength": 256},
    "secret": {"type": "string", "minLength": 16, "maxLength": 256}
  },
  "required": ["key", "secret"],
  "additionalProperties": false
})json";

struct AntiTamperConfig {
  int64_t allowed_clock_skew = 300;
  uint64_t max_body_bytes = 8388608;
  std::vector<std::string> required_signed_headers;
};

int64_t int_conf(const json::object& conf, std::string_view key, int64_t fallback) {
  const auto* v = conf.if_contains(key);
  return v && v->is_number() ? static_cast<int64_t>(v->to_number<double>()) : fallback;
}

bool declares_body(const PluginContext& ctx) {
  if (ctx.request_header("Transfer-Encoding")) return true;
  const auto cl = ctx.request_header("Content-Length");
  return cl && *cl != "0" && !cl->empty();
}

class AntiTamper final : public Plugin {
 public:
  explicit AntiTamper(AntiTamperConfig conf) : conf_(std::move(conf)) {}

  uint8_t phases() const override { return bit(Phase::kRewrite); }
  bool is_async(Phase p) const override { return p == Phase::kRewrite; }

  net::Task<Step> rewrite_async(PluginContext& ctx) const override {
    signing::SignedRequest req;
    const Credential* cred = nullptr;
    std::optional<int64_t> server_time;
    std::optional<Rejection> rejected = verify_head(ctx, req, cred, server_time);
    if (rejected) co_return signing::refuse(ctx, kName, *rejected, req.key, req.nonce, server_time);

    auto body = co_await ctx.read_request_body(conf_.max_body_bytes);
    if (!body) {
      if (body.error().kind == core::ErrorKind::kTooLarge) {
        co_return signing::refuse(ctx, kName, {Reject::kBodyTooLarge, "body exceeds max_body_bytes"},
                                  req.key, req.nonce);
      }
      // The client went away or stalled: not a signing failure.
      const int status = body.error().kind == core::ErrorKind::kTimeout ? 408 : 400;
      co_return Exit::message(status, "failed to read the request body");
    }
    const std::string digest = signing::sha256_hex(*body);
    if (!secrets_equal(digest, req.content_sha256)) {
      co_return signing::refuse(
          ctx, kName, {Reject::kBodyDigestMismatch, "content sha256 does not match body"}, req.key,
          req.nonce);
    }
    ctx.attach_consumer(cred->consumer, cred->id);
    co_return kContinue;
  }

 private:
  // Steps 1-5 of the header comment. nullopt: `req` and `cred` are set.
  std::optional<Rejection> verify_head(PluginContext& ctx, signing::SignedRequest& req,
                                       const Credential*& cred,
                                       std::optional<int64_t>& server_time) const {
    signing::SignatureHeaders h;
    h.key = ctx.request_header(signing::kKeyHeader);
    h.timestamp = ctx.request_header(signing::kTimestampHeader);
    h.nonce = ctx.request_header(signing::kNonceHeader);
    h.content_sha256 = ctx.request_header(signing::kContentSha256Header);
    h.signed_headers = ctx.request_header(signing::kSignedHeadersHeader);
    h.signature = ctx.request_header(signing::kSignatureHeader);
    // On failure `req` stays empty: nothing unchecked reaches the log.
    if (auto r = signing::parse_signed_request(h, req)) return r;

    cred = ctx.consumers().find(kName, req.key);
    const json::value* secret = cred ? cred->conf.if_contains("secret") : nullptr;
    if (!secret || !secret->is_string()) {
      return Rejection{Reject::kKeyInvalid, "unknown or disabled access key"};
    }

    const int64_t now = static_cast<int64_t>(std::time(nullptr));
    if (!signing::within_skew(req.timestamp_seconds, now, conf_.allowed_clock_skew)) {
      server_time = now;
      return Rejection{Reject::kTimestampExpired,
                       "request timestamp outside allowed skew of " +
                           std::to_string(conf_.allowed_clock_skew) + "s"};
    }

    if (auto r = check_signed_names(ctx, req.signed_headers)) return r;

    std::vector<std::string> values;
    values.reserve(req.signed_headers.size());
    for (std::string_view name : req.signed_headers) {
      const std::vector<std::string_view> sent = ctx.request_headers(name);
      if (sent.empty()) {
        return Rejection{Reject::kSignedHeadersInvalid,
                         "signed header missing from request: " + std::string(name)};
      }
      values.push_back(signing::canonical_header_value(sent));
    }
    signing::CanonicalRequest canonical;
    canonical.timestamp = req.timestamp;
    canonical.nonce = req.nonce;
    canonical.method = ctx.method_token();
    canonical.request_target = ctx.request_uri();
    canonical.content_sha256 = req.content_sha256;
    canonical.signed_headers = req.signed_headers;
    canonical.header_values = values;
    const std::string expected =
        signing::hmac_sha256_hex(secret->get_string(), signing::canonical_string(canonical));
    if (!secrets_equal(expected, req.signature)) {
      return Rejection{Reject::kSignatureMismatch, "signature does not match"};
    }
    return std::nullopt;
  }

  std::optional<Rejection> check_signed_names(const PluginContext& ctx,
                                              const std::vector<std::string_view>& names) const {
    auto has = [&](std::string_view n) {
      return std::binary_search(names.begin(), names.end(), n);
    };
    if (!has("host")) return Rejection{Reject::kSignedHeadersInvalid, "signed headers must include host"};
    if (declares_body(ctx) && !has("content-type")) {
      return Rejection{Reject::kSignedHeadersInvalid,
                       "signed headers must include content-type when there is a body"};
    }
    for (const std::string& n : conf_.required_signed_headers) {
      if (!has(n)) return Rejection{Reject::kSignedHeadersInvalid, "signed headers must include " + n};
    }
    return std::nullopt;
  }

  AntiTamperConfig conf_;
};

core::Result<std::shared_ptr<const Plugin>> create(const json::object& conf, const PluginScope&) {
  AntiTamperConfig c;
  c.allowed_clock_skew = int_conf(conf, "allowed_clock_skew", c.allowed_clock_skew);
  c.max_body_bytes = static_cast<uint64_t>(
      int_conf(conf, "max_body_bytes", static_cast<int64_t>(c.max_body_bytes)));
  if (const auto* v = conf.if_contains("required_signed_headers"); v && v->is_array()) {
    for (const auto& h : v->get_array()) {
      if (h.is_string()) c.required_signed_headers.emplace_back(h.get_string());
    }
  }
  return std::shared_ptr<const Plugin>(std::make_shared<AntiTamper>(std::move(c)));
}

PluginInfo make_info() {
  PluginInfo info;
  info.name = std::string(kName);
  // Above hmac-auth (2530): the first auth plugin to run on a route with both.
  info.priority = 2535;
  info.is_auth = true;
  info.consumer_key_field = "key";
  info.encrypt_fields = {"secret"};
  info.schema = json::parse(kSchema);
  info.consumer_schema = json::parse(kConsumerSchema);
  info.create = create;
  return info;
}

const PluginRegistration kRegistration{make_info()};

}  // namespace
}  // namespace torii::plugins
