// Access-log format: nginx-style "$var" / "${var}" segments rendered from a
// request's variables, nil as "-", and quotes / backslashes / control bytes
// escaped as \xHH so a log line cannot be forged or split.
#include "observability/log_format.h"

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>

namespace torii::observability {
namespace {

// A VarSource keyed by the variable's name as written in the format.
class FakeVars final : public http::VarSource {
 public:
  FakeVars(std::initializer_list<std::pair<const std::string, std::string>> v) : values_(v) {}
  std::optional<std::string_view> get(const http::VarRef& ref) const override {
    auto it = values_.find(ref.original);
    if (it == values_.end()) return std::nullopt;
    return std::string_view(it->second);
  }

 private:
  std::map<std::string, std::string> values_;
};

std::string render(std::string_view format, const FakeVars& vars) {
  std::string out;
  LogFormat(format).render(vars, out);
  return out;
}

TEST(ObservabilityLogFormatTest, literal_only) {
  EXPECT_EQ(render("plain text", {}), "plain text\n");
  EXPECT_EQ(render("", {}), "\n");
}

TEST(ObservabilityLogFormatTest, variables_between_literals) {
  const FakeVars vars{{"remote_addr", "1.2.3.4"}, {"status", "200"}, {"request", "GET / HTTP/1.1"}};
  EXPECT_EQ(render("$remote_addr - \"$request\" $status", vars),
            "1.2.3.4 - \"GET / HTTP/1.1\" 200\n");
}

TEST(ObservabilityLogFormatTest, adjacent_variables) {
  const FakeVars vars{{"a", "1"}, {"b", "2"}};
  EXPECT_EQ(render("$a$b", vars), "12\n");
}

TEST(ObservabilityLogFormatTest, braces_delimit_the_name) {
  const FakeVars vars{{"status", "404"}, {"host", "h"}};
  EXPECT_EQ(render("${status}xyz", vars), "404xyz\n");
  EXPECT_EQ(render("[${host}]", vars), "[h]\n");
}

TEST(ObservabilityLogFormatTest, name_ends_at_a_non_name_character) {
  const FakeVars vars{{"status", "200"}};
  EXPECT_EQ(render("$status-$status.$status/", vars), "200-200.200/\n");
}

TEST(ObservabilityLogFormatTest, header_variables) {
  const FakeVars vars{{"http_user_agent", "curl/8"}, {"http_x_request_id", "abc"}};
  EXPECT_EQ(render("\"$http_user_agent\" $http_x_request_id", vars), "\"curl/8\" abc\n");
}

TEST(ObservabilityLogFormatTest, nil_and_empty_render_as_dash) {
  const FakeVars vars{{"empty", ""}};
  EXPECT_EQ(render("$missing $empty ${missing}", vars), "- - -\n");
}

TEST(ObservabilityLogFormatTest, lone_dollar_and_unclosed_brace_are_literal) {
  const FakeVars vars{{"a", "1"}};
  EXPECT_EQ(render("cost $ 5", vars), "cost $ 5\n");
  EXPECT_EQ(render("end$", vars), "end$\n");
  EXPECT_EQ(render("${a", vars), "${a\n");
  EXPECT_EQ(render("${}", vars), "${}\n");
}

TEST(ObservabilityLogFormatTest, quotes_backslashes_and_control_bytes_are_escaped) {
  const FakeVars vars{{"ua", "a\"b\\c\nd\re\tf\x01g\x7fh"}};
  EXPECT_EQ(render("\"$ua\"", vars), "\"a\\x22b\\x5Cc\\x0Ad\\x0De\\x09f\\x01g\\x7Fh\"\n");
}

TEST(ObservabilityLogFormatTest, non_ascii_bytes_are_escaped) {
  const FakeVars vars{{"uri", "/caf\xC3\xA9"}};
  EXPECT_EQ(render("$uri", vars), "/caf\\xC3\\xA9\n");
}

TEST(ObservabilityLogFormatTest, literals_are_not_escaped) {
  // The format itself is trusted configuration.
  EXPECT_EQ(render("\"quoted\"\t$x", {{"x", "v"}}), "\"quoted\"\tv\n");
}

TEST(ObservabilityLogFormatTest, render_appends) {
  LogFormat f("$a");
  std::string out = "first\n";
  f.render(FakeVars{{"a", "x"}}, out);
  f.render(FakeVars{{"a", "y"}}, out);
  EXPECT_EQ(out, "first\nx\ny\n");
}

TEST(ObservabilityLogFormatTest, apisix_default_format_renders) {
  const std::string format =
      "$remote_addr - $remote_user [$time_local] $http_host \"$request\" $status "
      "$body_bytes_sent $request_time \"$http_referer\" \"$http_user_agent\" $upstream_addr "
      "$upstream_status $upstream_response_time \"$upstream_scheme://$upstream_host$upstream_uri\"";
  const FakeVars vars{{"remote_addr", "127.0.0.1"},
                      {"time_local", "26/Nov/2026:10:01:41 +0000"},
                      {"http_host", "h:9080"},
                      {"request", "GET /x HTTP/1.1"},
                      {"status", "200"},
                      {"body_bytes_sent", "5"},
                      {"request_time", "0.001"},
                      {"http_user_agent", "curl"},
                      {"upstream_addr", "127.0.0.1:8080"},
                      {"upstream_status", "200"},
                      {"upstream_response_time", "0.001"},
                      {"upstream_scheme", "http"},
                      {"upstream_host", "h"},
                      {"upstream_uri", "/x"}};
  EXPECT_EQ(render(format, vars),
            "127.0.0.1 - - [26/Nov/2026:10:01:41 +0000] h:9080 \"GET /x HTTP/1.1\" 200 5 0.001 "
            "\"-\" \"curl\" 127.0.0.1:8080 200 0.001 \"http://h/x\"\n");
}

}  // namespace
}  // namespace torii::observability
