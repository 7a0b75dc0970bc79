// core::base64: nginx's encoder and decoder rules (ngx.encode_base64 /
// ngx.decode_base64), which APISIX-written values depend on.
#include <gtest/gtest.h>

#include "core/base64.h"

namespace torii::core {
namespace {

TEST(Base64, round_trips_every_length) {
  std::string s;
  for (int i = 0; i < 300; ++i) {
    auto back = base64_decode(base64_encode(s));
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, s);
    s.push_back(static_cast<char>(i * 37));
  }
  EXPECT_EQ(base64_encode("foo:bar"), "Zm9vOmJhcg==");
}

TEST(Base64, decoder_follows_nginx) {
  EXPECT_EQ(base64_decode("Zm9vOmJhcg"), "foo:bar");     // padding optional
  EXPECT_EQ(base64_decode("Zm9vOmJhcg==xyz"), "foo:bar"); // data ends at '='
  EXPECT_EQ(base64_decode(""), "");
  EXPECT_FALSE(base64_decode("Zm9v!"));                   // outside the alphabet
  EXPECT_FALSE(base64_decode("Zm9vO"));                   // 4n+1 characters
  EXPECT_FALSE(base64_decode("Zm 9v"));
}

}  // namespace
}  // namespace torii::core
