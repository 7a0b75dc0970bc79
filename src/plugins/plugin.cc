#include "plugins/plugin.h"

#include <boost/json/serialize.hpp>
#include <charconv>

namespace torii::plugins {

namespace {

// Seconds as nginx prints them ("0.004"; a list "0.002, 0.001" for retries,
// summed; "-" for an attempt without a response counts 0). Nullopt when
// nothing parses.
std::optional<double> parse_seconds(std::optional<std::string_view> text) {
  if (!text) return std::nullopt;
  std::string_view s = *text;
  std::optional<double> total;
  while (!s.empty()) {
    const size_t comma = s.find(',');
    std::string_view item = s.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    double v = 0;
    const auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), v);
    if (ec == std::errc() && end == item.data() + item.size()) total = total.value_or(0) + v;
    if (comma == std::string_view::npos) break;
    s.remove_prefix(comma + 1);
  }
  return total;
}

uint64_t parse_uint(std::optional<std::string_view> s) {
  uint64_t v = 0;
  if (s) std::from_chars(s->data(), s->data() + s->size(), v);
  return v;
}

}  // namespace

PluginContext::LogFigures PluginContext::log_figures() const {
  static const http::VarRef request_time = http::VarRef::parse("request_time");
  static const http::VarRef upstream_response_time = http::VarRef::parse("upstream_response_time");
  static const http::VarRef request_length = http::VarRef::parse("request_length");
  static const http::VarRef bytes_sent = http::VarRef::parse("bytes_sent");
  static const http::VarRef body_bytes_sent = http::VarRef::parse("body_bytes_sent");
  LogFigures f;
  f.request_time = parse_seconds(get(request_time));
  f.upstream_response_time = parse_seconds(get(upstream_response_time));
  f.request_length = parse_uint(get(request_length));
  auto sent = get(bytes_sent);
  if (!sent) sent = get(body_bytes_sent);
  f.bytes_sent = parse_uint(sent);
  return f;
}

Exit Exit::message(int status, std::string_view msg) {
  boost::json::object o;
  o["message"] = msg;
  return json(status, o);
}

Exit Exit::json(int status, const boost::json::object& body) {
  Exit e;
  e.status = status;
  e.body = boost::json::serialize(body);
  e.body.push_back('\n');  // ngx.say's newline, as APISIX sends it
  return e;
}

net::Task<Step> Plugin::rewrite_async(PluginContext& ctx) const { co_return rewrite(ctx); }
net::Task<Step> Plugin::access_async(PluginContext& ctx) const { co_return access(ctx); }

}  // namespace torii::plugins
