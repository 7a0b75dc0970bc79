#include "proxy/request_context.h"

#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "http/uri.h"
#include "proxy/upstream_request.h"
#include "upstream/upstream.h"

namespace torii::proxy {

void RequestContext::reset(const http::Request* req, std::shared_ptr<const config::Snapshot> snap) {
  req_ = req;
  snapshot_ = std::move(snap);
  start = {};  // set by the session when the request's first byte is there
  route = nullptr;
  match.params.clear();
  status = 0;
  body_bytes_sent = request_length = 0;
  upstream_addr.clear();
  upstream_status.clear();
  upstream_response_time.reset();
  upstream_host.clear();
  upstream_uri.clear();
  error.reset();
  scratch_.clear();
  upstream_uri_override.reset();
  upstream_method_override.clear();
  upstream_host_override.reset();
  upstream_override.reset();
  remote_addr_override.reset();
  max_body_size_override.reset();
  request_edits.clear();
  response_edits.clear();
  replaced_body.reset();
  exit.reset();
  answered_by_global_rewrite = false;
  request_body.reset();
  request_body_error.reset();
  plugin_states.clear();
  plugin_skip.clear();
  plugin_slot = 0;
  plugins_prepared = false;
  phases_stage = 0;
  phases_slot = 0;
  consumer_ref.reset();
  credential_id.clear();
  consumer_chain.reset();
  consumer_changed = false;
  response_base_ = nullptr;
  response_upstream_ = nullptr;
  response_local_ = nullptr;
}

std::vector<std::string_view> RequestContext::request_headers(std::string_view name) const {
  std::vector<std::string_view> out;
  for (const http::Header& h : req_->headers) {
    if (http::iequals(h.name, name)) out.push_back(h.value);
  }
  return out;
}

// Mirrors the Host choice of the first upstream attempt (upstream_exchange.cc),
// before a node is picked: pass_host "node" takes the first node's.
std::string RequestContext::upstream_head_copy(std::string_view target,
                                               uint64_t body_length) const {
  const upstream::Upstream* up =
      upstream_override ? upstream_override.get() : (route ? route->upstream.get() : nullptr);
  if (!up || up->nodes.empty()) return {};
  std::string_view host;
  if (upstream_host_override) host = *upstream_host_override;
  else if (up->pass_host == upstream::PassHost::kRewrite) host = up->upstream_host;
  else if (up->pass_host == upstream::PassHost::kPass && !req_->host_header.empty())
    host = req_->host_header;
  else host = up->nodes.front().host_header;
  http::Request copy = *req_;  // views into the client's head, used within this call
  copy.chunked = false;
  copy.websocket_upgrade = false;
  copy.content_length.reset();
  UpstreamHeadParams p;
  p.host = host;
  p.target = target;
  p.remote_addr = remote_addr();
  p.scheme = conn_.scheme;
  p.server_port = conn_.server_port;
  p.trust_forwarded =
      snapshot_->trusted_addresses && snapshot_->trusted_addresses->contains(conn_.remote_ip);
  p.method = upstream_method_override;
  p.edits = request_edits.empty() ? nullptr : &request_edits;
  if (body_length > 0) p.body_length = body_length;
  std::string out;
  build_upstream_request_head(copy, p, out);
  out.insert(out.size() - 2, "Connection: close\r\n");
  return out;
}

std::vector<std::pair<std::string_view, std::string_view>> RequestContext::all_request_headers()
    const {
  std::vector<std::pair<std::string_view, std::string_view>> out;
  out.reserve(req_->headers.size());
  for (const http::Header& h : req_->headers) out.emplace_back(h.name, h.value);
  return out;
}

namespace {

net::Task<core::Result<std::string_view>> no_body_source() {
  co_return core::Error{core::ErrorKind::kInvalid, core::ErrorSource::kInternal, false,
                        "read_request_body: no connection to read from"};
}

}  // namespace

net::Task<core::Result<std::string_view>> RequestContext::read_request_body(uint64_t limit) {
  // Not a coroutine itself: the session's operation is returned unstarted.
  if (!body_source_) return no_body_source();
  return body_source_->buffer_request_body(limit);
}

std::string_view RequestContext::route_id() const {
  return route ? std::string_view(route->id) : std::string_view();
}

std::string_view RequestContext::service_id() const {
  return route ? std::string_view(route->service_id) : std::string_view();
}

const plugins::ConsumerDirectory& RequestContext::consumers() const {
  static const plugins::ConsumerDirectory kNone;
  return snapshot_->consumers ? *snapshot_->consumers : kNone;
}

void RequestContext::attach_consumer(std::shared_ptr<const plugins::Consumer> c,
                                     std::string credential) {
  if (!c) return;
  // Set or removed, so a client cannot pass its own values upstream.
  request_edits.set("X-Consumer-Username", c->username);
  if (credential.empty()) {
    request_edits.remove("X-Credential-Identifier");
  } else {
    request_edits.set("X-Credential-Identifier", credential);
  }
  if (c->custom_id.empty()) {
    request_edits.remove("X-Consumer-Custom-ID");
  } else {
    request_edits.set("X-Consumer-Custom-ID", c->custom_id);
  }
  consumer_ref = std::move(c);
  credential_id = std::move(credential);
  consumer_changed = true;
}

void RequestContext::set_remote_addr(std::string addr) {
  boost::system::error_code ec;
  boost::asio::ip::make_address(addr, ec);
  if (!ec) remote_addr_override = std::move(addr);
}

void RequestContext::set_response_source(const char* base,
                                         const std::vector<http::HeaderSpan>* upstream) {
  response_base_ = base;
  response_upstream_ = upstream;
  response_local_ = nullptr;
}

void RequestContext::set_response_source(
    const std::vector<std::pair<std::string, std::string>>* local) {
  response_base_ = nullptr;
  response_upstream_ = nullptr;
  response_local_ = local;
}

std::optional<std::string_view> RequestContext::response_header(std::string_view name) const {
  bool decided = false;
  auto edited = response_edits.value(name, decided);
  if (decided) return edited;
  std::optional<std::string_view> first;
  std::string joined;  // from the second line of that name on
  const auto take = [&](std::string_view v) {
    if (!first) {
      first = v;
      return;
    }
    if (joined.empty()) joined.assign(*first);
    joined.append(", ").append(v);
  };
  if (response_upstream_) {
    for (const http::HeaderSpan& hs : *response_upstream_) {
      std::string_view n(response_base_ + hs.name.off, hs.name.len);
      if (http::iequals(n, name)) take(std::string_view(response_base_ + hs.value.off, hs.value.len));
    }
  }
  if (response_local_) {
    for (const auto& [n, v] : *response_local_) {
      if (http::iequals(n, name)) take(v);
    }
  }
  if (!joined.empty()) return keep(std::move(joined));
  return first;
}

std::string_view RequestContext::keep(std::string s) const {
  scratch_.push_back(std::move(s));
  return scratch_.back();
}

namespace {

// A duration in seconds as get() prints it ("%.3f") and a reader parses it
// back: rounded to the millisecond, bit for bit the same double.
double msec_seconds(core::Clock::duration d) {
  const double s = std::chrono::duration<double>(d).count();
  const double ms = s * 1000;
  // Next to half a millisecond (or past 11 days) the binary product may
  // round the other way than printf's decimal rounding does: ask printf.
  if (std::fabs(ms) < 1e9 && std::fabs(std::fabs(ms - std::trunc(ms)) - 0.5) > 1e-6) {
    return std::nearbyint(ms) / 1000;
  }
  char buf[32];
  const int n = std::snprintf(buf, sizeof(buf), "%.3f", s);
  double v = 0;
  if (n > 0) std::from_chars(buf, buf + std::strlen(buf), v);
  return v;
}

}  // namespace

plugins::PluginContext::LogFigures RequestContext::log_figures() const {
  LogFigures f;
  f.request_time = msec_seconds(core::Clock::now() - start);
  if (upstream_response_time) f.upstream_response_time = msec_seconds(*upstream_response_time);
  f.request_length = request_length;
  f.bytes_sent = body_bytes_sent;  // $bytes_sent is nil here: $body_bytes_sent
  return f;
}

namespace {
std::optional<std::string_view> nil_if_empty(const std::string& s) {
  if (s.empty()) return std::nullopt;
  return std::string_view(s);
}
}  // namespace

std::optional<std::string_view> RequestContext::get(const http::VarRef& ref) const {
  using http::Builtin;
  using Kind = http::VarRef::Kind;
  const http::Request& r = *req_;
  switch (ref.kind) {
    case Kind::kArg: {
      auto raw = http::find_query_arg(r.query, ref.name);
      if (!raw) return std::nullopt;
      if (raw->find_first_of("%+") == std::string_view::npos) return raw;
      return keep(http::percent_decode(*raw, true));
    }
    case Kind::kHeader:
      return r.header(ref.name);
    case Kind::kCookie: {
      auto h = r.header("cookie");
      if (!h) return std::nullopt;
      return http::find_cookie(*h, ref.name);
    }
    case Kind::kUriParam:
      for (const auto& [name, value] : match.params) {
        if (name == ref.name) return value;
      }
      return std::nullopt;
    case Kind::kBuiltin:
      break;
  }
  switch (ref.builtin) {
    case Builtin::kUri: return std::string_view(r.path);
    case Builtin::kRequestUri: return r.target;
    case Builtin::kQueryString:
      if (r.query.empty()) return std::nullopt;
      return r.query;
    case Builtin::kHost: return std::string_view(r.host);
    case Builtin::kRemoteAddr: return remote_addr();
    case Builtin::kRemotePort: return std::string_view(conn_.remote_port);
    case Builtin::kServerAddr: return std::string_view(conn_.server_addr);
    case Builtin::kServerPort: return std::string_view(conn_.server_port);
    case Builtin::kScheme: return conn_.scheme;
    case Builtin::kSslServerName: return nil_if_empty(conn_.ssl_server_name);
    case Builtin::kSslClientVerify: return nil_if_empty(conn_.ssl_client_verify);
    case Builtin::kSslClientSDn: return nil_if_empty(conn_.ssl_client_s_dn);
    case Builtin::kSslClientSerial: return nil_if_empty(conn_.ssl_client_serial);
    case Builtin::kRequestMethod: return r.method_token;
    case Builtin::kServerProtocol: return r.version_minor == 0 ? "HTTP/1.0" : "HTTP/1.1";
    case Builtin::kRequestLength: return keep(std::to_string(request_length));
    case Builtin::kContentLength: return r.header("content-length");
    case Builtin::kContentType: return r.header("content-type");
    case Builtin::kRouteId:
      if (!route) return std::nullopt;
      return std::string_view(route->id);
    case Builtin::kRouteName:
      if (!route || route->name.empty()) return std::nullopt;
      return std::string_view(route->name);
    case Builtin::kServiceId:
      if (!route || route->service_id.empty()) return std::nullopt;
      return std::string_view(route->service_id);
    case Builtin::kServiceName:
      if (!route || route->service_name.empty()) return std::nullopt;
      return std::string_view(route->service_name);
    case Builtin::kStatus:
      if (status == 0) return std::nullopt;
      return keep(std::to_string(status));
    case Builtin::kBodyBytesSent: return keep(std::to_string(body_bytes_sent));
    case Builtin::kRequestTime: {
      const auto d = std::chrono::duration<double>(core::Clock::now() - start).count();
      char buf[32];
      std::snprintf(buf, sizeof(buf), "%.3f", d);
      return keep(buf);
    }
    case Builtin::kUpstreamAddr:
      if (upstream_addr.empty()) return std::nullopt;
      return std::string_view(upstream_addr);
    case Builtin::kUpstreamStatus:
      if (upstream_status.empty()) return std::nullopt;
      return std::string_view(upstream_status);
    case Builtin::kUpstreamResponseTime: {
      if (!upstream_response_time) return std::nullopt;
      char buf[32];
      std::snprintf(buf, sizeof(buf), "%.3f",
                    std::chrono::duration<double>(*upstream_response_time).count());
      return keep(buf);
    }
    case Builtin::kUpstreamHost:
      if (upstream_host.empty()) return std::nullopt;
      return std::string_view(upstream_host);
    case Builtin::kUpstreamUri:
      if (upstream_uri.empty()) return std::nullopt;
      return std::string_view(upstream_uri);
    case Builtin::kUpstreamScheme:
      if (!route || !route->upstream) return std::nullopt;
      return route->upstream->scheme == upstream::Scheme::kHttps ? "https" : "http";
    case Builtin::kRequest: {
      std::string line(r.method_token);
      line.append(" ").append(r.target).append(r.version_minor == 0 ? " HTTP/1.0" : " HTTP/1.1");
      return keep(std::move(line));
    }
    case Builtin::kTimeLocal:
    case Builtin::kTimeIso8601:
    case Builtin::kMsec: {
      const auto now = std::chrono::system_clock::now();
      const std::time_t t = std::chrono::system_clock::to_time_t(now);
      std::tm tm;
      char buf[64];
      if (ref.builtin == Builtin::kMsec) {
        const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch());
        std::snprintf(buf, sizeof(buf), "%lld.%03lld", static_cast<long long>(ms.count() / 1000),
                      static_cast<long long>(ms.count() % 1000));
      } else if (ref.builtin == Builtin::kTimeLocal) {
        std::strftime(buf, sizeof(buf), "%d/%b/%Y:%H:%M:%S %z", localtime_r(&t, &tm));
      } else {
        // nginx's $time_iso8601 writes the offset as +00:00, strftime's %z as +0000.
        const size_t n = std::strftime(buf, sizeof(buf) - 1, "%Y-%m-%dT%H:%M:%S%z",
                                       localtime_r(&t, &tm));
        if (n >= 5) {
          buf[n + 1] = '\0';
          buf[n] = buf[n - 1];
          buf[n - 1] = buf[n - 2];
          buf[n - 2] = ':';
        }
      }
      return keep(buf);
    }
    case Builtin::kToriiErrorSource:
      if (!error) return std::nullopt;
      switch (error->source) {
        case core::ErrorSource::kDownstream: return "downstream";
        case core::ErrorSource::kUpstream: return "upstream";
        case core::ErrorSource::kInternal: return "internal";
        case core::ErrorSource::kConfig: return "config";
      }
      return std::nullopt;
    case Builtin::kToriiError:
      if (!error) return std::nullopt;
      return std::string_view(error->message);
    case Builtin::kConsumerName:
      if (!consumer_ref) return std::nullopt;
      return std::string_view(consumer_ref->username);
    case Builtin::kConsumerGroupId:
      if (!consumer_ref || consumer_ref->group_id.empty()) return std::nullopt;
      return std::string_view(consumer_ref->group_id);
    case Builtin::kRemoteUser:
    case Builtin::kRequestId:
    case Builtin::kHttpUserAgent:
    case Builtin::kHttpReferer:
    case Builtin::kUnknown:
      return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace torii::proxy
