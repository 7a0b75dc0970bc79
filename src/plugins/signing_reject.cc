#include "plugins/signing_reject.h"

#include <spdlog/spdlog.h>

#include <array>
#include <boost/json/object.hpp>
#include <string>

#include "observability/metrics.h"

namespace torii::plugins::signing {

namespace {

struct Row {
  int status;
  std::string_view code;
  std::string_view label;
};

// Indexed by Reject.
constexpr std::array<Row, 10> kTable = {{
    {401, "TORII_AUTH_MISSING", "auth_missing"},
    {400, "TORII_AUTH_MALFORMED", "auth_malformed"},
    {401, "TORII_KEY_INVALID", "key_invalid"},
    {401, "TORII_TIMESTAMP_EXPIRED", "timestamp_expired"},
    {401, "TORII_SIGNED_HEADERS_INVALID", "signed_headers_invalid"},
    {401, "TORII_BODY_DIGEST_MISMATCH", "body_digest_mismatch"},
    {401, "TORII_SIGNATURE_MISMATCH", "signature_mismatch"},
    {403, "TORII_NONCE_REPLAYED", "nonce_replayed"},
    {413, "TORII_BODY_TOO_LARGE", "body_too_large"},
    {503, "TORII_NONCE_STORE_UNAVAILABLE", "nonce_store_unavailable"},
}};
static_assert(static_cast<size_t>(Reject::kNonceStoreUnavailable) + 1 == kTable.size());

const Row& row(Reject r) { return kTable[static_cast<size_t>(r)]; }

observability::Counter& reject_counter() {
  static observability::Counter& c = observability::MetricsRegistry::global().counter(
      "auth_reject_total", "Requests refused by anti-tamper and anti-replay, by reason",
      {"plugin", "reason", "route"});
  return c;
}

}  // namespace

int status_of(Reject reason) { return row(reason).status; }
std::string_view error_code_of(Reject reason) { return row(reason).code; }
std::string_view reason_label_of(Reject reason) { return row(reason).label; }

Exit reject_reply(const Rejection& rejection, std::optional<int64_t> server_time) {
  boost::json::object body;
  body["error_code"] = error_code_of(rejection.reason);
  body["message"] = rejection.message;
  Exit e = Exit::json(status_of(rejection.reason), body);
  e.content_type = "application/json";
  e.headers.emplace_back(std::string(kErrorCodeHeader), std::string(error_code_of(rejection.reason)));
  if (server_time) e.headers.emplace_back(std::string(kServerTimeHeader), std::to_string(*server_time));
  return e;
}

void record_reject(PluginContext& ctx, std::string_view plugin, const Rejection& rejection,
                   std::string_view key, std::string_view nonce) {
  const std::string_view labels[] = {plugin, reason_label_of(rejection.reason), ctx.route_id()};
  reject_counter().inc(ctx.worker(), labels);
  const std::string nonce_hash = nonce.empty() ? std::string("-") : sha256_hex(nonce).substr(0, 16);
  spdlog::warn("{}: refused route={} key={} nonce_sha256={} reason={}: {}", plugin,
               ctx.route_id().empty() ? std::string_view("-") : ctx.route_id(),
               key.empty() ? std::string_view("-") : key.substr(0, 64), nonce_hash,
               error_code_of(rejection.reason), rejection.message);
}

Exit refuse(PluginContext& ctx, std::string_view plugin, const Rejection& rejection,
            std::string_view key, std::string_view nonce, std::optional<int64_t> server_time) {
  record_reject(ctx, plugin, rejection, key, nonce);
  return reject_reply(rejection, server_time);
}

}  // namespace torii::plugins::signing
