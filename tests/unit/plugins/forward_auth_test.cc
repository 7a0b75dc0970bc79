// forward-auth's registration and conf checks (schema, then the uri and
// header-name checks of its factory). The calls to a real service are
// tested through the binary: tests/integration/plugin_forward_auth_test.cc.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>

#include "plugins/plugin_registry.h"

namespace torii::plugins {
namespace {

namespace json = boost::json;

const PluginInfo& info() {
  const PluginInfo* p = find_plugin("forward-auth");
  EXPECT_NE(p, nullptr);
  return *p;
}

// "" when the conf is accepted, else the first error.
std::string check(std::string_view conf) {
  auto st = check_plugin_conf("forward-auth", json::parse(conf), SchemaType::kRoute);
  if (!st) return st.error().message;
  auto made = info().create(json::parse(conf).as_object(), PluginScope{});
  return made ? "" : made.error().message;
}

TEST(PluginForwardAuthTest, RegistrationMatchesApisix) {
  EXPECT_EQ(info().priority, 2002);
  EXPECT_FALSE(info().is_auth);
  auto p = info().create(json::parse(R"({"uri":"http://127.0.0.1:9999/auth"})").as_object(),
                         PluginScope{});
  ASSERT_TRUE(p.ok());
  EXPECT_EQ((*p)->phases(), Plugin::bit(Phase::kAccess));
  EXPECT_TRUE((*p)->is_async(Phase::kAccess));
  EXPECT_FALSE((*p)->is_async(Phase::kRewrite));
}

TEST(PluginForwardAuthTest, AcceptedConfs) {
  for (const char* conf : {
           R"({"uri":"http://auth"})",
           R"({"uri":"https://auth.example.com:8443/verify?x=1"})",
           R"({"uri":"http://[::1]:8080/a"})",
           R"({"uri":"https://10.0.0.1/a#fragment", "ssl_verify": false})",
           R"({"uri":"http://a/", "request_method":"POST", "timeout":1, "keepalive":false,
               "keepalive_timeout":1000, "keepalive_pool":1, "allow_degradation":true,
               "status_on_error":200, "request_headers":["Authorization","Content-Length"],
               "upstream_headers":["X-User-ID"], "client_headers":["Location"],
               "extra_headers":{"X-Client":"$remote_addr ${uri}"}})",
       }) {
    EXPECT_EQ(check(conf), "") << conf;
  }
}

TEST(PluginForwardAuthTest, RefusedConfsNameTheProblem) {
  struct Case {
    const char* conf;
    const char* error;
  };
  const Case cases[] = {
      {R"({})", R"(property "uri" is required)"},
      {R"({"uri":"ftp://a/"})", R"(invalid uri "ftp://a/": the scheme must be http or https)"},
      {R"({"uri":"auth"})", R"(invalid uri "auth": not an absolute http or https URL)"},
      {R"({"uri":"http://u:p@a/"})",
       R"(invalid uri "http://u:p@a/": user information is not supported)"},
      {R"({"uri":"http://a:70000/"})", R"(invalid uri "http://a:70000/": invalid port)"},
      {R"({"uri":"http://a%0d/"})", R"(invalid uri "http://a%0d/": invalid host)"},
      {R"({"uri":"http:///x"})", R"(invalid uri "http:///x": invalid host)"},
      {R"({"uri":"http://a/","consumer_header":"X-User"})",
       "consumer_header is not supported by torii"},
      {R"({"uri":"http://a/","client_headers":["a:b"]})",
       R"(client_headers: invalid header name "a:b")"},
      {R"({"uri":"http://a/","extra_headers":{"X-A":"a\r\nb"}})",
       R"(extra_headers: the value of "X-A" holds a line break)"},
  };
  for (const Case& c : cases) {
    const std::string got = check(c.conf);
    EXPECT_NE(got.find(c.error), std::string::npos) << c.conf << " -> " << got;
  }
}

}  // namespace
}  // namespace torii::plugins
