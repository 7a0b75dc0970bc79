// The standalone file (APISIX's conf/apisix.yaml / apisix.json): the #END
// guard for YAML, collections of items with ids (explicit, arr_<n>, or a
// consumer's username), and errors naming the collection and item.
#include "config/standalone_file.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace torii::config {
namespace {

core::Result<ResourceSet> yaml(const std::string& text) {
  return parse_standalone(text, FileFormat::kYaml);
}
core::Result<ResourceSet> json(const std::string& text) {
  return parse_standalone(text, FileFormat::kJson);
}

std::string error_of(const core::Result<ResourceSet>& r) {
  EXPECT_FALSE(r.ok());
  return r.ok() ? std::string() : r.error().message;
}

TEST(ConfigStandaloneFileTest, yaml_with_end_marker_is_parsed) {
  auto r = yaml(
      "routes:\n"
      "  - id: r1\n"
      "    uri: /a\n"
      "    upstream_id: u1\n"
      "upstreams:\n"
      "  - id: u1\n"
      "    nodes:\n"
      "      \"127.0.0.1:80\": 1\n"
      "#END\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->items("routes").size(), 1u);
  EXPECT_EQ(r->items("routes")[0].id, "r1");
  EXPECT_EQ(r->items("routes")[0].value.at("uri"), "/a");
  ASSERT_EQ(r->items("upstreams").size(), 1u);
  EXPECT_EQ(r->items("upstreams")[0].id, "u1");
  EXPECT_TRUE(r->items("services").empty());
}

TEST(ConfigStandaloneFileTest, yaml_without_end_marker_is_refused) {
  const std::string msg = error_of(yaml("routes:\n  - uri: /a\n"));
  EXPECT_NE(msg.find("#END"), std::string::npos) << msg;
}

TEST(ConfigStandaloneFileTest, end_marker_must_be_the_last_line) {
  EXPECT_FALSE(yaml("#END\nroutes:\n  - uri: /a\n").ok());
  EXPECT_FALSE(yaml("routes:\n  - uri: /a\n#END\nupstreams: []\n").ok());
  EXPECT_FALSE(yaml("routes:\n  - uri: /a\n#END here\n").ok());
  EXPECT_FALSE(yaml("routes:\n  - uri: /a\n  #END\n").ok());
  EXPECT_FALSE(yaml("routes:\n  - uri: /a\n#ENDING\n").ok());
}

TEST(ConfigStandaloneFileTest, trailing_blank_lines_and_crlf_after_end_are_fine) {
  EXPECT_TRUE(yaml("routes:\n  - uri: /a\n#END").ok());
  EXPECT_TRUE(yaml("routes:\n  - uri: /a\n#END\n\n\n").ok());
  EXPECT_TRUE(yaml("routes:\r\n  - uri: /a\r\n#END\r\n").ok());
}

TEST(ConfigStandaloneFileTest, file_of_only_end_marker_is_empty) {
  auto r = yaml("#END\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->collections.empty());
}

TEST(ConfigStandaloneFileTest, json_needs_no_end_marker) {
  auto r = json(R"({"routes":[{"id":"r1","uri":"/a"}],"upstreams":[]})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->items("routes").size(), 1u);
  EXPECT_EQ(r->items("routes")[0].id, "r1");
  EXPECT_TRUE(r->items("upstreams").empty());
}

TEST(ConfigStandaloneFileTest, invalid_json_is_an_error) {
  const std::string msg = error_of(json(R"({"routes":[{"uri":"/a"})"));
  EXPECT_NE(msg.find("invalid JSON"), std::string::npos) << msg;
}

TEST(ConfigStandaloneFileTest, a_json_number_out_of_range_is_an_error) {
  const std::string msg = error_of(json(R"({"routes":[{"id":"r1","uri":"/a","priority":1e400}]})"));
  EXPECT_NE(msg.find("number is out of range"), std::string::npos) << msg;
}

// YAML scalars that overflow a double stay strings (and fail their schema).
TEST(ConfigStandaloneFileTest, a_yaml_number_out_of_range_is_not_infinity) {
  auto r = yaml("routes:\n  - id: r1\n    uri: /a\n    priority: 1e400\n#END\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->items("routes").size(), 1u);
  const auto& v = r->items("routes")[0].value;
  ASSERT_TRUE(v.at("priority").is_string());
}

TEST(ConfigStandaloneFileTest, items_without_id_get_arr_index) {
  auto r = yaml(
      "routes:\n"
      "  - uri: /a\n"
      "  - id: named\n"
      "    uri: /b\n"
      "  - uri: /c\n"
      "#END\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  const auto& items = r->items("routes");
  ASSERT_EQ(items.size(), 3u);
  EXPECT_EQ(items[0].id, "arr_1");
  EXPECT_EQ(items[1].id, "named");
  EXPECT_EQ(items[2].id, "arr_3");
  // Load order is kept (the router's last tie-breaker).
  EXPECT_EQ(items[2].value.at("uri"), "/c");
}

TEST(ConfigStandaloneFileTest, integer_ids_become_strings) {
  auto r = json(R"({"upstreams":[{"id":1,"nodes":{}}, {"id":"2","nodes":{}}]})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->items("upstreams")[0].id, "1");
  EXPECT_EQ(r->items("upstreams")[1].id, "2");
}

TEST(ConfigStandaloneFileTest, id_of_wrong_type_is_an_error) {
  const std::string msg = error_of(json(R"({"routes":[{"uri":"/a"},{"id":true,"uri":"/b"}]})"));
  EXPECT_NE(msg.find("routes[2].id"), std::string::npos) << msg;
}

TEST(ConfigStandaloneFileTest, consumers_are_keyed_by_username) {
  auto r = yaml(
      "consumers:\n"
      "  - username: jack\n"
      "  - username: rose\n"
      "#END\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->items("consumers").size(), 2u);
  EXPECT_EQ(r->items("consumers")[0].id, "jack");
  EXPECT_EQ(r->items("consumers")[1].id, "rose");
}

TEST(ConfigStandaloneFileTest, duplicate_id_is_an_error) {
  const std::string msg = error_of(yaml(
      "routes:\n"
      "  - id: r1\n"
      "    uri: /a\n"
      "  - id: r1\n"
      "    uri: /b\n"
      "#END\n"));
  EXPECT_NE(msg.find("routes[2]"), std::string::npos) << msg;
  EXPECT_NE(msg.find("duplicate id \"r1\""), std::string::npos) << msg;
}

TEST(ConfigStandaloneFileTest, explicit_id_colliding_with_generated_id_is_an_error) {
  const std::string msg = error_of(json(R"({"routes":[{"uri":"/a"},{"id":"arr_1","uri":"/b"}]})"));
  EXPECT_NE(msg.find("duplicate id \"arr_1\""), std::string::npos) << msg;
}

TEST(ConfigStandaloneFileTest, same_id_in_different_collections_is_fine) {
  auto r = json(R"({"routes":[{"id":"1","uri":"/a"}],"upstreams":[{"id":"1","nodes":{}}]})");
  EXPECT_TRUE(r.ok()) << r.error().message;
}

TEST(ConfigStandaloneFileTest, unknown_collection_is_an_error) {
  const std::string msg = error_of(yaml("rutes:\n  - uri: /a\n#END\n"));
  EXPECT_NE(msg.find("unknown collection \"rutes\""), std::string::npos) << msg;
}

TEST(ConfigStandaloneFileTest, all_apisix_collections_are_known) {
  for (const char* c : {"routes", "services", "upstreams", "consumers", "ssls", "global_rules",
                        "plugin_configs", "consumer_groups", "plugin_metadata", "stream_routes",
                        "protos", "secrets"}) {
    auto r = json(std::string(R"({")") + c + R"(":[{"id":"x"}]})");
    EXPECT_TRUE(r.ok()) << c << ": " << r.error().message;
  }
}

TEST(ConfigStandaloneFileTest, plugins_list_is_not_a_collection) {
  auto r = yaml(
      "plugins:\n"
      "  - name: ip-restriction\n"
      "  - name: limit-count\n"
      "routes: []\n"
      "#END\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_FALSE(r->collections.count("plugins"));
}

TEST(ConfigStandaloneFileTest, non_object_item_names_the_item) {
  const std::string msg = error_of(yaml(
      "routes:\n"
      "  - uri: /a\n"
      "  - just a string\n"
      "#END\n"));
  EXPECT_NE(msg.find("routes[2]: expected an object"), std::string::npos) << msg;
}

TEST(ConfigStandaloneFileTest, collection_that_is_not_an_array_is_an_error) {
  const std::string msg = error_of(json(R"({"routes":{"uri":"/a"}})"));
  EXPECT_NE(msg.find("routes"), std::string::npos) << msg;
}

TEST(ConfigStandaloneFileTest, null_collection_is_empty) {
  auto r = yaml("routes:\n#END\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->items("routes").empty());
}

TEST(ConfigStandaloneFileTest, top_level_must_be_a_map) {
  EXPECT_FALSE(yaml("- a\n- b\n#END\n").ok());
  EXPECT_FALSE(json("[1,2]").ok());
}

TEST(ConfigStandaloneFileTest, env_vars_are_substituted_in_yaml_and_json) {
  setenv("TORII_TEST_SF_URI", "/from-env", 1);
  auto y = yaml("routes:\n  - uri: ${{TORII_TEST_SF_URI}}\n    id: ${{TORII_TEST_SF_ID:=r9}}\n#END\n");
  auto j = json(R"({"routes":[{"uri":"${{TORII_TEST_SF_URI}}","id":"${{TORII_TEST_SF_ID:=r9}}"}]})");
  unsetenv("TORII_TEST_SF_URI");
  ASSERT_TRUE(y.ok()) << y.error().message;
  ASSERT_TRUE(j.ok()) << j.error().message;
  EXPECT_EQ(y->items("routes")[0].value.at("uri"), "/from-env");
  EXPECT_EQ(y->items("routes")[0].id, "r9");
  EXPECT_EQ(j->items("routes")[0].value.at("uri"), "/from-env");
  EXPECT_EQ(j->items("routes")[0].id, "r9");
}

TEST(ConfigStandaloneFileTest, missing_env_var_is_an_error) {
  unsetenv("TORII_TEST_SF_MISSING");
  const std::string msg = error_of(yaml("routes:\n  - uri: ${{TORII_TEST_SF_MISSING}}\n#END\n"));
  EXPECT_NE(msg.find("TORII_TEST_SF_MISSING"), std::string::npos) << msg;
}

class ConfigStandaloneFileLoadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/torii_standalone_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& content) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path) << content;
    return path;
  }
  std::string dir_;
};

TEST_F(ConfigStandaloneFileLoadTest, format_follows_the_extension) {
  // JSON content without #END loads as .json ...
  auto j = load_standalone_file(write("apisix.json", R"({"routes":[{"uri":"/a"}]})"));
  ASSERT_TRUE(j.ok()) << j.error().message;
  EXPECT_EQ(j->items("routes")[0].id, "arr_1");
  // ... and is refused as .yaml (no #END).
  auto y = load_standalone_file(write("apisix.yaml", R"({"routes":[{"uri":"/a"}]})"));
  EXPECT_FALSE(y.ok());
}

TEST_F(ConfigStandaloneFileLoadTest, errors_name_the_file) {
  const std::string path = write("apisix.yaml", "routes:\n  - 1\n#END\n");
  auto r = load_standalone_file(path);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find(path), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("routes[1]"), std::string::npos) << r.error().message;
}

TEST_F(ConfigStandaloneFileLoadTest, missing_file_is_an_error) {
  auto r = load_standalone_file(dir_ + "/absent.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("absent.yaml"), std::string::npos);
}

}  // namespace
}  // namespace torii::config
