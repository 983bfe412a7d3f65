#include "tundra/crypto/aead.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tundra/testing/test_util.h"

namespace tundra::crypto {
namespace {

using ::tundra::testing::FromHex;
using Json = nlohmann::json;

Json Load(const char* file) {
  return ::tundra::testing::LoadSharedJson(std::string("vectors/") + file);
}

template <size_t N>
std::array<uint8_t, N> Fixed(const std::string& hex) {
  std::array<uint8_t, N> a{};
  auto b = FromHex(hex);
  EXPECT_EQ(b.size(), N);
  std::copy(b.begin(), b.begin() + std::min(N, b.size()), a.begin());
  return a;
}

TEST(ChaChaPolyTest, Rfc8439Section282) {
  Json v = Load("chacha20poly1305.json")["rfc8439_2_8_2"];
  SymmetricKey key(FromHex(v["key"]));
  auto nonce = Fixed<kNonceSize>(v["nonce"]);
  auto aad = FromHex(v["aad"]);
  auto plain = FromHex(v["plaintext"]);
  std::vector<uint8_t> out(plain.size() + kTagSize);
  ChaChaPolySealNonce(key, nonce, plain, aad, out);
  EXPECT_EQ(ToHex(out), v["ciphertext"].get<std::string>() + v["tag"].get<std::string>());
  std::vector<uint8_t> back(plain.size());
  ASSERT_TRUE(ChaChaPolyOpenNonce(key, nonce, out, aad, back));
  EXPECT_EQ(back, plain);
}

TEST(ChaChaPolyTest, ZincEncryptVectors) {
  Json all = Load("chacha20poly1305.json")["encrypt"];
  ASSERT_EQ(all.size(), 118u);
  for (const auto& v : all) {
    SymmetricKey key(FromHex(v["key"]));
    auto nonce = Fixed<kNonceSize>(v["nonce"]);
    auto aad = FromHex(v["aad"]);
    auto plain = FromHex(v["plaintext"]);
    std::vector<uint8_t> out(plain.size() + kTagSize);
    ChaChaPolySealNonce(key, nonce, plain, aad, out);
    EXPECT_EQ(ToHex(out), v["ciphertext_and_tag"].get<std::string>()) << v["name"];
    // And back again, in place.
    std::vector<uint8_t> inplace = out;
    ASSERT_TRUE(ChaChaPolyOpenNonce(key, nonce, inplace, aad, inplace)) << v["name"];
    EXPECT_TRUE(std::equal(plain.begin(), plain.end(), inplace.begin())) << v["name"];
  }
}

TEST(ChaChaPolyTest, ZincDecryptVectorsIncludingMustFail) {
  int failures = 0;
  Json all = Load("chacha20poly1305.json");
  for (const auto& v : all["decrypt"]) {
    SymmetricKey key(FromHex(v["key"]));
    auto nonce = Fixed<kNonceSize>(v["nonce"]);
    auto aad = FromHex(v["aad"]);
    auto sealed = FromHex(v["ciphertext_and_tag"]);
    std::vector<uint8_t> out(sealed.size() >= kTagSize ? sealed.size() - kTagSize : 0);
    bool ok = ChaChaPolyOpenNonce(key, nonce, sealed, aad, out);
    if (v["must_fail"].get<bool>()) {
      ++failures;
      EXPECT_FALSE(ok) << v["name"];
    } else {
      ASSERT_TRUE(ok) << v["name"];
      EXPECT_EQ(ToHex(out), v["plaintext"].get<std::string>()) << v["name"];
    }
  }
  EXPECT_EQ(failures, 1);
}

TEST(ChaChaPolyTest, CounterNonceMatchesExplicitNonceAndTamperFails) {
  SymmetricKey key(FromHex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"));
  const uint64_t counter = 0x0102030405060708ull;
  std::array<uint8_t, kNonceSize> nonce = {0, 0, 0, 0, 8, 7, 6, 5, 4, 3, 2, 1};
  std::vector<uint8_t> plain(100, 0xab), a(116), b(116);
  ChaChaPolySeal(key, counter, plain, {}, a);
  ChaChaPolySealNonce(key, nonce, plain, {}, b);
  EXPECT_EQ(a, b);
  std::vector<uint8_t> out(100);
  EXPECT_TRUE(ChaChaPolyOpen(key, counter, a, {}, out));
  EXPECT_FALSE(ChaChaPolyOpen(key, counter + 1, a, {}, out));
  a[50] ^= 1;
  EXPECT_FALSE(ChaChaPolyOpen(key, counter, a, {}, out));
  EXPECT_FALSE(ChaChaPolyOpen(key, counter, ByteSpan(a.data(), 15), {}, out));
  // Empty plaintext (a keepalive): the output is only the tag.
  std::array<uint8_t, kTagSize> tag{};
  ChaChaPolySeal(key, 7, {}, {}, tag);
  EXPECT_TRUE(ChaChaPolyOpen(key, 7, tag, {}, MutableByteSpan()));
}

bool IsCounterNonce(const std::string& nonce_hex) { return nonce_hex.rfind("00000000", 0) == 0; }

// The keyed object with the vectors whose nonce has WireGuard's form (4 zero bytes, then the
// little-endian counter). Each key object seals and opens three times: the key set once at
// construction must survive the per-message nonce changes.
TEST(ChaChaPolyKeyTest, ZincVectorsWithCounterNonces) {
  int used = 0;
  const Json all = Load("chacha20poly1305.json");
  for (const auto& v : all["encrypt"]) {
    if (!IsCounterNonce(v["nonce"].get<std::string>())) continue;
    ++used;
    const ChaChaPolyKey key(SymmetricKey(FromHex(v["key"])));
    const uint64_t counter = LoadLe64(FromHex(v["nonce"]).data() + 4);
    auto aad = FromHex(v["aad"]);
    auto plain = FromHex(v["plaintext"]);
    for (int round = 0; round < 3; ++round) {
      std::vector<uint8_t> out(plain.size() + kTagSize);
      key.Seal(counter, plain, aad, out);
      EXPECT_EQ(ToHex(out), v["ciphertext_and_tag"].get<std::string>()) << v["name"];
      ASSERT_TRUE(key.Open(counter, out, aad, out)) << v["name"];
      EXPECT_TRUE(std::equal(plain.begin(), plain.end(), out.begin())) << v["name"];
      std::vector<uint8_t> other(plain.size() + kTagSize);
      key.Seal(counter + 1, plain, aad, other);  // a different nonce in between
    }
  }
  EXPECT_GT(used, 50);
}

TEST(ChaChaPolyKeyTest, ZincDecryptVectorsIncludingMustFail) {
  int failures = 0;
  const Json all = Load("chacha20poly1305.json");
  for (const auto& v : all["decrypt"]) {
    if (!IsCounterNonce(v["nonce"].get<std::string>())) continue;
    const ChaChaPolyKey key(SymmetricKey(FromHex(v["key"])));
    const uint64_t counter = LoadLe64(FromHex(v["nonce"]).data() + 4);
    auto aad = FromHex(v["aad"]);
    auto sealed = FromHex(v["ciphertext_and_tag"]);
    std::vector<uint8_t> out(sealed.size() >= kTagSize ? sealed.size() - kTagSize : 0);
    const bool ok = key.Open(counter, sealed, aad, out);
    if (v["must_fail"].get<bool>()) {
      ++failures;
      EXPECT_FALSE(ok) << v["name"];
      // A failed open leaves the object usable.
      std::vector<uint8_t> tag(kTagSize);
      key.Seal(counter, {}, {}, tag);
      EXPECT_TRUE(key.Open(counter, tag, {}, MutableByteSpan()));
    } else {
      ASSERT_TRUE(ok) << v["name"];
      EXPECT_EQ(ToHex(out), v["plaintext"].get<std::string>()) << v["name"];
    }
  }
  EXPECT_EQ(failures, 1);
}

TEST(ChaChaPolyKeyTest, MatchesOneShotAndTamperFails) {
  const SymmetricKey raw(
      FromHex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"));
  const ChaChaPolyKey key(raw);
  std::vector<uint8_t> plain(1424, 0xab), a(1440), b(1440), out(1424);
  for (uint64_t counter : {0ull, 1ull, 0xfffffffffffffffeull}) {
    key.Seal(counter, plain, {}, a);
    ChaChaPolySeal(raw, counter, plain, {}, b);
    EXPECT_EQ(a, b);
    EXPECT_TRUE(key.Open(counter, a, {}, out));
    EXPECT_EQ(out, plain);
    EXPECT_FALSE(key.Open(counter + 1, a, {}, out));
    a[700] ^= 1;
    EXPECT_FALSE(key.Open(counter, a, {}, out));
  }
  EXPECT_FALSE(key.Open(0, ByteSpan(a.data(), 15), {}, out));
}

TEST(XChaChaPolyTest, HChaCha20DraftVector) {
  Json v = Load("xchacha20poly1305.json")["hchacha20"];
  SymmetricKey key(FromHex(v["key"]));
  auto nonce = Fixed<16>(v["nonce16"]);
  SymmetricKey out;
  HChaCha20(key, nonce, out);
  EXPECT_EQ(ToHex(out.span()), v["subkey"].get<std::string>());
}

TEST(XChaChaPolyTest, DraftA31AndZincVectors) {
  Json all = Load("xchacha20poly1305.json");
  {
    Json v = all["aead_A_3_1"];
    SymmetricKey key(FromHex(v["key"]));
    auto nonce = Fixed<kXNonceSize>(v["nonce"]);
    auto aad = FromHex(v["aad"]);
    auto plain = FromHex(v["plaintext"]);
    std::vector<uint8_t> out(plain.size() + kTagSize);
    XChaChaPolySeal(key, nonce, plain, aad, out);
    EXPECT_EQ(ToHex(out), v["ciphertext"].get<std::string>() + v["tag"].get<std::string>());
  }
  {
    Json v = all["zinc_xenc001"];
    SymmetricKey key(FromHex(v["key"]));
    auto nonce = Fixed<kXNonceSize>(v["nonce"]);
    auto aad = FromHex(v["aad"]);
    auto plain = FromHex(v["plaintext"]);
    std::vector<uint8_t> out(plain.size() + kTagSize);
    XChaChaPolySeal(key, nonce, plain, aad, out);
    EXPECT_EQ(ToHex(out), v["ciphertext_and_tag"].get<std::string>());
  }
  {
    Json v = all["zinc_xdec001"];
    SymmetricKey key(FromHex(v["key"]));
    auto nonce = Fixed<kXNonceSize>(v["nonce"]);
    auto aad = FromHex(v["aad"]);
    auto sealed = FromHex(v["ciphertext_and_tag"]);
    std::vector<uint8_t> out(sealed.size() - kTagSize);
    ASSERT_TRUE(XChaChaPolyOpen(key, nonce, sealed, aad, out));
    EXPECT_EQ(ToHex(out), v["plaintext"].get<std::string>());
    sealed[0] ^= 0x80;
    EXPECT_FALSE(XChaChaPolyOpen(key, nonce, sealed, aad, out));
  }
}

}  // namespace
}  // namespace tundra::crypto
