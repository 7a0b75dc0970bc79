#include "proxy/client_guard.h"

#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <algorithm>
#include <string>
#include <string_view>

#include "core/deadline.h"
#include "observability/metrics.h"

namespace torii::proxy {

namespace {

observability::Counter& rejected_counter() {
  static observability::Counter& c = observability::MetricsRegistry::global().counter(
      "client_limit_rejected_total",
      "Client connections and requests refused by torii.client_limits, by reason", {"reason"});
  return c;
}

observability::Counter& bans_counter() {
  static observability::Counter& c = observability::MetricsRegistry::global().counter(
      "client_limit_bans_total", "Client IPs banned by torii.client_limits", {});
  return c;
}

observability::Counter& timeouts_counter() {
  static observability::Counter& c = observability::MetricsRegistry::global().counter(
      "client_timeouts_total",
      "Client requests ended by client_header_timeout or client_body_timeout, by phase", {"phase"});
  return c;
}

void count_refusal(unsigned worker, net::ClientRefusal refusal, bool ban_started) {
  const std::string_view labels[] = {net::refusal_name(refusal)};
  rejected_counter().inc(worker, labels);
  if (ban_started) bans_counter().inc(worker, {});
}

// One line per ban (not per refusal): enough to explain a client's
// complaint without letting a flood fill the log.
void log_ban(const boost::asio::ip::address& ip) {
  spdlog::warn("torii.client_limits: client {} banned after repeated violations", ip.to_string());
}

}  // namespace

net::ClientLimiter::Admission admit_client(net::ClientLimiter* limiter, net::TcpSocket& socket,
                                           unsigned worker) {
  if (!limiter) return {};
  boost::system::error_code ec;
  boost::asio::ip::address peer;  // only asked for (a syscall) when needed
  if (limiter->per_ip()) {
    peer = socket.remote_endpoint(ec).address();
    if (ec) return {};  // already gone: the session finds out on its first read
  }
  auto admission = limiter->admit(peer, core::coarse_now());
  if (admission) return admission;
  count_refusal(worker, admission.refusal(), admission.ban_started());
  if (admission.ban_started()) log_ban(peer);
  // Abortive close: a refused flood must not fill the node with TIME_WAIT.
  const linger lg{1, 0};
  ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
  socket.close(ec);
  return admission;
}

std::optional<RequestRefusal> check_client_request(net::ClientLimiter* limiter,
                                                   const boost::asio::ip::address& ip,
                                                   unsigned worker) {
  if (!limiter || !limiter->limits_requests()) return std::nullopt;
  const auto verdict = limiter->check_request(ip, core::coarse_now());
  if (verdict.refusal == net::ClientRefusal::kNone) return std::nullopt;
  count_refusal(worker, verdict.refusal, verdict.ban_started);
  if (verdict.ban_started) log_ban(ip);
  const auto secs = std::chrono::ceil<std::chrono::seconds>(verdict.retry_after).count();
  http::LocalReply reply(429, "application/json", "{\"error_msg\":\"429 Too Many Requests\"}\n");
  reply.headers.emplace_back("Retry-After", std::to_string(std::max<int64_t>(1, secs)));
  const bool banned = verdict.refusal == net::ClientRefusal::kBanned;
  return RequestRefusal{
      std::move(reply),
      core::Error{core::ErrorKind::kTooLarge, core::ErrorSource::kDownstream, false,
                  banned ? "client IP banned (torii.client_limits)"
                         : "client request rate over torii.client_limits"}};
}

void count_client_timeout(unsigned worker, const std::optional<core::Error>& error,
                          bool head_complete) {
  if (!error || error->kind != core::ErrorKind::kTimeout ||
      error->source != core::ErrorSource::kDownstream) {
    return;
  }
  const std::string_view labels[] = {head_complete ? "body" : "header"};
  timeouts_counter().inc(worker, labels);
}

}  // namespace torii::proxy
