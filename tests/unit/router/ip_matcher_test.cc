// IpMatcher: route remote_addrs and the ipmatch operator.
#include "router/ip_matcher.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace torii::router {
namespace {

using boost::asio::ip::make_address;

IpMatcher build(std::vector<std::string> entries) {
  auto m = IpMatcher::build(entries);
  EXPECT_TRUE(m.ok()) << m.error().message;
  return m.value();
}

TEST(RouterIpMatcherTest, single_ipv4_address_matches_only_itself) {
  IpMatcher m = build({"10.0.0.1"});
  EXPECT_TRUE(m.contains(make_address("10.0.0.1")));
  EXPECT_FALSE(m.contains(make_address("10.0.0.2")));
}

TEST(RouterIpMatcherTest, ipv4_cidr_covers_its_whole_range) {
  IpMatcher m = build({"192.168.1.0/24"});
  EXPECT_TRUE(m.contains(make_address("192.168.1.0")));
  EXPECT_TRUE(m.contains(make_address("192.168.1.255")));
  EXPECT_FALSE(m.contains(make_address("192.168.2.0")));
  EXPECT_FALSE(m.contains(make_address("192.168.0.255")));
}

TEST(RouterIpMatcherTest, cidr_with_host_bits_set_is_masked) {
  IpMatcher m = build({"10.1.2.3/16"});
  EXPECT_TRUE(m.contains(make_address("10.1.255.255")));
  EXPECT_FALSE(m.contains(make_address("10.2.0.0")));
}

TEST(RouterIpMatcherTest, zero_prefix_matches_every_address_of_its_family) {
  IpMatcher m = build({"0.0.0.0/0"});
  EXPECT_TRUE(m.contains(make_address("255.255.255.255")));
  EXPECT_TRUE(m.contains(make_address("0.0.0.0")));
  EXPECT_FALSE(m.contains(make_address("::1")));
}

TEST(RouterIpMatcherTest, overlapping_and_adjacent_ranges_merge) {
  IpMatcher m = build({"10.0.0.0/25", "10.0.0.128/25", "10.0.0.5", "10.0.1.0/24"});
  for (const char* ip : {"10.0.0.0", "10.0.0.127", "10.0.0.128", "10.0.1.200"}) {
    EXPECT_TRUE(m.contains(make_address(ip))) << ip;
  }
  EXPECT_FALSE(m.contains(make_address("10.0.2.0")));
  EXPECT_FALSE(m.contains(make_address("9.255.255.255")));
}

TEST(RouterIpMatcherTest, ipv6_address_and_cidr_match) {
  IpMatcher m = build({"::1", "fe80::/10", "[2001:db8::1]"});
  EXPECT_TRUE(m.contains(make_address("::1")));
  EXPECT_TRUE(m.contains(make_address("fe80::1234")));
  EXPECT_TRUE(m.contains(make_address("febf:ffff::1")));
  EXPECT_FALSE(m.contains(make_address("fec0::1")));
  EXPECT_TRUE(m.contains(make_address("2001:db8::1")));
  EXPECT_FALSE(m.contains(make_address("::2")));
  EXPECT_FALSE(m.contains(make_address("127.0.0.1")));
}

TEST(RouterIpMatcherTest, ipv4_mapped_ipv6_client_matches_ipv4_entry) {
  IpMatcher m = build({"127.0.0.0/8"});
  EXPECT_TRUE(m.contains(make_address("::ffff:127.0.0.1")));
  EXPECT_FALSE(m.contains(make_address("::ffff:10.0.0.1")));
}

TEST(RouterIpMatcherTest, ipv4_client_matches_ipv4_mapped_entry) {
  IpMatcher m = build({"::ffff:10.0.0.0/104"});
  EXPECT_TRUE(m.contains(make_address("10.1.2.3")));
  EXPECT_FALSE(m.contains(make_address("11.0.0.1")));
}

TEST(RouterIpMatcherTest, bad_entries_are_refused_with_the_entry_named) {
  for (std::string bad : {"1.2.3", "1.2.3.4/33", "::1/129", "10.0.0.0/", "10.0.0.0/x", "host", "",
                          "1.2.3.4 ", "fe80::1%eth0"}) {
    std::vector<std::string> entries{bad};
    auto m = IpMatcher::build(entries);
    ASSERT_FALSE(m.ok()) << bad;
    EXPECT_EQ(m.error().message, "invalid ip address: \"" + bad + "\"");
    EXPECT_EQ(m.error().source, core::ErrorSource::kConfig);
  }
}

TEST(RouterIpMatcherTest, empty_matcher_matches_nothing) {
  IpMatcher m = build({});
  EXPECT_TRUE(m.empty());
  EXPECT_FALSE(m.contains(make_address("1.1.1.1")));
}

}  // namespace
}  // namespace torii::router
