#include "http/variables.h"

#include <array>
#include <utility>

namespace torii::http {
namespace {

constexpr std::array<std::pair<std::string_view, Builtin>, 43> kBuiltins{{
    {"uri", Builtin::kUri},
    {"document_uri", Builtin::kUri},
    {"request_uri", Builtin::kRequestUri},
    {"query_string", Builtin::kQueryString},
    {"args", Builtin::kQueryString},
    {"host", Builtin::kHost},
    {"remote_addr", Builtin::kRemoteAddr},
    {"remote_port", Builtin::kRemotePort},
    {"server_addr", Builtin::kServerAddr},
    {"server_port", Builtin::kServerPort},
    {"scheme", Builtin::kScheme},
    {"ssl_server_name", Builtin::kSslServerName},
    {"ssl_client_verify", Builtin::kSslClientVerify},
    {"ssl_client_s_dn", Builtin::kSslClientSDn},
    {"ssl_client_serial", Builtin::kSslClientSerial},
    {"request_method", Builtin::kRequestMethod},
    {"server_protocol", Builtin::kServerProtocol},
    {"request_length", Builtin::kRequestLength},
    {"content_length", Builtin::kContentLength},
    {"content_type", Builtin::kContentType},
    {"route_id", Builtin::kRouteId},
    {"route_name", Builtin::kRouteName},
    {"service_id", Builtin::kServiceId},
    {"service_name", Builtin::kServiceName},
    {"time_iso8601", Builtin::kTimeIso8601},
    {"msec", Builtin::kMsec},
    {"request_id", Builtin::kRequestId},
    {"status", Builtin::kStatus},
    {"body_bytes_sent", Builtin::kBodyBytesSent},
    {"request_time", Builtin::kRequestTime},
    {"upstream_addr", Builtin::kUpstreamAddr},
    {"upstream_status", Builtin::kUpstreamStatus},
    {"upstream_response_time", Builtin::kUpstreamResponseTime},
    {"upstream_host", Builtin::kUpstreamHost},
    {"upstream_uri", Builtin::kUpstreamUri},
    {"upstream_scheme", Builtin::kUpstreamScheme},
    {"request", Builtin::kRequest},
    {"time_local", Builtin::kTimeLocal},
    {"remote_user", Builtin::kRemoteUser},
    {"consumer_name", Builtin::kConsumerName},
    {"consumer_group_id", Builtin::kConsumerGroupId},
    {"torii_error_source", Builtin::kToriiErrorSource},
    {"torii_error", Builtin::kToriiError},
}};

std::string header_key(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c == '_') c = '-';
    else if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

}  // namespace

VarRef VarRef::parse(std::string_view name) {
  VarRef ref;
  ref.original = std::string(name);
  for (const auto& [n, b] : kBuiltins) {
    if (n == name) {
      ref.builtin = b;
      return ref;
    }
  }
  if (name == "http_user_agent") {
    ref.kind = Kind::kHeader;
    ref.name = "user-agent";
    ref.builtin = Builtin::kHttpUserAgent;
    return ref;
  }
  if (name == "http_referer") {
    ref.kind = Kind::kHeader;
    ref.name = "referer";
    ref.builtin = Builtin::kHttpReferer;
    return ref;
  }
  auto take = [&](std::string_view prefix, Kind kind) {
    if (name.size() > prefix.size() && name.substr(0, prefix.size()) == prefix) {
      ref.kind = kind;
      ref.name = std::string(name.substr(prefix.size()));
      return true;
    }
    return false;
  };
  if (take("arg_", Kind::kArg) || take("cookie_", Kind::kCookie) ||
      take("uri_param_", Kind::kUriParam)) {
    return ref;
  }
  if (take("http_", Kind::kHeader)) {
    ref.name = header_key(ref.name);
    return ref;
  }
  return ref;
}

}  // namespace torii::http
