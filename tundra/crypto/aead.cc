#include "tundra/crypto/aead.h"

#include <openssl/evp.h>
#include <sodium.h>

#include <atomic>
#include <cstring>
#include <memory>

#include "tundra/base/check.h"
#include "tundra/crypto/sodium_init.h"

namespace tundra::crypto {
namespace {

const EVP_CIPHER* ChaChaPolyCipher() {
  static const EVP_CIPHER* cipher = EVP_CIPHER_fetch(nullptr, "ChaCha20-Poly1305", nullptr);
  TUNDRA_CHECK(cipher != nullptr);
  return cipher;
}

// A context holding `key`, ready for nonces. Freed (and wiped, see aead.h) by CtxPtr.
struct CtxFree {
  void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
};
using CtxPtr = std::unique_ptr<EVP_CIPHER_CTX, CtxFree>;

CtxPtr NewKeyedContext(const SymmetricKey& key) {
  CtxPtr ctx(EVP_CIPHER_CTX_new());
  TUNDRA_CHECK(ctx != nullptr);
  TUNDRA_CHECK(EVP_CipherInit_ex2(ctx.get(), ChaChaPolyCipher(), key.data(), nullptr, 1, nullptr) ==
               1);
  return ctx;
}

void CounterNonce(uint64_t counter, uint8_t nonce[kNonceSize]) {
  StoreLe32(nonce, 0);
  StoreLe64(nonce + 4, counter);
}

// Per message only the nonce (and direction) is set: no key, no cipher, no parameters.
void Seal(EVP_CIPHER_CTX* ctx, const uint8_t* nonce, ByteSpan plain, ByteSpan aad,
          MutableByteSpan out) {
  TUNDRA_CHECK(out.size() >= plain.size() + kTagSize);
  int len = 0;
  TUNDRA_CHECK(EVP_CipherInit_ex(ctx, nullptr, nullptr, nullptr, nonce, 1) == 1);
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

bool Open(EVP_CIPHER_CTX* ctx, const uint8_t* nonce, ByteSpan sealed, ByteSpan aad,
          MutableByteSpan out) {
  if (sealed.size() < kTagSize) return false;
  const size_t plain_len = sealed.size() - kTagSize;
  TUNDRA_CHECK(out.size() >= plain_len);
  int len = 0;
  if (EVP_CipherInit_ex(ctx, nullptr, nullptr, nullptr, nonce, 0) != 1) return false;
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

// The slot a thread tries first: threads are dealt slots in turn as they first use one.
size_t ThreadSlotHint() {
  static std::atomic<size_t> next{0};
  thread_local const size_t hint = next.fetch_add(1, std::memory_order_relaxed);
  return hint;
}

}  // namespace

void EnsureSodium() {
  static const bool ok = sodium_init() >= 0;
  TUNDRA_CHECK(ok);
}

ChaChaPolyKey::ChaChaPolyKey(const SymmetricKey& key) {
  for (Slot& slot : slots_) slot.ctx = NewKeyedContext(key).release();
}

ChaChaPolyKey::~ChaChaPolyKey() {
  for (Slot& slot : slots_) EVP_CIPHER_CTX_free(slot.ctx);
}

template <typename F>
auto ChaChaPolyKey::WithContext(uint64_t counter, F use) const {
  uint8_t nonce[kNonceSize];
  CounterNonce(counter, nonce);
  const size_t first = ThreadSlotHint() % kSlots;
  Slot* slot = nullptr;
  for (size_t i = 0; i < kSlots && slot == nullptr; ++i) {
    Slot& s = slots_[(first + i) % kSlots];
    if (s.mu.try_lock()) slot = &s;
  }
  if (slot == nullptr) {  // all busy: wait for our own
    slot = &slots_[first];
    slot->mu.lock();
  }
  std::lock_guard lock(slot->mu, std::adopt_lock);
  return use(slot->ctx, nonce);
}

void ChaChaPolyKey::Seal(uint64_t counter, ByteSpan plain, ByteSpan aad,
                         MutableByteSpan out) const {
  WithContext(counter, [&](EVP_CIPHER_CTX* ctx, const uint8_t* nonce) {
    crypto::Seal(ctx, nonce, plain, aad, out);
  });
}

bool ChaChaPolyKey::Open(uint64_t counter, ByteSpan sealed, ByteSpan aad,
                         MutableByteSpan out) const {
  return WithContext(counter, [&](EVP_CIPHER_CTX* ctx, const uint8_t* nonce) {
    return crypto::Open(ctx, nonce, sealed, aad, out);
  });
}

void ChaChaPolySeal(const SymmetricKey& key, uint64_t counter, ByteSpan plain, ByteSpan aad,
                    MutableByteSpan out) {
  uint8_t nonce[kNonceSize];
  CounterNonce(counter, nonce);
  Seal(NewKeyedContext(key).get(), nonce, plain, aad, out);
}

bool ChaChaPolyOpen(const SymmetricKey& key, uint64_t counter, ByteSpan sealed, ByteSpan aad,
                    MutableByteSpan out) {
  uint8_t nonce[kNonceSize];
  CounterNonce(counter, nonce);
  return Open(NewKeyedContext(key).get(), nonce, sealed, aad, out);
}

void ChaChaPolySealNonce(const SymmetricKey& key, std::span<const uint8_t, kNonceSize> nonce,
                         ByteSpan plain, ByteSpan aad, MutableByteSpan out) {
  Seal(NewKeyedContext(key).get(), nonce.data(), plain, aad, out);
}

bool ChaChaPolyOpenNonce(const SymmetricKey& key, std::span<const uint8_t, kNonceSize> nonce,
                         ByteSpan sealed, ByteSpan aad, MutableByteSpan out) {
  return Open(NewKeyedContext(key).get(), nonce.data(), sealed, aad, out);
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
