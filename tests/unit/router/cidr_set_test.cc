// router::CidrSet: parsing, IPv4/IPv6 and IPv4-mapped membership, covered
// entries pruned, and agreement with router::IpMatcher (sorted ranges) on
// random lists and random addresses.
#include "router/cidr_set.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "router/ip_matcher.h"

namespace torii::router {
namespace {

boost::asio::ip::address ip(const std::string& s) { return boost::asio::ip::make_address(s); }

CidrSet make(std::vector<std::string> entries) {
  auto s = CidrSet::build(entries);
  EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().message);
  return s.ok() ? std::move(*s) : CidrSet();
}

TEST(CidrSetTest, MatchesAddressesAndRanges) {
  const CidrSet s =
      make({"10.0.0.0/8", "192.168.1.7", "172.16.4.0/22", "2001:db8::/32", "::1", "[fe80::]/10"});
  struct Case {
    const char* addr;
    bool in;
  };
  const Case cases[] = {
      {"10.0.0.0", true},
      {"10.255.255.255", true},
      {"11.0.0.0", false},
      {"192.168.1.7", true},
      {"192.168.1.8", false},
      {"172.16.4.0", true},
      {"172.16.7.255", true},
      {"172.16.8.0", false},
      {"172.16.3.255", false},
      {"2001:db8::1", true},
      {"2001:db8:ffff::", true},
      {"2001:db9::", false},
      {"::1", true},
      {"::2", false},
      {"fe80::1", true},
      {"febf:ffff::", true},
      {"fec0::", false},
      // IPv4-mapped IPv6 clients match IPv4 entries.
      {"::ffff:10.1.2.3", true},
      {"::ffff:11.1.2.3", false},
  };
  for (const Case& c : cases) EXPECT_EQ(s.contains(ip(c.addr)), c.in) << c.addr;
}

TEST(CidrSetTest, Ipv4ClientsMatchMappedIpv6Entries) {
  const CidrSet s = make({"::ffff:10.0.0.0/104"});
  EXPECT_TRUE(s.contains(ip("10.9.9.9")));
  EXPECT_FALSE(s.contains(ip("11.0.0.1")));
  const CidrSet all6 = make({"::/0"});
  EXPECT_TRUE(all6.contains(ip("1.2.3.4")));
  EXPECT_TRUE(all6.contains(ip("2001::1")));
}

TEST(CidrSetTest, ZeroPrefixMatchesTheWholeFamily) {
  const CidrSet s = make({"0.0.0.0/0"});
  EXPECT_TRUE(s.contains(ip("1.2.3.4")));
  EXPECT_TRUE(s.contains(ip("255.255.255.255")));
  EXPECT_FALSE(s.contains(ip("2001::1")));
  EXPECT_EQ(s.v4_groups(), 1u);
}

TEST(CidrSetTest, CoveredEntriesAreDropped) {
  const CidrSet s = make({"10.1.2.3", "10.1.0.0/16", "10.0.0.0/8", "10.2.3.0/24", "2001:db8::/32",
                          "2001:db8:1::/48", "2001:db8::5"});
  EXPECT_EQ(s.v4_groups(), 1u);  // only /8 remains
  EXPECT_EQ(s.v6_groups(), 1u);  // only /32 remains
  EXPECT_TRUE(s.contains(ip("10.1.2.3")));
}

TEST(CidrSetTest, ProbesDependOnPrefixLengthsNotOnListSize) {
  std::vector<std::string> entries;
  for (int i = 0; i < 10000; ++i) {
    entries.push_back(std::to_string(10 + i / 65536) + "." + std::to_string((i / 256) % 256) + "." +
                      std::to_string(i % 256) + ".0/24");
  }
  const CidrSet s = make(entries);
  EXPECT_EQ(s.v4_groups(), 1u);
  EXPECT_TRUE(s.contains(ip("10.39.15.200")));  // entry 9999 is 10.39.15.0/24
  EXPECT_FALSE(s.contains(ip("10.39.16.1")));
}

TEST(CidrSetTest, BadEntriesAreNamed) {
  for (const char* bad :
       {"1.2.3", "1.2.3.4/33", "1.2.3.4/", "::1/129", "host", "1.2.3.4/-1", "1.2.3.4/8x", ""}) {
    auto s = CidrSet::build(std::vector<std::string>{"10.0.0.1", bad});
    ASSERT_FALSE(s.ok()) << bad;
    EXPECT_EQ(s.error().message, std::string("invalid ip address: \"") + bad + "\"");
    EXPECT_FALSE(CidrSet::parse(bad).has_value()) << bad;
  }
}

// Random lists of mixed prefix lengths, both families: CidrSet and
// IpMatcher (merged ranges, binary search) agree on every address.
TEST(CidrSetTest, AgreesWithRangeMatcherOnRandomLists) {
  std::mt19937_64 rng(12345);
  for (int round = 0; round < 20; ++round) {
    std::vector<std::string> entries;
    const int n = 1 + static_cast<int>(rng() % 300);
    for (int i = 0; i < n; ++i) {
      if (rng() % 3 != 0) {
        // Clustered in 10.0.0.0/12 so that ranges overlap and nest.
        const uint32_t a = 0x0a000000u | static_cast<uint32_t>(rng() & 0x000fffff);
        const int bits = 8 + static_cast<int>(rng() % 25);
        entries.push_back(boost::asio::ip::address_v4(a).to_string() + "/" + std::to_string(bits));
      } else {
        boost::asio::ip::address_v6::bytes_type b{};
        b[0] = 0x20;
        b[1] = 0x01;
        for (size_t k = 2; k < 6; ++k) b[k] = static_cast<unsigned char>(rng() % 4);
        for (size_t k = 6; k < 16; ++k) b[k] = static_cast<unsigned char>(rng());
        const int bits = 16 + static_cast<int>(rng() % 113);
        entries.push_back(boost::asio::ip::address_v6(b).to_string() + "/" + std::to_string(bits));
      }
    }
    const CidrSet set = make(entries);
    auto ref = IpMatcher::build(entries);
    ASSERT_TRUE(ref.ok());
    for (int q = 0; q < 2000; ++q) {
      boost::asio::ip::address a;
      if (q % 2 == 0) {
        a = boost::asio::ip::address_v4(0x0a000000u | static_cast<uint32_t>(rng() & 0x000fffff));
      } else {
        boost::asio::ip::address_v6::bytes_type b{};
        b[0] = 0x20;
        b[1] = 0x01;
        for (size_t k = 2; k < 6; ++k) b[k] = static_cast<unsigned char>(rng() % 4);
        for (size_t k = 6; k < 16; ++k) b[k] = static_cast<unsigned char>(rng());
        a = boost::asio::ip::address_v6(b);
      }
      ASSERT_EQ(set.contains(a), ref->contains(a)) << a.to_string() << " round " << round;
    }
  }
}

}  // namespace
}  // namespace torii::router
