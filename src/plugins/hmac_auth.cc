// hmac-auth (priority 2530, type auth): identifies the consumer by an HMAC
// signature over parts of the request, as APISIX 3.x's plugin.
//
// Phase: rewrite (asynchronous when validate_request_body reads the body).
//   Authorization: Signature keyId="<key_id>",algorithm="hmac-sha256",
//                  headers="@request-target date x-custom",signature="<b64>"
// The signing string is the keyId, then one line per listed header:
// "<name>: <value>", or "<METHOD> <request_uri>" for @request-target (a
// header the request lacks is skipped), each followed by "\n". It is HMAC'd
// with the credential's secret_key; the signature is compared in constant
// time. Checks, in APISIX's order: keyId and signature present, algorithm
// present, a credential with that key_id, the algorithm in
// `allowed_algorithms`, the Date header within `clock_skew` seconds (when
// clock_skew > 0), every `signed_headers` entry (default ["date"]) among
// the signed headers,
// the signature, then with `validate_request_body` the
// `Digest: SHA-256=<base64(sha256(body))>` header (bodies over
// `max_req_body_size` answer 413).
// Failures answer 401 with `WWW-Authenticate: hmac realm="<realm>"`:
//   {"message":"client request can't be validated: <why>"} when the
//   Authorization header is missing or not a Signature; otherwise
//   {"message":"client request can't be validated"}, the reason logged.
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <spdlog/spdlog.h>

#include <boost/json.hpp>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include "core/base64.h"
#include "core/sha256.h"
#include "plugins/auth_common.h"
#include "plugins/consumer.h"
#include "plugins/plugin.h"
#include "plugins/plugin_registry.h"

namespace torii::plugins {
namespace {

namespace json = boost::json;

constexpr std::string_view kSchema = R"json({
  "type": "object",
  "title": "work with route or service object",
  "properties": {
    "allowed_algorithms": {
      "type": "array",
      "minItems": 1,
      "items": {"type": "string", "enum": ["hmac-sha1", "hmac-sha256", "hmac-sha512"]},
      "default": ["hmac-sha1", "hmac-sha256", "hmac-sha512"]
    },
    "clock_skew": {"type": "integer", "default": 300, "minimum": 1},
    "signed_headers": {
      "type": "array",
      "items": {"type": "string", "minLength": 1, "maxLength": 50},
      "default": ["date"]
    },
    "validate_request_body": {"type": "boolean", "default": false},
    "hide_credentials": {"type": "boolean", "default": false},
    "anonymous_consumer": {"type": "string", "minLength": 1},
    "realm": {"type": "string", "default": "hmac"},
    "max_req_body_size": {"type": "integer", "minimum": 1, "default": 67108864}
  }
})json";

constexpr std::string_view kConsumerSchema = R"json({
  "type": "object",
  "title": "work with consumer object",
  "properties": {
    "key_id": {"type": "string", "minLength": 1, "maxLength": 256},
    "secret_key": {"type": "string", "minLength": 1, "maxLength": 256}
  },
  "required": ["key_id", "secret_key"]
})json";

const EVP_MD* digest_for(std::string_view algorithm) {
  if (algorithm == "hmac-sha1") return EVP_sha1();
  if (algorithm == "hmac-sha256") return EVP_sha256();
  if (algorithm == "hmac-sha512") return EVP_sha512();
  return nullptr;
}

struct SignatureParams {
  std::string key_id;
  std::string algorithm;
  std::string signature;
  std::vector<std::string> headers;
  bool has_headers = false;
};

// `Signature k="v",k2="v2"`: false when the scheme is not Signature.
bool parse_signature(std::string_view auth, SignatureParams& out) {
  constexpr std::string_view kScheme = "Signature";
  if (auth.substr(0, kScheme.size()) != kScheme) return false;
  std::string_view rest = auth.substr(kScheme.size());
  while (!rest.empty()) {
    const size_t comma = rest.find(',');
    std::string_view field = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    while (!field.empty() && (field.front() == ' ' || field.front() == '\t')) field.remove_prefix(1);
    const size_t eq = field.find('=');
    if (eq == std::string_view::npos || eq + 1 >= field.size() || field[eq + 1] != '"') continue;
    const std::string_view name = field.substr(0, eq);
    std::string_view value = field.substr(eq + 2);
    const size_t close = value.find('"');
    if (close == std::string_view::npos) continue;
    value = value.substr(0, close);
    if (name == "keyId") out.key_id = std::string(value);
    else if (name == "algorithm") out.algorithm = std::string(value);
    else if (name == "signature") out.signature = std::string(value);
    else if (name == "headers") {
      out.has_headers = true;
      size_t pos = 0;
      while (pos < value.size()) {
        size_t sp = value.find(' ', pos);
        if (sp == std::string_view::npos) sp = value.size();
        if (sp > pos) out.headers.emplace_back(value.substr(pos, sp - pos));
        pos = sp + 1;
      }
    }
  }
  return true;
}

// IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT"); -1 when malformed.
int64_t parse_http_date(std::string_view text) {
  std::string s(text);
  std::tm tm{};
  const char* end = strptime(s.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (!end || *end != '\0') return -1;
  return static_cast<int64_t>(timegm(&tm));
}

struct HmacAuthConfig {
  std::vector<std::string> allowed_algorithms{"hmac-sha1", "hmac-sha256", "hmac-sha512"};
  int64_t clock_skew = 300;
  std::vector<std::string> signed_headers;
  bool validate_request_body = false;
  bool hide_credentials = false;
  std::string anonymous_consumer;
  std::string realm = "hmac";
  uint64_t max_req_body_size = 67108864;
};

constexpr std::string_view kCannotValidate = "client request can't be validated";
constexpr size_t kMaxSignedHeaders = 64;

// Why a request was refused; `shown` reasons go to the client, the others
// only to the log.
struct Failure {
  Failure(std::string why = {}, bool show = false) : reason(std::move(why)), shown(show) {}  // NOLINT: implicit
  Failure(const char* why) : reason(why) {}  // NOLINT: implicit
  std::string reason;
  bool shown = false;
};

class HmacAuth final : public Plugin {
 public:
  explicit HmacAuth(HmacAuthConfig conf) : conf_(std::move(conf)) {
    www_authenticate_ = "hmac realm=\"" + conf_.realm + "\"";
  }

  uint8_t phases() const override { return bit(Phase::kRewrite); }
  bool is_async(Phase p) const override { return p == Phase::kRewrite && conf_.validate_request_body; }

  Step rewrite(PluginContext& ctx) const override {
    const Credential* cred = nullptr;
    const Failure failure = check(ctx, cred);
    if (failure.reason.empty()) return accept(ctx, *cred);
    return refuse(ctx, failure);
  }

  net::Task<Step> rewrite_async(PluginContext& ctx) const override {
    const Credential* cred = nullptr;
    const Failure failure = check(ctx, cred);
    if (!failure.reason.empty()) co_return refuse(ctx, failure);
    auto body = co_await ctx.read_request_body(conf_.max_req_body_size);
    if (!body) {
      if (body.error().kind == core::ErrorKind::kTooLarge) {
        co_return Exit::message(413, "request body too large");
      }
      co_return refuse(ctx, {"reading the body: " + body.error().message});
    }
    const core::Sha256Digest digest = core::sha256(*body);
    const std::string expected =
        "SHA-256=" + core::base64_encode(std::string_view(reinterpret_cast<const char*>(digest.data()),
                                                          digest.size()));
    const auto got = ctx.request_header("Digest");
    if (!got || !secrets_equal(*got, expected)) co_return refuse(ctx, {"Invalid digest"});
    co_return accept(ctx, *cred);
  }

 private:
  // Empty reason: a valid signature (cred set).
  Failure check(PluginContext& ctx, const Credential*& cred) const {
    const auto auth = ctx.request_header("Authorization");
    if (!auth) return {"missing Authorization header", true};
    SignatureParams params;
    if (!parse_signature(*auth, params)) {
      return {"Authorization header does not start with 'Signature'", true};
    }
    // Each name may repeat a large header: bounded, so one request cannot
    // build a signing string of many megabytes.
    if (params.headers.size() > kMaxSignedHeaders) return {"too many signed headers"};
    if (params.key_id.empty() || params.signature.empty()) return "keyId or signature missing";
    if (params.algorithm.empty()) return "algorithm missing";
    cred = ctx.consumers().find("hmac-auth", params.key_id);
    if (!cred) return "Invalid keyId";
    bool allowed = false;
    for (const std::string& a : conf_.allowed_algorithms) allowed |= a == params.algorithm;
    const EVP_MD* md = digest_for(params.algorithm);
    if (!allowed || !md) return "Invalid algorithm";
    if (conf_.clock_skew > 0) {
      const auto date = ctx.request_header("Date");
      if (!date) return "Date header missing. failed to validate clock skew";
      const int64_t t = parse_http_date(*date);
      if (t < 0) return "Invalid GMT format time";
      if (std::llabs(static_cast<long long>(std::time(nullptr) - t)) > conf_.clock_skew) {
        return "Clock skew exceeded";
      }
    }
    if (!conf_.signed_headers.empty()) {
      if (!params.has_headers) return "headers missing";
      for (const std::string& h : conf_.signed_headers) {
        bool present = false;
        for (const std::string& p : params.headers) present |= p == h;
        if (!present) return "expected header \"" + h + "\" missing in signing";
      }
    }
    std::string signing = params.key_id + "\n";
    for (const std::string& h : params.headers) {
      if (auto v = ctx.request_header(h)) {
        signing.append(h).append(": ").append(*v).append("\n");
      } else if (h == "@request-target") {
        const std::string_view uri = ctx.request_uri().empty() ? "/" : ctx.request_uri();
        signing.append(ctx.method_token()).append(" ").append(uri).append("\n");
      }
    }
    const auto* secret = cred->conf.if_contains("secret_key");
    if (!secret || !secret->is_string()) return "Invalid keyId";
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    const std::string_view key = secret->get_string();
    HMAC(md, key.data(), static_cast<int>(key.size()),
         reinterpret_cast<const unsigned char*>(signing.data()), signing.size(), mac, &mac_len);
    const auto sent = core::base64_decode(params.signature);
    if (!sent || !secrets_equal(*sent, std::string_view(reinterpret_cast<char*>(mac), mac_len))) {
      return "Invalid signature";
    }
    return {};
  }

  Step accept(PluginContext& ctx, const Credential& cred) const {
    if (conf_.hide_credentials) ctx.remove_request_header("Authorization");
    ctx.attach_consumer(cred.consumer, cred.id);
    return kContinue;
  }

  Step refuse(PluginContext& ctx, const Failure& failure) const {
    if (failure.shown) {
      return refuse_or_anonymous(ctx, conf_.anonymous_consumer,
                                 std::string(kCannotValidate) + ": " + failure.reason,
                                 www_authenticate_);
    }
    spdlog::warn("hmac-auth: client request can't be validated: {}", failure.reason);
    return refuse_or_anonymous(ctx, conf_.anonymous_consumer, kCannotValidate, www_authenticate_);
  }

  HmacAuthConfig conf_;
  std::string www_authenticate_;
};

core::Result<std::shared_ptr<const Plugin>> create(const json::object& conf, const PluginScope&) {
  HmacAuthConfig c;
  if (const auto* v = conf.if_contains("allowed_algorithms"); v && v->is_array()) {
    c.allowed_algorithms.clear();
    for (const auto& a : v->get_array()) {
      if (a.is_string()) c.allowed_algorithms.emplace_back(a.get_string());
    }
  }
  if (const auto* v = conf.if_contains("clock_skew"); v && v->is_number()) {
    const double d = v->to_number<double>();
    c.clock_skew = d > 1e12 ? static_cast<int64_t>(1e12) : static_cast<int64_t>(d);
  }
  // APISIX 3.14+: absent means ["date"], so a signature always covers the
  // Date the clock-skew check reads (a captured signature without it would
  // verify again under any fresh Date); an explicit [] opts out.
  if (const auto* v = conf.if_contains("signed_headers"); !v) {
    c.signed_headers = {"date"};
  } else if (v->is_array()) {
    for (const auto& h : v->get_array()) {
      if (h.is_string()) c.signed_headers.emplace_back(h.get_string());
    }
  }
  if (const auto* v = conf.if_contains("max_req_body_size"); v && v->is_number()) {
    const double d = v->to_number<double>();
    c.max_req_body_size = d > 1e15 ? static_cast<uint64_t>(1e15) : static_cast<uint64_t>(d);
  }
  c.validate_request_body = conf_bool(conf, "validate_request_body");
  c.hide_credentials = conf_bool(conf, "hide_credentials");
  c.anonymous_consumer = conf_string(conf, "anonymous_consumer");
  c.realm = conf_string(conf, "realm", c.realm);
  return std::shared_ptr<const Plugin>(std::make_shared<HmacAuth>(std::move(c)));
}

PluginInfo make_info() {
  PluginInfo info;
  info.name = "hmac-auth";
  info.priority = 2530;
  info.is_auth = true;
  info.consumer_key_field = "key_id";
  info.encrypt_fields = {"secret_key"};
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
