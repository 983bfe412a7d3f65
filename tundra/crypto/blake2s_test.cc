#include "tundra/crypto/blake2s.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tundra/testing/test_util.h"

namespace tundra::crypto {
namespace {

using ::tundra::testing::FromHex;
using Json = nlohmann::json;

Json Load(const char* file) { return ::tundra::testing::LoadVectorJson(file); }

std::vector<uint8_t> Sequence(size_t n) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = uint8_t(i);
  return v;
}

TEST(Blake2sTest, Rfc7693Abc) {
  Hash32 out;
  const uint8_t abc[] = {'a', 'b', 'c'};
  Blake2sHash({abc}, out);
  EXPECT_EQ(ToHex(out), Load("blake2s.json")["abc"].get<std::string>());
  // Split input hashes the same as the concatenation.
  Hash32 split;
  Blake2sHash({ByteSpan(abc, 1), ByteSpan(abc + 1, 2)}, split);
  EXPECT_EQ(out, split);
}

TEST(Blake2sTest, UnkeyedKat) {
  Json v = Load("blake2s.json")["unkeyed"];
  ASSERT_EQ(v.size(), 256u);
  for (size_t n = 0; n < v.size(); ++n) {
    Hash32 out;
    auto in = Sequence(n);
    Blake2sHash({in}, out);
    EXPECT_EQ(ToHex(out), v[n].get<std::string>()) << "n=" << n;
  }
}

TEST(Blake2sTest, KeyedKat) {
  Json v = Load("blake2s.json")["keyed"];
  ASSERT_EQ(v.size(), 256u);
  auto key = Sequence(32);
  for (size_t n = 0; n < v.size(); ++n) {
    Hash32 out;
    auto in = Sequence(n);
    Blake2sKeyed(key, {in}, out);
    EXPECT_EQ(ToHex(out), v[n].get<std::string>()) << "n=" << n;
  }
}

TEST(Blake2sTest, Keyed16ByteMac) {
  Json all = Load("blake2s.json");
  for (const auto& v : all["computed_blake2s128_keyed"]) {
    Mac16 out;
    auto key = FromHex(v["key"]);
    auto in = FromHex(v["in"]);
    Blake2sMac(key, {in}, out);
    EXPECT_EQ(ToHex(out), v["out16"].get<std::string>());
  }
}

TEST(KdfTest, WireguardGoVectors) {
  Json all = Load("kdf_hmac_blake2s.json")["vectors"];
  ASSERT_EQ(all.size(), 3u);
  for (const auto& v : all) {
    auto key = FromHex(v["key"]);
    auto input = FromHex(v["input"]);
    SymmetricKey t0, t1, t2;
    Kdf(key, input, &t0, &t1, &t2);
    EXPECT_EQ(ToHex(t0.span()), v["t0"].get<std::string>());
    EXPECT_EQ(ToHex(t1.span()), v["t1"].get<std::string>());
    EXPECT_EQ(ToHex(t2.span()), v["t2"].get<std::string>());
    // KDF1 and KDF2 are prefixes of KDF3.
    SymmetricKey a, b;
    Kdf(key, input, &a, &b, nullptr);
    EXPECT_TRUE(a.Equals(t0));
    EXPECT_TRUE(b.Equals(t1));
    SymmetricKey c;
    Kdf(key, input, &c, nullptr, nullptr);
    EXPECT_TRUE(c.Equals(t0));
  }
}

TEST(HmacTest, HandshakeConstants) {
  // Ci = HASH("Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s"), Hi = HASH(Ci || identifier).
  Json v = Load("wireguard_derived.json");
  const std::string construction = "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s";
  const std::string identifier = "WireGuard v1 zx2c4 Jason@zx2c4.com";
  Hash32 ci, hi;
  Blake2sHash(
      {ByteSpan(reinterpret_cast<const uint8_t*>(construction.data()), construction.size())}, ci);
  Blake2sHash(
      {ci, ByteSpan(reinterpret_cast<const uint8_t*>(identifier.data()), identifier.size())}, hi);
  EXPECT_EQ(ToHex(ci), v["Ci_hash_construction"].get<std::string>());
  EXPECT_EQ(ToHex(hi), v["Hi_hash_Ci_identifier"].get<std::string>());
}

}  // namespace
}  // namespace tundra::crypto
