#include "tundra/proto/noise.h"

#include "tundra/crypto/aead.h"

namespace tundra::proto::internal {

void SymmetricState::Initialize(ByteSpan protocol_name, ByteSpan prologue) {
  if (protocol_name.size() <= 32) {
    h_.fill(0);
    std::copy(protocol_name.begin(), protocol_name.end(), h_.begin());
  } else {
    crypto::Blake2sHash({protocol_name}, h_);
  }
  ck_ = crypto::Secret<32>(h_);
  k_.Wipe();
  n_ = 0;
  MixHash(prologue);
}

void SymmetricState::Set(const crypto::Secret<32>& ck, const crypto::Hash32& h) {
  ck_ = ck;
  h_ = h;
  k_.Wipe();
  n_ = 0;
}

void SymmetricState::MixHash(ByteSpan data) { crypto::Blake2sHash({h_, data}, h_); }

void SymmetricState::MixKey(ByteSpan ikm) {
  crypto::Secret<32> ck;
  crypto::Kdf(ck_.span(), ikm, &ck, &k_, nullptr);
  ck_ = ck;
  n_ = 0;
}

void SymmetricState::MixKeyAndHash(ByteSpan ikm) {
  crypto::Secret<32> ck;
  crypto::SymmetricKey tmp_h;
  crypto::Kdf(ck_.span(), ikm, &ck, &tmp_h, &k_);
  ck_ = ck;
  MixHash(tmp_h.span());
  n_ = 0;
}

void SymmetricState::EncryptAndHash(ByteSpan plain, MutableByteSpan out) {
  crypto::ChaChaPolySeal(k_, n_++, plain, h_, out);
  MixHash(out.first(plain.size() + crypto::kTagSize));
}

bool SymmetricState::DecryptAndHash(ByteSpan sealed, MutableByteSpan out) {
  if (!crypto::ChaChaPolyOpen(k_, n_++, sealed, h_, out)) return false;
  MixHash(sealed);
  return true;
}

void SymmetricState::Split(crypto::SymmetricKey& first, crypto::SymmetricKey& second) const {
  crypto::Kdf(ck_.span(), {}, &first, &second, nullptr);
}

}  // namespace tundra::proto::internal
