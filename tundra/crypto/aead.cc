#include "tundra/crypto/aead.h"

#include <openssl/evp.h>
#include <sodium.h>

#include "tundra/base/check.h"
#include "tundra/crypto/sodium_init.h"

namespace tundra::crypto {
namespace {

const EVP_CIPHER* ChaChaPolyCipher() {
  static const EVP_CIPHER* cipher = EVP_CIPHER_fetch(nullptr, "ChaCha20-Poly1305", nullptr);
  TUNDRA_CHECK(cipher != nullptr);
  return cipher;
}

// One encryption and one decryption context per thread, initialised with the cipher once; each
// packet only sets key and nonce (cheap), which keeps the per-packet path allocation-free.
struct ThreadContexts {
  EVP_CIPHER_CTX* enc;
  EVP_CIPHER_CTX* dec;
  ThreadContexts() : enc(EVP_CIPHER_CTX_new()), dec(EVP_CIPHER_CTX_new()) {
    TUNDRA_CHECK(enc != nullptr && dec != nullptr);
    TUNDRA_CHECK(EVP_EncryptInit_ex2(enc, ChaChaPolyCipher(), nullptr, nullptr, nullptr) == 1);
    TUNDRA_CHECK(EVP_DecryptInit_ex2(dec, ChaChaPolyCipher(), nullptr, nullptr, nullptr) == 1);
  }
  ~ThreadContexts() {
    EVP_CIPHER_CTX_free(enc);
    EVP_CIPHER_CTX_free(dec);
  }
};

ThreadContexts& Contexts() {
  thread_local ThreadContexts contexts;
  return contexts;
}

void CounterNonce(uint64_t counter, uint8_t nonce[kNonceSize]) {
  StoreLe32(nonce, 0);
  StoreLe64(nonce + 4, counter);
}

void Seal(const SymmetricKey& key, const uint8_t* nonce, ByteSpan plain, ByteSpan aad,
          MutableByteSpan out) {
  TUNDRA_CHECK(out.size() >= plain.size() + kTagSize);
  EVP_CIPHER_CTX* ctx = Contexts().enc;
  int len = 0;
  TUNDRA_CHECK(EVP_EncryptInit_ex2(ctx, nullptr, key.data(), nonce, nullptr) == 1);
  if (!aad.empty()) {
    TUNDRA_CHECK(EVP_EncryptUpdate(ctx, nullptr, &len, aad.data(), int(aad.size())) == 1);
  }
  if (!plain.empty()) {
    TUNDRA_CHECK(EVP_EncryptUpdate(ctx, out.data(), &len, plain.data(), int(plain.size())) == 1);
  }
  TUNDRA_CHECK(EVP_EncryptFinal_ex(ctx, out.data() + plain.size(), &len) == 1);
  TUNDRA_CHECK(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, int(kTagSize),
                                   out.data() + plain.size()) == 1);
}

bool Open(const SymmetricKey& key, const uint8_t* nonce, ByteSpan sealed, ByteSpan aad,
          MutableByteSpan out) {
  if (sealed.size() < kTagSize) return false;
  const size_t plain_len = sealed.size() - kTagSize;
  TUNDRA_CHECK(out.size() >= plain_len);
  EVP_CIPHER_CTX* ctx = Contexts().dec;
  int len = 0;
  if (EVP_DecryptInit_ex2(ctx, nullptr, key.data(), nonce, nullptr) != 1) return false;
  // The tag is copied out first: in-place decryption may overwrite the input buffer's head.
  uint8_t tag[kTagSize];
  std::memcpy(tag, sealed.data() + plain_len, kTagSize);
  if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, int(kTagSize), tag) != 1) return false;
  if (!aad.empty() && EVP_DecryptUpdate(ctx, nullptr, &len, aad.data(), int(aad.size())) != 1) {
    return false;
  }
  if (plain_len > 0 &&
      EVP_DecryptUpdate(ctx, out.data(), &len, sealed.data(), int(plain_len)) != 1) {
    return false;
  }
  return EVP_DecryptFinal_ex(ctx, out.data() + plain_len, &len) == 1;
}

}  // namespace

void EnsureSodium() {
  static const bool ok = sodium_init() >= 0;
  TUNDRA_CHECK(ok);
}

void ChaChaPolySeal(const SymmetricKey& key, uint64_t counter, ByteSpan plain, ByteSpan aad,
                    MutableByteSpan out) {
  uint8_t nonce[kNonceSize];
  CounterNonce(counter, nonce);
  Seal(key, nonce, plain, aad, out);
}

bool ChaChaPolyOpen(const SymmetricKey& key, uint64_t counter, ByteSpan sealed, ByteSpan aad,
                    MutableByteSpan out) {
  uint8_t nonce[kNonceSize];
  CounterNonce(counter, nonce);
  return Open(key, nonce, sealed, aad, out);
}

void ChaChaPolySealNonce(const SymmetricKey& key, std::span<const uint8_t, kNonceSize> nonce,
                         ByteSpan plain, ByteSpan aad, MutableByteSpan out) {
  Seal(key, nonce.data(), plain, aad, out);
}

bool ChaChaPolyOpenNonce(const SymmetricKey& key, std::span<const uint8_t, kNonceSize> nonce,
                         ByteSpan sealed, ByteSpan aad, MutableByteSpan out) {
  return Open(key, nonce.data(), sealed, aad, out);
}

void XChaChaPolySeal(const SymmetricKey& key, std::span<const uint8_t, kXNonceSize> nonce,
                     ByteSpan plain, ByteSpan aad, MutableByteSpan out) {
  EnsureSodium();
  TUNDRA_CHECK(out.size() >= plain.size() + kTagSize);
  unsigned long long out_len = 0;
  TUNDRA_CHECK(crypto_aead_xchacha20poly1305_ietf_encrypt(out.data(), &out_len, plain.data(),
                                                          plain.size(), aad.data(), aad.size(),
                                                          nullptr, nonce.data(), key.data()) == 0);
}

bool XChaChaPolyOpen(const SymmetricKey& key, std::span<const uint8_t, kXNonceSize> nonce,
                     ByteSpan sealed, ByteSpan aad, MutableByteSpan out) {
  EnsureSodium();
  if (sealed.size() < kTagSize || out.size() < sealed.size() - kTagSize) return false;
  unsigned long long out_len = 0;
  return crypto_aead_xchacha20poly1305_ietf_decrypt(out.data(), &out_len, nullptr, sealed.data(),
                                                    sealed.size(), aad.data(), aad.size(),
                                                    nonce.data(), key.data()) == 0;
}

void HChaCha20(const SymmetricKey& key, std::span<const uint8_t, 16> nonce, SymmetricKey& out) {
  EnsureSodium();
  TUNDRA_CHECK(crypto_core_hchacha20(out.data(), nonce.data(), key.data(), nullptr) == 0);
}

}  // namespace tundra::crypto
