#include "tundra/crypto/blake2s.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "tundra/base/check.h"

namespace tundra::crypto {
namespace {

const EVP_MD* Blake2s256() {
  static const EVP_MD* md = EVP_MD_fetch(nullptr, "BLAKE2S-256", nullptr);
  TUNDRA_CHECK(md != nullptr);
  return md;
}

EVP_MAC* Blake2sMacAlgo() {
  static EVP_MAC* mac = EVP_MAC_fetch(nullptr, "BLAKE2SMAC", nullptr);
  TUNDRA_CHECK(mac != nullptr);
  return mac;
}

EVP_MAC* HmacAlgo() {
  static EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  TUNDRA_CHECK(mac != nullptr);
  return mac;
}

struct MdCtx {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ~MdCtx() { EVP_MD_CTX_free(ctx); }
};

struct MacCtx {
  EVP_MAC_CTX* ctx;
  explicit MacCtx(EVP_MAC* algo) : ctx(EVP_MAC_CTX_new(algo)) { TUNDRA_CHECK(ctx != nullptr); }
  ~MacCtx() { EVP_MAC_CTX_free(ctx); }
};

void RunMac(EVP_MAC_CTX* ctx, ByteSpan key, const OSSL_PARAM* params,
            std::initializer_list<ByteSpan> parts, MutableByteSpan out) {
  TUNDRA_CHECK(EVP_MAC_init(ctx, key.data(), key.size(), params) == 1);
  for (ByteSpan p : parts) {
    if (!p.empty()) TUNDRA_CHECK(EVP_MAC_update(ctx, p.data(), p.size()) == 1);
  }
  size_t len = 0;
  TUNDRA_CHECK(EVP_MAC_final(ctx, out.data(), &len, out.size()) == 1 && len == out.size());
}

}  // namespace

void Blake2sHash(std::initializer_list<ByteSpan> parts, std::span<uint8_t, kHashSize> out) {
  thread_local MdCtx md;
  TUNDRA_CHECK(md.ctx != nullptr && EVP_DigestInit_ex2(md.ctx, Blake2s256(), nullptr) == 1);
  for (ByteSpan p : parts) {
    if (!p.empty()) TUNDRA_CHECK(EVP_DigestUpdate(md.ctx, p.data(), p.size()) == 1);
  }
  unsigned int len = 0;
  TUNDRA_CHECK(EVP_DigestFinal_ex(md.ctx, out.data(), &len) == 1 && len == kHashSize);
}

void Blake2sKeyed(ByteSpan key, std::initializer_list<ByteSpan> parts, MutableByteSpan out) {
  TUNDRA_CHECK(!key.empty() && key.size() <= 32 && !out.empty() && out.size() <= 32);
  MacCtx mac(Blake2sMacAlgo());
  size_t size = out.size();
  OSSL_PARAM params[] = {OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE, &size),
                         OSSL_PARAM_construct_end()};
  RunMac(mac.ctx, key, params, parts, out);
}

void Blake2sMac(ByteSpan key, std::initializer_list<ByteSpan> parts,
                std::span<uint8_t, kMacSize> out) {
  Blake2sKeyed(key, parts, out);
}

void HmacBlake2s(ByteSpan key, std::initializer_list<ByteSpan> parts,
                 std::span<uint8_t, kHashSize> out) {
  MacCtx mac(HmacAlgo());
  char digest[] = "BLAKE2S-256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                         OSSL_PARAM_construct_end()};
  // HMAC accepts an empty key; OpenSSL wants a non-null pointer for it.
  static const uint8_t kEmpty[1] = {0};
  ByteSpan k = key.empty() ? ByteSpan(kEmpty, 0) : key;
  RunMac(mac.ctx, k, params, parts, out);
}

void Kdf(ByteSpan chaining_key, ByteSpan input, SymmetricKey* out1, SymmetricKey* out2,
         SymmetricKey* out3) {
  Secret<kHashSize> tau0;
  Secret<kHashSize> tau;
  HmacBlake2s(chaining_key, {input}, tau0.span());
  if (out1 == nullptr) return;
  const uint8_t one = 1;
  HmacBlake2s(tau0.span(), {ByteSpan(&one, 1)}, tau.span());
  *out1 = SymmetricKey(tau.span());
  if (out2 == nullptr) return;
  const uint8_t two = 2;
  HmacBlake2s(tau0.span(), {tau.span(), ByteSpan(&two, 1)}, tau.span());
  *out2 = SymmetricKey(tau.span());
  if (out3 == nullptr) return;
  const uint8_t three = 3;
  HmacBlake2s(tau0.span(), {tau.span(), ByteSpan(&three, 1)}, tau.span());
  *out3 = SymmetricKey(tau.span());
}

}  // namespace tundra::crypto
