// ip-restriction with 10,000-entry lists through the real binary: a
// whitelist and a blacklist of IPv4 /24s, /32s and IPv6 /64s, probed with
// client addresses set by real-ip (X-Forwarded-For from the trusted
// loopback), in the standalone file and through the Admin API.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "harness.h"

namespace torii::testing {
namespace {

// 10,000 entries: 6,000 IPv4 /24s 10.a.b.0/24, 2,000 IPv4 /32s 172.16.c.d,
// 2,000 IPv6 /64s 2001:db8:e::/64.
std::string big_list() {
  std::string out = "[";
  for (int i = 0; i < 6000; ++i) {
    out += "\"10." + std::to_string(i / 256) + "." + std::to_string(i % 256) + ".0/24\",";
  }
  for (int i = 0; i < 2000; ++i) {
    out += "\"172.16." + std::to_string(i / 256) + "." + std::to_string(i % 256) + "\",";
  }
  for (int i = 0; i < 2000; ++i) {
    char buf[64];
    std::snprintf(buf, sizeof(buf), "\"2001:db8:%x::/64\"", i);
    out += buf;
    if (i + 1 < 2000) out += ",";
  }
  return out + "]";
}

struct Probe {
  const char* client;  // X-Forwarded-For
  bool listed;
};

const Probe kProbes[] = {
    {"10.0.0.1", true},
    {"10.23.111.254", true},
    {"10.23.112.1", false},  // 6000 = 23*256+112
    {"10.200.0.1", false},
    {"172.16.0.0", true},
    {"172.16.7.207", true},  // 1999 = 7*256+207
    {"172.16.7.208", false},
    {"172.16.0.1", true},
    {"172.17.0.0", false},
    {"2001:db8:0::1", true},
    {"2001:db8:7cf:0:ffff::1", true},  // 0x7cf = 1999
    {"2001:db8:7d0::1", false},
    {"2001:db9::1", false},
    {"::ffff:10.1.2.3", true},
    {"192.168.1.1", false},
};

std::string routes(const Upstream& up) {
  const std::string list = big_list();
  const std::string real_ip =
      R"("real-ip": {"source": "http_x_forwarded_for", "trusted_addresses": ["127.0.0.1"]})";
  auto route = [&](const std::string& id, const std::string& uri, const std::string& kind) {
    return "  - id: " + id + "\n    uri: \"" + uri + "\"\n    plugins: {" + real_ip +
           R"(, "ip-restriction": {")" + kind + "\": " + list +
           "}}\n    upstream:\n      nodes:\n        \"" + up.node() + "\": 1\n";
  };
  return "routes:\n" + route("white", "/white/*", "whitelist") +
         route("black", "/black/*", "blacklist");
}

TEST(PluginIpRestrictionLarge, TenThousandEntryWhitelistAndBlacklist) {
  Upstream up;
  Torii t(routes(up));
  for (const Probe& p : kProbes) {
    SCOPED_TRACE(p.client);
    const std::string xff = std::string("X-Forwarded-For: ") + p.client;
    auto w = http_get(t.url("/white/x"), {xff});
    ASSERT_EQ(w.error, "");
    EXPECT_EQ(w.status, p.listed ? 200 : 403) << w.body;
    auto b = http_get(t.url("/black/x"), {xff});
    EXPECT_EQ(b.status, p.listed ? 403 : 200) << b.body;
    if (!p.listed) {
      EXPECT_EQ(w.body, "{\"message\":\"Your IP address is not allowed\"}\n");
    }
  }
}

TEST(PluginIpRestrictionLarge, TenThousandEntryListThroughTheAdminApi) {
  Upstream up;
  ToriiOptions o;
  o.deployment =
      "deployment:\n  role: traditional\n  role_traditional:\n    config_provider: sqlite\n";
  Torii t(std::move(o));
  const std::string body = R"({"uri":"/x","plugins":{"ip-restriction":{"blacklist":)" + big_list() +
                           R"(,"response_code":404}},"upstream":{"nodes":{")" + up.node() +
                           R"(":1}}})";
  auto put = t.admin("PUT", "/routes/1", body);
  ASSERT_EQ(put.status, 201) << put.body.substr(0, 300);
  // The loopback client is not listed; a list that names it refuses it.
  EXPECT_TRUE(wait_until([&] { return http_get(t.url("/x")).status == 200; }));
  const std::string listed = R"({"uri":"/x","plugins":{"ip-restriction":{"blacklist":)" +
                             big_list().insert(1, "\"127.0.0.1\",") +
                             R"(,"response_code":404}},"upstream":{"nodes":{")" + up.node() +
                             R"(":1}}})";
  ASSERT_EQ(t.admin("PUT", "/routes/1", listed).status, 200);
  EXPECT_TRUE(wait_until([&] { return http_get(t.url("/x")).status == 404; }));
}

}  // namespace
}  // namespace torii::testing
