// The helpers behind the transform plugins: `$var` templates (APISIX's
// resolve_var and redirect grammars), ngx.re.sub on RE2, and nginx's URI
// escaping.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "fake_plugin_context.h"
#include "plugins/regex_sub.h"
#include "plugins/var_template.h"

namespace torii::plugins {
namespace {

using testing::FakePluginContext;
using G = VarTemplate::Grammar;

std::string render(std::string_view tpl, G g = G::kResolveVar,
                   std::vector<std::string_view> caps = {}, bool with_caps = false) {
  FakePluginContext ctx;
  ctx.vars = {{"uri", "/a b"}, {"arg_name", "jack"}, {"host", "example.com"}, {"q", "x?y"}};
  return VarTemplate::compile(tpl, g, with_caps).render(ctx, caps);
}

TEST(VarTemplateTest, resolves_dollar_and_braced_names) {
  EXPECT_EQ(render("/x$uri/y"), "/x/a b/y");
  EXPECT_EQ(render("/x${arg_name}z"), "/xjackz");
  EXPECT_EQ(render("$arg_namez"), "");  // greedy name: arg_namez is unknown
  EXPECT_EQ(render("${arg_name}z"), "jackz");
}

TEST(VarTemplateTest, unknown_variables_render_empty_and_lone_dollars_stay) {
  EXPECT_EQ(render("/a/$nope/b"), "/a//b");
  EXPECT_EQ(render("cost: 5$"), "cost: 5$");
  EXPECT_EQ(render("$-$"), "$-$");
  EXPECT_EQ(render("${arg_name"), "${arg_name");
}

TEST(VarTemplateTest, backslash_keeps_a_reference_literal) {
  EXPECT_EQ(render("\\$arg_name"), "\\$arg_name");
  EXPECT_TRUE(VarTemplate::compile("plain text").is_literal());
  EXPECT_FALSE(VarTemplate::compile("$host").is_literal());
}

TEST(VarTemplateTest, redirect_grammar_drops_stray_backslashes) {
  EXPECT_EQ(render("https://$host/\\$arg_name", G::kRedirect), "https://example.com/\\$arg_name");
  EXPECT_EQ(render("/a\\b", G::kRedirect), "/ab");
  EXPECT_EQ(render("/p/${arg_name}?x=$host", G::kRedirect), "/p/jack?x=example.com");
}

TEST(VarTemplateTest, captures_mode_reads_regex_groups) {
  std::vector<std::string_view> caps = {"/api/v1", "api", "v1"};
  EXPECT_EQ(render("$1-${2}-$3-$arg_name", G::kResolveVar, caps, true), "api-v1--jack");
  EXPECT_EQ(render("$1", G::kResolveVar, {}, true), "");
}

TEST(VarTemplateTest, escape_applies_to_variable_values_only) {
  FakePluginContext ctx;
  ctx.vars = {{"q", "x?y"}};
  auto esc = [](std::string_view v, std::string& out) {
    for (char c : v) out += c == '?' ? std::string("%3F") : std::string(1, c);
  };
  EXPECT_EQ(VarTemplate::compile("/a?b=$q").render(ctx, {}, +esc), "/a?b=x%3Fy");
}

TEST(UriSafeEncodeTest, escapes_like_ngx_escape_uri) {
  EXPECT_EQ(uri_safe_encode("/a b#c%d?e"), "/a%20b%23c%25d%3Fe");
  EXPECT_EQ(uri_safe_encode("/ok/~-._!$&'()*+,;=:@"), "/ok/~-._!$&'()*+,;=:@");
  EXPECT_EQ(uri_safe_encode("/\xe4\xb8\xad\x7f\x01"), "/%E4%B8%AD%7F%01");
}

std::string sub(std::string_view subject, std::string_view re, std::string_view rep, bool global,
                std::string_view opts = "jo") {
  auto rx = RegexSub::compile(re, rep, opts);
  EXPECT_TRUE(rx.ok()) << (rx.ok() ? "" : rx.error().message);
  if (!rx.ok()) return "<error>";
  std::string out;
  rx->substitute(subject, out, global);
  return out;
}

TEST(RegexSubTest, replaces_once_or_globally_with_captures) {
  EXPECT_EQ(sub("/test/a/b", "^/test/(.*)/(.*)", "/$2/${1}", false), "/b/a");
  EXPECT_EQ(sub("aaa", "a", "b", false), "baa");
  EXPECT_EQ(sub("aaa", "a", "b", true), "bbb");
  EXPECT_EQ(sub("hello", "(x)?ell", "[$1]", false), "h[]o");
  EXPECT_EQ(sub("a$b", "\\$", "$$", true), "a$b");
  EXPECT_EQ(sub("abc", "", "-", true), "-a-b-c-");
  EXPECT_EQ(sub("nothing", "zzz", "y", true), "nothing");
}

TEST(RegexSubTest, options_follow_ngx_re) {
  EXPECT_EQ(sub("Hello", "hello", "bye", false, "ijo"), "bye");
  EXPECT_EQ(sub("Hello", "hello", "bye", false, "jo"), "Hello");
  EXPECT_EQ(sub("a\nb", "^b", "c", false, "m"), "a\nc");
}

TEST(RegexSubTest, refuses_bad_templates_patterns_and_flags) {
  EXPECT_EQ(RegexSub::compile("a", "$x").error().message,
            "failed to compile the replacement template");
  EXPECT_EQ(RegexSub::compile("a", "x$").error().message,
            "failed to compile the replacement template");
  EXPECT_EQ(RegexSub::compile("a", "${1").error().message,
            "failed to compile the replacement template");
  auto lookahead = RegexSub::compile("a(?=b)", "x");
  ASSERT_FALSE(lookahead.ok());
  EXPECT_NE(lookahead.error().message.find("RE2 cannot compile the pattern"), std::string::npos);
  EXPECT_EQ(RegexSub::compile("a", "b", "jq").error().message, "unknown flag \"q\" (flags \"jq\")");
  EXPECT_FALSE(RegexSub::compile("a", "b", "x").ok());
}

}  // namespace
}  // namespace torii::plugins
