// net::ClientLimiter: the node-wide and per-IP connection caps, the per-IP
// request rate (GCRA with burst), bans and their expiry, IPv4 / v4-mapped
// IPv6 as one client, the bounded table, live reconfiguration, and exact
// counts when many threads admit and release at once. The clock is driven
// by the tests.
#include "net/client_limits.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace torii::net {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = ClientLimiter::Clock;
namespace ip = boost::asio::ip;

const ip::address kA = ip::make_address("192.0.2.1");
const ip::address kB = ip::make_address("192.0.2.2");
const Clock::time_point kT0 = Clock::time_point(seconds(1000));

TEST(NetClientLimits, EverythingOffAdmitsAndCountsConnections) {
  ClientLimiter l(ClientLimitSettings{});
  std::vector<ClientLimiter::Admission> held;
  for (int i = 0; i < 100; ++i) {
    held.push_back(l.admit(kA, kT0));
    ASSERT_TRUE(held.back());
  }
  EXPECT_EQ(l.open_connections(), 100u);
  EXPECT_EQ(l.tracked_ips(), 0u);  // no per-IP limit: no per-IP state
  EXPECT_FALSE(l.limits_requests());
  held.clear();
  EXPECT_EQ(l.open_connections(), 0u);
}

TEST(NetClientLimits, NodeWideCapRefusesPastItAndFreesOnRelease) {
  ClientLimitSettings s;
  s.max_connections = 2;
  ClientLimiter l(s);
  auto a1 = l.admit(kA, kT0);
  auto a2 = l.admit(kB, kT0);
  ASSERT_TRUE(a1);
  ASSERT_TRUE(a2);
  auto a3 = l.admit(kA, kT0);
  EXPECT_FALSE(a3);
  EXPECT_EQ(a3.refusal(), ClientRefusal::kConnections);
  EXPECT_EQ(l.open_connections(), 2u);
  a1 = ClientLimiter::Admission();  // the connection closes
  EXPECT_EQ(l.open_connections(), 1u);
  EXPECT_TRUE(l.admit(kA, kT0));
}

TEST(NetClientLimits, PerIpCapRefusesThatIpOnly) {
  ClientLimitSettings s;
  s.max_connections_per_ip = 2;
  ClientLimiter l(s);
  auto a1 = l.admit(kA, kT0);
  auto a2 = l.admit(kA, kT0);
  auto a3 = l.admit(kA, kT0);
  EXPECT_TRUE(a1);
  EXPECT_TRUE(a2);
  EXPECT_EQ(a3.refusal(), ClientRefusal::kConnectionsPerIp);
  EXPECT_FALSE(a3.ban_started());  // no ban configured
  auto b1 = l.admit(kB, kT0);
  EXPECT_TRUE(b1);
  EXPECT_EQ(l.open_connections(), 3u);  // the refused one is not counted
  {
    auto moved = std::move(a2);  // moving keeps one count, released once
    EXPECT_EQ(l.open_connections(), 3u);
  }
  EXPECT_EQ(l.open_connections(), 2u);
  EXPECT_TRUE(l.admit(kA, kT0));
}

TEST(NetClientLimits, Ipv4AndV4MappedIpv6AreOneClient) {
  ClientLimitSettings s;
  s.max_connections_per_ip = 1;
  ClientLimiter l(s);
  auto a = l.admit(ip::make_address("10.1.2.3"), kT0);
  ASSERT_TRUE(a);
  EXPECT_EQ(l.admit(ip::make_address("::ffff:10.1.2.3"), kT0).refusal(),
            ClientRefusal::kConnectionsPerIp);
  EXPECT_TRUE(l.admit(ip::make_address("2001:db8::1"), kT0));
  auto v6 = l.admit(ip::make_address("2001:db8::2"), kT0);
  EXPECT_TRUE(v6);
  EXPECT_EQ(l.admit(ip::make_address("2001:db8::2"), kT0).refusal(),
            ClientRefusal::kConnectionsPerIp);
  EXPECT_EQ(client_key(ip::make_address("127.0.0.1")),
            client_key(ip::make_address("::ffff:127.0.0.1")));
}

TEST(NetClientLimits, RateAllowsBurstPlusOneThenOnePerInterval) {
  ClientLimitSettings s;
  s.requests_per_second_per_ip = 10;  // one per 100 ms
  s.burst = 3;
  ClientLimiter l(s);
  ASSERT_TRUE(l.limits_requests());
  auto conn = l.admit(kA, kT0);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(l.check_request(kA, kT0).refusal, ClientRefusal::kNone) << i;
  }
  const auto refused = l.check_request(kA, kT0);
  EXPECT_EQ(refused.refusal, ClientRefusal::kRate);
  EXPECT_EQ(refused.retry_after, milliseconds(100));
  // Another IP has its own bucket.
  EXPECT_EQ(l.check_request(kB, kT0).refusal, ClientRefusal::kNone);
  // One interval later exactly one more passes.
  EXPECT_EQ(l.check_request(kA, kT0 + milliseconds(100)).refusal, ClientRefusal::kNone);
  EXPECT_EQ(l.check_request(kA, kT0 + milliseconds(100)).refusal, ClientRefusal::kRate);
  // After a long pause the whole burst is back, and no more.
  const auto later = kT0 + seconds(10);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(l.check_request(kA, later).refusal, ClientRefusal::kNone);
  EXPECT_EQ(l.check_request(kA, later).refusal, ClientRefusal::kRate);
}

TEST(NetClientLimits, FractionalRate) {
  ClientLimitSettings s;
  s.requests_per_second_per_ip = 0.5;  // one per 2 s
  ClientLimiter l(s);
  EXPECT_EQ(l.check_request(kA, kT0).refusal, ClientRefusal::kNone);
  EXPECT_EQ(l.check_request(kA, kT0 + seconds(1)).refusal, ClientRefusal::kRate);
  EXPECT_EQ(l.check_request(kA, kT0 + seconds(2)).refusal, ClientRefusal::kNone);
}

TEST(NetClientLimits, RepeatedConnectionViolationsBanTheIpUntilItExpires) {
  ClientLimitSettings s;
  s.max_connections_per_ip = 1;
  s.ban_after_violations = 3;
  s.ban_within = seconds(10);
  s.ban_duration = seconds(60);
  ClientLimiter l(s);
  auto held = l.admit(kA, kT0);
  ASSERT_TRUE(held);
  EXPECT_FALSE(l.admit(kA, kT0).ban_started());
  EXPECT_FALSE(l.admit(kA, kT0 + seconds(1)).ban_started());
  auto third = l.admit(kA, kT0 + seconds(2));
  EXPECT_EQ(third.refusal(), ClientRefusal::kConnectionsPerIp);
  EXPECT_TRUE(third.ban_started());
  EXPECT_EQ(l.banned_ips(kT0 + seconds(2)), 1u);
  held = ClientLimiter::Admission();  // even with no connection open, the ban holds
  EXPECT_EQ(l.admit(kA, kT0 + seconds(30)).refusal(), ClientRefusal::kBanned);
  EXPECT_TRUE(l.admit(kB, kT0 + seconds(30)));  // others are not affected
  // Refusals while banned are no new violations: the ban ends on time.
  EXPECT_TRUE(l.admit(kA, kT0 + seconds(63)));
  EXPECT_EQ(l.banned_ips(kT0 + seconds(63)), 0u);
}

TEST(NetClientLimits, ViolationsOutsideTheWindowDoNotBan) {
  ClientLimitSettings s;
  s.max_connections_per_ip = 1;
  s.ban_after_violations = 2;
  s.ban_within = seconds(10);
  ClientLimiter l(s);
  auto held = l.admit(kA, kT0);
  EXPECT_FALSE(l.admit(kA, kT0).ban_started());
  EXPECT_FALSE(l.admit(kA, kT0 + seconds(11)).ban_started());  // a new window
  EXPECT_TRUE(l.admit(kA, kT0 + seconds(12)).ban_started());
}

TEST(NetClientLimits, RateViolationsBanAndABanRefusesRequestsOnOpenConnections) {
  ClientLimitSettings s;
  s.requests_per_second_per_ip = 1;
  s.ban_after_violations = 2;
  s.ban_duration = seconds(5);
  ClientLimiter l(s);
  auto conn = l.admit(kA, kT0);
  ASSERT_TRUE(conn);
  EXPECT_EQ(l.check_request(kA, kT0).refusal, ClientRefusal::kNone);
  EXPECT_FALSE(l.check_request(kA, kT0).ban_started);
  const auto v = l.check_request(kA, kT0);
  EXPECT_EQ(v.refusal, ClientRefusal::kRate);
  EXPECT_TRUE(v.ban_started);
  EXPECT_EQ(v.retry_after, seconds(5));
  const auto banned = l.check_request(kA, kT0 + seconds(3));
  EXPECT_EQ(banned.refusal, ClientRefusal::kBanned);
  EXPECT_EQ(banned.retry_after, seconds(2));
  EXPECT_EQ(l.admit(kA, kT0 + seconds(3)).refusal(), ClientRefusal::kBanned);
  EXPECT_EQ(l.check_request(kA, kT0 + seconds(5)).refusal, ClientRefusal::kNone);
}

TEST(NetClientLimits, NodeWideRefusalIsNoViolationOfTheIp) {
  ClientLimitSettings s;
  s.max_connections = 1;
  s.max_connections_per_ip = 5;
  s.ban_after_violations = 1;
  ClientLimiter l(s);
  auto held = l.admit(kB, kT0);
  for (int i = 0; i < 5; ++i) {
    auto a = l.admit(kA, kT0);
    EXPECT_EQ(a.refusal(), ClientRefusal::kConnections);
    EXPECT_FALSE(a.ban_started());
  }
  held = ClientLimiter::Admission();
  EXPECT_TRUE(l.admit(kA, kT0));
}

TEST(NetClientLimits, FullTableAdmitsUntrackedAndDropsIdleEntries) {
  ClientLimitSettings s;
  s.max_connections_per_ip = 1;
  s.max_tracked_ips = 1;  // one entry per shard
  ClientLimiter l(s);
  // Fill with IPs holding connections: they cannot be dropped.
  std::vector<ClientLimiter::Admission> held;
  int untracked = 0;
  for (int i = 0; i < 1000; ++i) {
    const auto addr = ip::make_address_v4(0x0a000000u + static_cast<uint32_t>(i));
    held.push_back(l.admit(addr, kT0));
    EXPECT_TRUE(held.back());  // never refused for lack of room
    untracked += held.back().untracked() ? 1 : 0;
  }
  EXPECT_LE(l.tracked_ips(), ClientLimiter::kShards);
  EXPECT_GT(untracked, 0);
  EXPECT_EQ(l.open_connections(), 1000u);
  held.clear();
  EXPECT_EQ(l.open_connections(), 0u);
  // Idle now: new IPs take their places once the sweep may run again.
  int tracked = 0;
  for (int i = 0; i < 1000; ++i) {
    const auto addr = ip::make_address_v4(0x0b000000u + static_cast<uint32_t>(i));
    tracked += l.admit(addr, kT0 + seconds(1)).untracked() ? 0 : 1;
  }
  EXPECT_GT(tracked, 0);
  EXPECT_LE(l.tracked_ips(), ClientLimiter::kShards);
}

TEST(NetClientLimits, ConfigureAppliesToLaterConnections) {
  ClientLimiter l(ClientLimitSettings{});
  auto before = l.admit(kA, kT0);  // not counted per IP: no per-IP limit yet
  ClientLimitSettings s;
  s.max_connections_per_ip = 1;
  l.configure(s);
  auto first = l.admit(kA, kT0);
  EXPECT_TRUE(first);
  EXPECT_EQ(l.admit(kA, kT0).refusal(), ClientRefusal::kConnectionsPerIp);
  l.configure(ClientLimitSettings{});
  EXPECT_TRUE(l.admit(kA, kT0));
  first = ClientLimiter::Admission();  // released although the limit is off now
  before = ClientLimiter::Admission();
  EXPECT_EQ(l.open_connections(), 0u);
  l.configure(s);
  EXPECT_TRUE(l.admit(kA, kT0));
}

TEST(NetClientLimits, CapsAreExactUnderConcurrentAdmits) {
  ClientLimitSettings s;
  s.max_connections = 50;
  s.max_connections_per_ip = 7;
  ClientLimiter l(s);
  constexpr int kThreads = 8;
  // `live` rises after an admission and falls before its release, so it
  // never exceeds what the limiter holds: over 50 means over-admission.
  std::atomic<int> live{0};
  std::atomic<int> peak_violations{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 2000; ++round) {
        std::vector<ClientLimiter::Admission> mine;
        for (int i = 0; i < 10; ++i) {
          const auto addr = ip::make_address_v4(0x0a000000u + static_cast<uint32_t>((t + i) % 10));
          auto a = l.admit(addr, kT0);
          if (!a) continue;
          if (live.fetch_add(1) + 1 > 50) peak_violations.fetch_add(1);
          mine.push_back(std::move(a));
        }
        live.fetch_sub(static_cast<int>(mine.size()));
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(peak_violations.load(), 0);
  EXPECT_EQ(l.open_connections(), 0u);
  // Every per-IP count went back to 0: 10 IPs x 7 fit again, and no more.
  s.max_connections = 0;
  l.configure(s);
  std::vector<ClientLimiter::Admission> all;
  for (int i = 0; i < 200; ++i) {
    auto a = l.admit(ip::make_address_v4(0x0a000000u + static_cast<uint32_t>(i % 10)), kT0);
    if (a) all.push_back(std::move(a));
  }
  EXPECT_EQ(all.size(), 70u);
}

TEST(NetClientLimits, RefusalNames) {
  EXPECT_EQ(refusal_name(ClientRefusal::kConnections), "connections");
  EXPECT_EQ(refusal_name(ClientRefusal::kConnectionsPerIp), "connections_per_ip");
  EXPECT_EQ(refusal_name(ClientRefusal::kRate), "rate");
  EXPECT_EQ(refusal_name(ClientRefusal::kBanned), "banned");
}

}  // namespace
}  // namespace torii::net
