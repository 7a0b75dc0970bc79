// Router: lua-resty-radixtree matching as APISIX users see it, for the three
// router kinds (paths, priorities, methods, remote_addrs, hosts, vars,
// parameters) and the build-time errors.
#include "router/router.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <string>
#include <vector>

#include "map_vars.h"

namespace torii::router {
namespace {

using boost::asio::ip::make_address;
using http::Method;
using testing::MapVars;

uint32_t bits(std::initializer_list<Method> ms) {
  uint32_t b = 0;
  for (Method m : ms) b |= static_cast<uint32_t>(m);
  return b;
}

RouteSpec route(uint32_t index, std::vector<std::string> uris) {
  RouteSpec r;
  r.index = index;
  r.uris = std::move(uris);
  return r;
}

RouteSpec with_hosts(RouteSpec r, std::vector<std::string> hosts) {
  r.hosts = std::move(hosts);
  return r;
}

RouteSpec with_priority(RouteSpec r, int priority) {
  r.priority = priority;
  return r;
}

std::unique_ptr<Router> build(RouterKind kind, const std::vector<RouteSpec>& routes) {
  auto r = Router::build(kind, routes);
  EXPECT_TRUE(r.ok()) << r.error().message;
  return r.ok() ? std::move(r.value()) : nullptr;
}

struct Req {
  std::string path;
  std::string host = "example.com";
  std::string host_header = "example.com";
  Method method = Method::kGet;
  std::string remote = "127.0.0.1";
  const http::VarSource* vars = nullptr;
};

// The winning RouteSpec::index, or -1 when nothing matches.
int match(const Router& router, const Req& q, Match* out = nullptr) {
  MatchRequest req;
  req.path = q.path;
  req.host = q.host;
  req.host_header = q.host_header;
  req.method = q.method;
  req.remote_addr = make_address(q.remote);
  req.vars = q.vars;
  Match m;
  bool ok = router.match(req, m);
  if (out) *out = m;
  return ok ? static_cast<int>(m.index) : -1;
}

int match_path(const Router& router, std::string path) { return match(router, Req{path}); }

const RouterKind kAllKinds[] = {RouterKind::kRadixtreeHostUri, RouterKind::kRadixtreeUri,
                                RouterKind::kRadixtreeUriWithParameter};

TEST(RouterTest, router_names_parse_as_in_config_yaml) {
  EXPECT_EQ(parse_router_kind("radixtree_host_uri"), RouterKind::kRadixtreeHostUri);
  EXPECT_EQ(parse_router_kind("radixtree_uri"), RouterKind::kRadixtreeUri);
  EXPECT_EQ(parse_router_kind("radixtree_uri_with_parameter"),
            RouterKind::kRadixtreeUriWithParameter);
  EXPECT_EQ(parse_router_kind("radixtree_sni"), std::nullopt);
}

TEST(RouterTest, exact_path_matches_only_itself) {
  for (RouterKind kind : kAllKinds) {
    auto r = build(kind, {route(1, {"/a/b"})});
    EXPECT_EQ(match_path(*r, "/a/b"), 1);
    EXPECT_EQ(match_path(*r, "/a/b/"), -1);
    EXPECT_EQ(match_path(*r, "/a"), -1);
    EXPECT_EQ(match_path(*r, "/a/bc"), -1);
  }
}

TEST(RouterTest, slash_star_prefix_does_not_match_the_bare_directory) {
  for (RouterKind kind : kAllKinds) {
    auto r = build(kind, {route(1, {"/a/*"})});
    EXPECT_EQ(match_path(*r, "/a/"), 1);
    EXPECT_EQ(match_path(*r, "/a/x"), 1);
    EXPECT_EQ(match_path(*r, "/a/x/y"), 1);
    EXPECT_EQ(match_path(*r, "/a"), -1);
    EXPECT_EQ(match_path(*r, "/ab"), -1);
  }
}

TEST(RouterTest, star_right_after_text_matches_the_text_itself) {
  auto r = build(RouterKind::kRadixtreeUri, {route(1, {"/a*"})});
  EXPECT_EQ(match_path(*r, "/a"), 1);
  EXPECT_EQ(match_path(*r, "/ab"), 1);
  EXPECT_EQ(match_path(*r, "/a/b"), 1);
  EXPECT_EQ(match_path(*r, "/b"), -1);
}

TEST(RouterTest, lone_star_matches_every_path) {
  auto r = build(RouterKind::kRadixtreeHostUri, {route(1, {"*"})});
  EXPECT_EQ(match_path(*r, "/"), 1);
  EXPECT_EQ(match_path(*r, "/anything/at/all"), 1);
}

TEST(RouterTest, exact_path_beats_any_prefix_whatever_the_priority) {
  auto r = build(RouterKind::kRadixtreeHostUri,
                 {with_priority(route(1, {"/a/*"}), 100), route(2, {"/a/b"})});
  EXPECT_EQ(match_path(*r, "/a/b"), 2);
  EXPECT_EQ(match_path(*r, "/a/c"), 1);
}

TEST(RouterTest, longest_prefix_wins_whatever_the_priority) {
  auto r = build(RouterKind::kRadixtreeUri,
                 {with_priority(route(1, {"/*"}), 100), with_priority(route(2, {"/api/*"}), 5),
                  route(3, {"/api/v1/*"})});
  EXPECT_EQ(match_path(*r, "/api/v1/users"), 3);
  EXPECT_EQ(match_path(*r, "/api/v2/users"), 2);
  EXPECT_EQ(match_path(*r, "/other"), 1);
}

TEST(RouterTest, priority_orders_routes_of_the_same_path) {
  auto r = build(
      RouterKind::kRadixtreeHostUri,
      {route(1, {"/p"}), with_priority(route(2, {"/p"}), 10), with_priority(route(3, {"/p"}), -1)});
  EXPECT_EQ(match_path(*r, "/p"), 2);
}

TEST(RouterTest, same_priority_prefers_the_longer_written_path) {
  // Both keys are "/a/"; "/a/*rest" was written longer.
  auto r = build(RouterKind::kRadixtreeUri, {route(1, {"/a/*"}), route(2, {"/a/*rest"})});
  EXPECT_EQ(match_path(*r, "/a/x"), 2);
}

TEST(RouterTest, full_tie_keeps_insertion_order) {
  auto r = build(RouterKind::kRadixtreeUri, {route(7, {"/t/*"}), route(3, {"/t/*"})});
  EXPECT_EQ(match_path(*r, "/t/x"), 7);
  auto e = build(RouterKind::kRadixtreeHostUri, {route(9, {"/e"}), route(4, {"/e"})});
  EXPECT_EQ(match_path(*e, "/e"), 9);
}

TEST(RouterTest, failed_conditions_on_exact_path_fall_through_to_prefixes) {
  RouteSpec exact = route(1, {"/a/b"});
  exact.methods = bits({Method::kPost});
  auto r = build(RouterKind::kRadixtreeHostUri, {exact, route(2, {"/a/*"}), route(3, {"/*"})});
  EXPECT_EQ(match(*r, Req{.path = "/a/b", .method = Method::kPost}), 1);
  EXPECT_EQ(match(*r, Req{.path = "/a/b", .method = Method::kGet}), 2);
}

TEST(RouterTest, failed_conditions_on_long_prefix_fall_through_to_shorter) {
  RouteSpec longer = route(1, {"/a/b/*"});
  longer.methods = bits({Method::kPut});
  auto r = build(RouterKind::kRadixtreeUri, {longer, route(2, {"/a/*"})});
  EXPECT_EQ(match(*r, Req{.path = "/a/b/c", .method = Method::kPut}), 1);
  EXPECT_EQ(match(*r, Req{.path = "/a/b/c", .method = Method::kGet}), 2);
}

TEST(RouterTest, several_uris_of_one_route_all_match) {
  auto r = build(RouterKind::kRadixtreeHostUri, {route(5, {"/x", "/y/*"})});
  EXPECT_EQ(match_path(*r, "/x"), 5);
  EXPECT_EQ(match_path(*r, "/y/z"), 5);
  EXPECT_EQ(match_path(*r, "/z"), -1);
}

TEST(RouterTest, star_in_the_middle_matches_anything_between) {
  for (RouterKind kind : kAllKinds) {
    auto r = build(kind, {route(1, {"/a/*/c"})});
    EXPECT_EQ(match_path(*r, "/a/x/c"), 1);
    EXPECT_EQ(match_path(*r, "/a/x/y/c"), 1);
    EXPECT_EQ(match_path(*r, "/a//c"), 1);
    EXPECT_EQ(match_path(*r, "/a/x/d"), -1);
    EXPECT_EQ(match_path(*r, "/a/x/c/d"), -1);
  }
}

TEST(RouterTest, star_inside_a_segment_acts_as_a_prefix_like_radixtree) {
  auto r = build(RouterKind::kRadixtreeUri, {route(1, {"/a/b*c/d"})});
  EXPECT_EQ(match_path(*r, "/a/bzzz"), 1);
  EXPECT_EQ(match_path(*r, "/a/c"), -1);
}

TEST(RouterTest, several_middle_stars_on_a_long_path_stay_fast) {
  auto r = build(RouterKind::kRadixtreeUri, {route(1, {"/*/*/*/*/x"})});
  std::string hostile(4000, '/');
  EXPECT_EQ(match_path(*r, hostile), -1);
  EXPECT_EQ(match_path(*r, "/a/b/c/d/x"), 1);
}

TEST(RouterTest, methods_restrict_the_route) {
  RouteSpec r1 = route(1, {"/m"});
  r1.methods = bits({Method::kGet, Method::kHead});
  auto r = build(RouterKind::kRadixtreeHostUri, {r1});
  EXPECT_EQ(match(*r, Req{.path = "/m", .method = Method::kGet}), 1);
  EXPECT_EQ(match(*r, Req{.path = "/m", .method = Method::kHead}), 1);
  EXPECT_EQ(match(*r, Req{.path = "/m", .method = Method::kPost}), -1);
  EXPECT_EQ(match(*r, Req{.path = "/m", .method = Method::kOther}), -1);
  auto any = build(RouterKind::kRadixtreeHostUri, {route(2, {"/m"})});
  EXPECT_EQ(match(*any, Req{.path = "/m", .method = Method::kPurge}), 2);
  EXPECT_EQ(match(*any, Req{.path = "/m", .method = Method::kOther}), 2);
}

TEST(RouterTest, remote_addrs_accept_ipv4_cidrs) {
  RouteSpec r1 = route(1, {"/ip"});
  r1.remote_addrs = {"10.0.0.0/8", "192.168.1.7"};
  auto r = build(RouterKind::kRadixtreeUri, {r1, route(2, {"/ip"})});
  EXPECT_EQ(match(*r, Req{.path = "/ip", .remote = "10.9.8.7"}), 1);
  EXPECT_EQ(match(*r, Req{.path = "/ip", .remote = "192.168.1.7"}), 1);
  EXPECT_EQ(match(*r, Req{.path = "/ip", .remote = "192.168.1.8"}), 2);
  EXPECT_EQ(match(*r, Req{.path = "/ip", .remote = "::ffff:10.0.0.1"}), 1);
}

TEST(RouterTest, remote_addrs_accept_ipv6_cidrs) {
  RouteSpec r1 = route(1, {"/ip"});
  r1.remote_addrs = {"2001:db8::/32", "::1"};
  auto r = build(RouterKind::kRadixtreeHostUri, {r1});
  EXPECT_EQ(match(*r, Req{.path = "/ip", .remote = "2001:db8:1::5"}), 1);
  EXPECT_EQ(match(*r, Req{.path = "/ip", .remote = "::1"}), 1);
  EXPECT_EQ(match(*r, Req{.path = "/ip", .remote = "2001:db9::1"}), -1);
  EXPECT_EQ(match(*r, Req{.path = "/ip", .remote = "127.0.0.1"}), -1);
}

TEST(RouterTest, vars_select_between_routes_of_one_path) {
  RouteSpec beta = route(1, {"/v"});
  beta.vars = boost::json::parse(R"js([["http_x_env","==","beta"]])js");
  auto r = build(RouterKind::kRadixtreeHostUri, {beta, route(2, {"/v"})});
  MapVars is_beta{{"http_x_env", "beta"}};
  MapVars other{{"http_x_env", "prod"}};
  EXPECT_EQ(match(*r, Req{.path = "/v", .vars = &is_beta}), 1);
  EXPECT_EQ(match(*r, Req{.path = "/v", .vars = &other}), 2);
  EXPECT_EQ(match(*r, Req{.path = "/v"}), 2) << "no VarSource: every variable is nil";
}

// Counts lookups, to show vars run last, after cheaper conditions.
class CountingVars final : public http::VarSource {
 public:
  std::optional<std::string_view> get(const http::VarRef&) const override {
    ++calls;
    return std::string_view("x");
  }
  mutable int calls = 0;
};

TEST(RouterTest, vars_are_not_evaluated_when_an_earlier_condition_fails) {
  RouteSpec r1 = route(1, {"/o"});
  r1.methods = bits({Method::kPost});
  r1.remote_addrs = {"10.0.0.0/8"};
  r1.vars = boost::json::parse(R"js([["arg_a","==","x"]])js");
  auto r = build(RouterKind::kRadixtreeUri, {r1});
  CountingVars vars;
  EXPECT_EQ(
      match(*r, Req{.path = "/o", .method = Method::kGet, .remote = "10.0.0.1", .vars = &vars}),
      -1);
  EXPECT_EQ(
      match(*r, Req{.path = "/o", .method = Method::kPost, .remote = "11.0.0.1", .vars = &vars}),
      -1);
  EXPECT_EQ(vars.calls, 0);
  EXPECT_EQ(
      match(*r, Req{.path = "/o", .method = Method::kPost, .remote = "10.0.0.1", .vars = &vars}),
      1);
  EXPECT_EQ(vars.calls, 1);
}

TEST(RouterTest, uri_router_checks_exact_and_wildcard_hosts_per_route) {
  auto r = build(RouterKind::kRadixtreeUri,
                 {with_hosts(route(1, {"/h"}), {"api.example.com"}),
                  with_hosts(route(2, {"/h"}), {"*.example.com"}), route(3, {"/h"})});
  EXPECT_EQ(match(*r, Req{.path = "/h", .host = "api.example.com"}), 1);
  EXPECT_EQ(match(*r, Req{.path = "/h", .host = "www.example.com"}), 2);
  EXPECT_EQ(match(*r, Req{.path = "/h", .host = "a.b.example.com"}), 2);
  EXPECT_EQ(match(*r, Req{.path = "/h", .host = "example.com"}), 3);
}

TEST(RouterTest, uri_router_host_order_follows_paths_not_hosts) {
  // radixtree_uri has no host tree: the first candidate of the path wins.
  auto r = build(RouterKind::kRadixtreeUri,
                 {route(1, {"/h"}), with_hosts(route(2, {"/h"}), {"api.example.com"})});
  EXPECT_EQ(match(*r, Req{.path = "/h", .host = "api.example.com"}), 1);
}

TEST(RouterTest, route_hosts_are_case_insensitive) {
  for (RouterKind kind : kAllKinds) {
    auto r = build(kind, {with_hosts(route(1, {"/c"}), {"API.Example.COM", "*.Foo.org"})});
    EXPECT_EQ(match(*r, Req{.path = "/c", .host = "api.example.com"}), 1);
    EXPECT_EQ(match(*r, Req{.path = "/c", .host = "x.foo.org"}), 1);
  }
}

TEST(RouterTest, uri_router_host_with_port_compares_the_host_header) {
  auto r = build(RouterKind::kRadixtreeUri, {with_hosts(route(1, {"/p"}), {"example.com:8080"})});
  EXPECT_EQ(match(*r, Req{.path = "/p", .host = "example.com", .host_header = "example.com:8080"}),
            1);
  EXPECT_EQ(match(*r, Req{.path = "/p", .host = "example.com", .host_header = "Example.com:8080"}),
            1);
  EXPECT_EQ(match(*r, Req{.path = "/p", .host = "example.com", .host_header = "example.com:9090"}),
            -1);
  EXPECT_EQ(match(*r, Req{.path = "/p", .host = "example.com", .host_header = "example.com"}), -1);
}

TEST(RouterTest, star_host_matches_any_host) {
  for (RouterKind kind : kAllKinds) {
    auto r = build(kind, {with_hosts(route(1, {"/s"}), {"*"})});
    EXPECT_EQ(match(*r, Req{.path = "/s", .host = "whatever.test"}), 1);
  }
}

TEST(RouterTest, wildcard_host_does_not_match_its_bare_domain) {
  for (RouterKind kind : kAllKinds) {
    auto r = build(kind, {with_hosts(route(1, {"/w"}), {"*.foo.com"})});
    EXPECT_EQ(match(*r, Req{.path = "/w", .host = "a.foo.com"}), 1);
    EXPECT_EQ(match(*r, Req{.path = "/w", .host = "foo.com"}), -1);
    EXPECT_EQ(match(*r, Req{.path = "/w", .host = "xfoo.com"}), -1);
  }
}

TEST(RouterTest, host_uri_prefers_host_routes_over_hostless_ones_for_the_same_uri) {
  // The host-less route is inserted first and has a higher priority, yet the
  // host route wins: host tables are tried before the host-less table.
  auto r = build(
      RouterKind::kRadixtreeHostUri,
      {with_priority(route(1, {"/x"}), 100), with_hosts(route(2, {"/x"}), {"api.example.com"})});
  EXPECT_EQ(match(*r, Req{.path = "/x", .host = "api.example.com"}), 2);
  EXPECT_EQ(match(*r, Req{.path = "/x", .host = "other.example.com"}), 1);
}

TEST(RouterTest, host_uri_host_route_with_a_shorter_prefix_beats_hostless_exact) {
  auto r = build(RouterKind::kRadixtreeHostUri,
                 {route(1, {"/a/b"}), with_hosts(route(2, {"/*"}), {"api.example.com"})});
  EXPECT_EQ(match(*r, Req{.path = "/a/b", .host = "api.example.com"}), 2);
}

TEST(RouterTest, host_uri_falls_back_to_hostless_routes_when_the_host_table_misses) {
  auto r = build(RouterKind::kRadixtreeHostUri,
                 {with_hosts(route(1, {"/only"}), {"api.example.com"}), route(2, {"/*"})});
  EXPECT_EQ(match(*r, Req{.path = "/only", .host = "api.example.com"}), 1);
  EXPECT_EQ(match(*r, Req{.path = "/other", .host = "api.example.com"}), 2);
  EXPECT_EQ(match(*r, Req{.path = "/only", .host = "unknown.test"}), 2);
}

TEST(RouterTest, host_uri_exact_host_beats_wildcards_and_longer_wildcard_beats_shorter) {
  auto r =
      build(RouterKind::kRadixtreeHostUri,
            {with_hosts(route(1, {"/*"}), {"*"}), with_hosts(route(2, {"/*"}), {"*.example.com"}),
             with_hosts(route(3, {"/*"}), {"*.api.example.com"}),
             with_hosts(route(4, {"/*"}), {"v1.api.example.com"})});
  EXPECT_EQ(match(*r, Req{.path = "/z", .host = "v1.api.example.com"}), 4);
  EXPECT_EQ(match(*r, Req{.path = "/z", .host = "v2.api.example.com"}), 3);
  EXPECT_EQ(match(*r, Req{.path = "/z", .host = "www.example.com"}), 2);
  EXPECT_EQ(match(*r, Req{.path = "/z", .host = "example.org"}), 1);
}

TEST(RouterTest, host_uri_moves_to_the_next_host_when_a_host_table_has_no_match) {
  auto r = build(RouterKind::kRadixtreeHostUri,
                 {with_hosts(route(1, {"/exact-only"}), {"a.example.com"}),
                  with_hosts(route(2, {"/wild/*"}), {"*.example.com"})});
  EXPECT_EQ(match(*r, Req{.path = "/wild/1", .host = "a.example.com"}), 2);
  EXPECT_EQ(match(*r, Req{.path = "/exact-only", .host = "a.example.com"}), 1);
}

TEST(RouterTest, host_uri_route_with_several_hosts_matches_each) {
  auto r =
      build(RouterKind::kRadixtreeHostUri, {with_hosts(route(1, {"/m"}), {"a.test", "*.b.test"})});
  EXPECT_EQ(match(*r, Req{.path = "/m", .host = "a.test"}), 1);
  EXPECT_EQ(match(*r, Req{.path = "/m", .host = "x.b.test"}), 1);
  EXPECT_EQ(match(*r, Req{.path = "/m", .host = "c.test"}), -1);
}

TEST(RouterTest, host_uri_priority_orders_routes_within_one_host) {
  auto r = build(RouterKind::kRadixtreeHostUri,
                 {with_hosts(route(1, {"/p"}), {"h.test"}),
                  with_hosts(with_priority(route(2, {"/p"}), 3), {"h.test"})});
  EXPECT_EQ(match(*r, Req{.path = "/p", .host = "h.test"}), 2);
}

TEST(RouterTest, host_uri_and_uri_routers_treat_colon_literally) {
  for (RouterKind kind : {RouterKind::kRadixtreeHostUri, RouterKind::kRadixtreeUri}) {
    auto r = build(kind, {route(1, {"/user/:id"})});
    EXPECT_EQ(match_path(*r, "/user/:id"), 1);
    EXPECT_EQ(match_path(*r, "/user/42"), -1);
  }
}

TEST(RouterTest, parameter_router_captures_named_segments) {
  auto r = build(RouterKind::kRadixtreeUriWithParameter, {route(1, {"/user/:id/post/:pid"})});
  Match m;
  const Req q1{.path = "/user/42/post/7"};  // m.params views its path
  EXPECT_EQ(match(*r, q1, &m), 1);
  ASSERT_EQ(m.params.size(), 2u);
  EXPECT_EQ(m.params[0].first, "id");
  EXPECT_EQ(m.params[0].second, "42");
  EXPECT_EQ(m.params[1].first, "pid");
  EXPECT_EQ(m.params[1].second, "7");
}

TEST(RouterTest, parameter_segment_needs_one_char_and_no_slash) {
  auto r = build(RouterKind::kRadixtreeUriWithParameter, {route(1, {"/user/:id"})});
  EXPECT_EQ(match_path(*r, "/user/1"), 1);
  EXPECT_EQ(match_path(*r, "/user/"), -1);
  EXPECT_EQ(match_path(*r, "/user/1/2"), -1);
  EXPECT_EQ(match_path(*r, "/user"), -1);
}

TEST(RouterTest, named_star_captures_the_rest_even_when_empty) {
  auto r = build(RouterKind::kRadixtreeUriWithParameter, {route(1, {"/user/:id/*action"})});
  Match m;
  const Req q2{.path = "/user/9/edit/now"};  // m.params views its path
  EXPECT_EQ(match(*r, q2, &m), 1);
  ASSERT_EQ(m.params.size(), 2u);
  EXPECT_EQ(m.params[0].second, "9");
  EXPECT_EQ(m.params[1].first, "action");
  EXPECT_EQ(m.params[1].second, "edit/now");
  const Req q3{.path = "/user/9/"};  // m.params views its path
  EXPECT_EQ(match(*r, q3, &m), 1);
  ASSERT_EQ(m.params.size(), 2u);
  EXPECT_EQ(m.params[1].second, "");
  EXPECT_EQ(match_path(*r, "/user/9"), -1);
}

TEST(RouterTest, parameter_routes_keep_exact_routes_first) {
  auto r = build(RouterKind::kRadixtreeUriWithParameter,
                 {route(1, {"/user/:id"}), route(2, {"/user/me"})});
  Match m;
  const Req q4{.path = "/user/me"};  // m.params views its path
  EXPECT_EQ(match(*r, q4, &m), 2);
  EXPECT_TRUE(m.params.empty());
  const Req q5{.path = "/user/you"};  // m.params views its path
  EXPECT_EQ(match(*r, q5, &m), 1);
  ASSERT_EQ(m.params.size(), 1u);
  EXPECT_EQ(m.params[0].second, "you");
}

TEST(RouterTest, failed_parameter_candidate_leaves_no_captures_behind) {
  auto r =
      build(RouterKind::kRadixtreeUriWithParameter, {route(1, {"/a/:x/b"}), route(2, {"/a/*"})});
  Match m;
  const Req q6{.path = "/a/1/c"};  // m.params views its path
  EXPECT_EQ(match(*r, q6, &m), 2);
  EXPECT_TRUE(m.params.empty());
}

TEST(RouterTest, uri_router_honours_hosts_with_parameters) {
  auto r = build(RouterKind::kRadixtreeUriWithParameter,
                 {with_hosts(route(1, {"/u/:id"}), {"a.test"}), route(2, {"/u/:id"})});
  EXPECT_EQ(match(*r, Req{.path = "/u/1", .host = "a.test"}), 1);
  EXPECT_EQ(match(*r, Req{.path = "/u/1", .host = "b.test"}), 2);
}

TEST(RouterTest, bad_remote_addr_fails_the_build_naming_the_route) {
  RouteSpec r1 = route(12, {"/x"});
  r1.remote_addrs = {"10.0.0.0/40"};
  auto r = Router::build(RouterKind::kRadixtreeHostUri, std::vector<RouteSpec>{r1});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().source, core::ErrorSource::kConfig);
  EXPECT_EQ(r.error().message, "routes[12].remote_addrs: invalid ip address: \"10.0.0.0/40\"");
}

TEST(RouterTest, bad_vars_fail_the_build_naming_the_route) {
  RouteSpec r1 = route(3, {"/x"});
  r1.vars = boost::json::parse(R"js([["arg_a","=","1"]])js");
  auto r = Router::build(RouterKind::kRadixtreeUri, std::vector<RouteSpec>{r1});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "routes[3].vars: invalid operator '='");

  r1.vars = boost::json::parse(R"js([["arg_a","~~","(?!x)"]])js");
  r = Router::build(RouterKind::kRadixtreeUri, std::vector<RouteSpec>{r1});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message,
            "routes[3].vars[0]: regex \"(?!x)\" is not supported: RE2 has no look-around");
}

TEST(RouterTest, route_without_uris_fails_the_build) {
  auto r = Router::build(RouterKind::kRadixtreeHostUri, std::vector<RouteSpec>{route(4, {})});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "routes[4].uris: at least one uri is required");
}

TEST(RouterTest, empty_router_matches_nothing) {
  for (RouterKind kind : kAllKinds) {
    auto r = build(kind, {});
    EXPECT_EQ(match_path(*r, "/"), -1);
  }
}

TEST(RouterTest, many_routes_each_match_their_own_paths) {
  std::vector<RouteSpec> routes;
  for (uint32_t i = 0; i < 5000; ++i) {
    routes.push_back(route(i, {"/svc" + std::to_string(i) + "/exact"}));
    routes.push_back(route(100000 + i, {"/svc" + std::to_string(i) + "/*"}));
  }
  for (RouterKind kind : kAllKinds) {
    auto r = build(kind, routes);
    for (uint32_t i : {0u, 1u, 10u, 123u, 4999u}) {
      std::string base = "/svc" + std::to_string(i);
      EXPECT_EQ(match_path(*r, base + "/exact"), static_cast<int>(i));
      EXPECT_EQ(match_path(*r, base + "/other/x"), static_cast<int>(100000 + i));
    }
    EXPECT_EQ(match_path(*r, "/svc5000/exact"), -1);
    EXPECT_EQ(match_path(*r, "/svc1"), -1);
  }
}

}  // namespace
}  // namespace torii::router
