// GET on collections: store key order, filters (name, label, uri, filter)
// and pagination by createdIndex.
#include "admin/collection_query.h"

#include "admin_test_support.h"

namespace torii::admin::testing {
namespace {

using Keys = std::vector<std::string>;

class AdminCollectionTest : public AdminApiTest {
 protected:
  void SetUp() override {
    AdminApiTest::SetUp();
    // Created in the order 2, 10, 1: key order and createdIndex order differ.
    raw_put("/apisix/services/s1", R"({"id":"s1"})");
    run({
        {"PUT", "/routes/2",
         R"({"uri":"/blue","name":"r-blue","labels":{"env":"prod"},"service_id":"s1","upstream":)" +
             std::string(kUpstream) + "}",
         201, "*"},
        {"PUT", "/routes/10",
         R"({"uris":["/x","/green/1"],"name":"r-green","upstream":)" + std::string(kUpstream) + "}",
         201, "*"},
        {"PUT", "/routes/1",
         R"({"uri":"/red","name":"other","labels":{"team":"a"},"service_id":"s1","upstream":)" +
             std::string(kUpstream) + "}",
         201, "*"},
    });
  }

  Keys keys(const std::string& target, std::size_t* total = nullptr) {
    const AdminResponse r = call("GET", target);
    EXPECT_EQ(r.status, 200) << r.body;
    if (total != nullptr) *total = parse(r.body).as_object().at("total").to_number<std::size_t>();
    return list_keys(r);
  }
};

TEST_F(AdminCollectionTest, lists_in_store_key_order) {
  EXPECT_EQ(keys("/routes"), (Keys{"/apisix/routes/1", "/apisix/routes/10", "/apisix/routes/2"}));
}

TEST_F(AdminCollectionTest, filters_by_name_label_uri_and_fields) {
  EXPECT_EQ(keys("/routes?name=^r-"), (Keys{"/apisix/routes/10", "/apisix/routes/2"}));
  EXPECT_EQ(keys("/routes?label=env"), (Keys{"/apisix/routes/2"}));
  EXPECT_EQ(keys("/routes?uri=green"), (Keys{"/apisix/routes/10"}));
  EXPECT_EQ(keys("/routes?uri=^/(red|blue)$"), (Keys{"/apisix/routes/1", "/apisix/routes/2"}));
  EXPECT_EQ(keys("/routes?filter=service_id%3Ds1"), (Keys{"/apisix/routes/1", "/apisix/routes/2"}));
  // Unknown filter fields are ignored; filters are ANDed.
  EXPECT_EQ(keys("/routes?filter=service_id%3Ds1%26foo%3Dbar&name=r-"), (Keys{"/apisix/routes/2"}));
  EXPECT_EQ(keys("/routes?filter=upstream_id%3D1"), Keys{});
  std::size_t total = 99;
  EXPECT_EQ(keys("/routes?name=nothing", &total), Keys{});
  EXPECT_EQ(total, 0u);
  run({{"GET", "/routes?name=nothing", "", 200, R"({"list":[],"total":0})"}});
}

TEST_F(AdminCollectionTest, a_regex_re2_cannot_run_is_refused) {
  const AdminResponse r = call("GET", "/routes?name=(%3F%3Dx)");
  EXPECT_EQ(r.status, 400);
  EXPECT_TRUE(
      parse(r.body).as_object().at("error_msg").as_string().starts_with("invalid argument name: "))
      << r.body;
  EXPECT_EQ(call("GET", "/routes?uri=(").status, 400);
}

TEST_F(AdminCollectionTest, paginates_by_created_index_after_filtering) {
  std::size_t total = 0;
  EXPECT_EQ(keys("/routes?page=1&page_size=10", &total),
            (Keys{"/apisix/routes/2", "/apisix/routes/10", "/apisix/routes/1"}));
  EXPECT_EQ(total, 3u);
  EXPECT_EQ(keys("/routes?page=0&page_size=10&name=^r-", &total),
            (Keys{"/apisix/routes/2", "/apisix/routes/10"}));
  EXPECT_EQ(total, 2u);
  run({
      {"GET", "/routes?page=2&page_size=10", "", 200, R"({"total":3,"list":[]})"},
      {"GET", "/routes?page=1&page_size=9", "", 400, "page_size must be between 10 and 500"},
      {"GET", "/routes?page=1&page_size=501", "", 400, "page_size must be between 10 and 500"},
  });
  // Only with both arguments present (and numbers) does pagination apply.
  EXPECT_EQ(keys("/routes?page_size=5"),
            (Keys{"/apisix/routes/1", "/apisix/routes/10", "/apisix/routes/2"}));
  EXPECT_EQ(keys("/routes?page=x&page_size=5").size(), 3u);

  for (int i = 0; i < 12; ++i) {
    raw_put("/apisix/routes/p" + std::to_string(100 + i), R"({"uri":"/p"})");
  }
  EXPECT_EQ(keys("/routes?page=2&page_size=10", &total),
            (Keys{"/apisix/routes/p107", "/apisix/routes/p108", "/apisix/routes/p109",
                  "/apisix/routes/p110", "/apisix/routes/p111"}));
  EXPECT_EQ(total, 15u);
}

}  // namespace
}  // namespace torii::admin::testing
