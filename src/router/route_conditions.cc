// RouteConditions: compiling a RouteSpec's non-path conditions and checking
// them for one request without allocating.
#include "router/route_conditions.h"

namespace torii::router {
namespace {

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != b[i]) return false;
  }
  return true;
}

// Every variable resolves to nil: requests that come without a VarSource.
class NilVars final : public http::VarSource {
 public:
  std::optional<std::string_view> get(const http::VarRef&) const override { return std::nullopt; }
};
const NilVars kNilVars;

}  // namespace

HostPattern HostPattern::parse(std::string_view written) {
  HostPattern p;
  if (!written.empty() && written[0] == '*') {
    p.wildcard = true;
    written.remove_prefix(1);
  }
  p.host.reserve(written.size());
  for (char c : written) p.host.push_back(lower(c));
  p.with_port = p.host.find(':') != std::string::npos;
  return p;
}

bool HostPattern::matches(const MatchRequest& request) const {
  if (with_port) {
    // The Host header keeps the client's case; our pattern is lower-cased.
    std::string_view h = request.host_header;
    if (wildcard) return h.size() >= host.size() && iequals(h.substr(h.size() - host.size()), host);
    return iequals(h, host);
  }
  std::string_view h = request.host;
  if (wildcard) return h.ends_with(host);
  return h == host;
}

core::Result<RouteConditions> RouteConditions::compile(const RouteSpec& spec) {
  RouteConditions c;
  const std::string field = "routes[" + std::to_string(spec.index) + "]";
  c.index_ = spec.index;
  c.methods_ = spec.methods;
  if (!spec.remote_addrs.empty()) {
    auto ips = IpMatcher::build(spec.remote_addrs);
    if (!ips) return core::config_error(field + ".remote_addrs: " + ips.error().message);
    c.remote_addrs_ = std::move(ips.value());
  }
  c.hosts_.reserve(spec.hosts.size());
  for (const std::string& h : spec.hosts) c.hosts_.push_back(HostPattern::parse(h));
  if (!spec.vars.is_null()) {
    auto expr = Expr::compile(spec.vars);
    if (!expr) {
      const std::string& msg = expr.error().message;
      // Expr names the position inside the rule ("vars[0]: ..."); APISIX's
      // own messages ("invalid operator '='") carry no position.
      if (msg.starts_with("vars[")) return core::config_error(field + "." + msg);
      return core::config_error(field + ".vars: " + msg);
    }
    c.vars_ = std::move(expr.value());
  }
  return c;
}

bool RouteConditions::passes(const MatchRequest& request, bool check_hosts) const {
  if (methods_ != 0 && (methods_ & static_cast<uint32_t>(request.method)) == 0) return false;
  if (remote_addrs_ && !remote_addrs_->contains(request.remote_addr)) return false;
  if (check_hosts && !hosts_.empty()) {
    bool any = false;
    for (const HostPattern& h : hosts_) {
      if (h.matches(request)) {
        any = true;
        break;
      }
    }
    if (!any) return false;
  }
  if (vars_) return vars_->eval(request.vars ? *request.vars : kNilVars);
  return true;
}

core::Result<std::vector<RouteConditions>> compile_routes(std::span<const RouteSpec> routes) {
  std::vector<RouteConditions> out;
  out.reserve(routes.size());
  for (const RouteSpec& spec : routes) {
    if (spec.uris.empty()) {
      return core::config_error("routes[" + std::to_string(spec.index) +
                                "].uris: at least one uri is required");
    }
    auto c = RouteConditions::compile(spec);
    if (!c) return c.error();
    out.push_back(std::move(c.value()));
  }
  return out;
}

}  // namespace torii::router
