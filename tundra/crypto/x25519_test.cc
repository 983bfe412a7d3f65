#include "tundra/crypto/x25519.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tundra/testing/test_util.h"

namespace tundra::crypto {
namespace {

using ::tundra::testing::FromHex;
using Json = nlohmann::json;

Json Vectors() { return ::tundra::testing::LoadVectorJson("x25519.json"); }

PrivateKey Priv(const std::string& hex) { return PrivateKey(FromHex(hex)); }
PublicKey Pub(const std::string& hex) {
  PublicKey p{};
  auto b = FromHex(hex);
  std::copy(b.begin(), b.end(), p.begin());
  return p;
}

TEST(X25519Test, Rfc7748Section52) {
  Json all = Vectors();
  for (const auto& v : all["rfc7748_5_2"]) {
    SymmetricKey shared;
    ASSERT_TRUE(X25519(Priv(v["scalar"]), Pub(v["u"]), shared));
    EXPECT_EQ(ToHex(shared.span()), v["out"].get<std::string>());
  }
}

TEST(X25519Test, Rfc7748Iterated) {
  Json it = Vectors()["rfc7748_5_2_iterated"];
  std::vector<uint8_t> k = FromHex(it["start_k_and_u"]);
  std::vector<uint8_t> u = k;
  for (int i = 1; i <= 1000; ++i) {
    SymmetricKey out;
    ASSERT_TRUE(X25519(PrivateKey(k), Pub(ToHex(u)), out));
    u = k;
    k.assign(out.data(), out.data() + 32);
    if (i == 1) {
      EXPECT_EQ(ToHex(k), it["after_1"].get<std::string>());
    }
  }
  EXPECT_EQ(ToHex(k), it["after_1000"].get<std::string>());
}

TEST(X25519Test, Rfc7748Section61KeyAgreement) {
  Json v = Vectors()["rfc7748_6_1"];
  EXPECT_EQ(ToHex(PublicFromPrivate(Priv(v["alice_priv"]))), v["alice_pub"].get<std::string>());
  EXPECT_EQ(ToHex(PublicFromPrivate(Priv(v["bob_priv"]))), v["bob_pub"].get<std::string>());
  SymmetricKey a, b;
  ASSERT_TRUE(X25519(Priv(v["alice_priv"]), Pub(v["bob_pub"]), a));
  ASSERT_TRUE(X25519(Priv(v["bob_priv"]), Pub(v["alice_pub"]), b));
  EXPECT_TRUE(a.Equals(b));
  EXPECT_EQ(ToHex(a.span()), v["shared"].get<std::string>());
}

TEST(X25519Test, ZincVectorsIncludingLowOrderFailures) {
  int valid = 0, invalid = 0;
  Json all = Vectors();
  for (const auto& v : all["zinc"]) {
    SymmetricKey shared;
    bool ok = X25519(Priv(v["private"]), Pub(v["public"]), shared);
    if (v["valid"].get<bool>()) {
      ++valid;
      ASSERT_TRUE(ok) << v.dump();
      EXPECT_EQ(ToHex(shared.span()), v["result"].get<std::string>()) << v.dump();
    } else {
      ++invalid;
      EXPECT_FALSE(ok) << "all-zero result must be rejected: " << v.dump();
      EXPECT_TRUE(shared.IsZero());
    }
  }
  EXPECT_EQ(valid + invalid, 81);
  EXPECT_GT(invalid, 0);
}

TEST(X25519Test, LowOrderPointsFromNetnsShAreRejected) {
  PrivateKey priv = GeneratePrivateKey();
  Json all = Vectors();
  for (const auto& v : all["low_order_points_from_netns_sh"]) {
    SymmetricKey shared;
    EXPECT_FALSE(X25519(priv, Pub(v["hex"]), shared)) << v["base64"];
  }
}

TEST(X25519Test, GeneratedKeysAreClampedAndAgree) {
  PrivateKey a = GeneratePrivateKey();
  PrivateKey b = GeneratePrivateKey();
  EXPECT_EQ(a.data()[0] & 7, 0);
  EXPECT_EQ(a.data()[31] & 0xc0, 0x40);
  EXPECT_FALSE(a.Equals(b));
  SymmetricKey ab, ba;
  ASSERT_TRUE(X25519(a, PublicFromPrivate(b), ab));
  ASSERT_TRUE(X25519(b, PublicFromPrivate(a), ba));
  EXPECT_TRUE(ab.Equals(ba));
}

TEST(SecretTest, ConstantTimeHelpers) {
  uint8_t x[3] = {1, 2, 3}, y[3] = {1, 2, 3}, z[3] = {1, 2, 4};
  EXPECT_TRUE(ConstantTimeEqual(x, y));
  EXPECT_FALSE(ConstantTimeEqual(x, z));
  EXPECT_FALSE(ConstantTimeEqual(ByteSpan(x, 2), ByteSpan(y, 3)));
  Secret<4> s;
  EXPECT_TRUE(s.IsZero());
  s.data()[2] = 9;
  EXPECT_FALSE(s.IsZero());
  s.Wipe();
  EXPECT_TRUE(s.IsZero());
}

}  // namespace
}  // namespace tundra::crypto
