#include "tundra/proto/handshake.h"

#include <cstring>

#include "tundra/crypto/x25519.h"
#include "tundra/proto/constants.h"

namespace tundra::proto {
namespace {

constexpr char kConstruction[] = "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s";
constexpr char kIdentifier[] = "WireGuard v1 zx2c4 Jason@zx2c4.com";

ByteSpan Text(const char* s, size_t n) { return ByteSpan(reinterpret_cast<const uint8_t*>(s), n); }

struct Initial {
  crypto::Secret<32> ck;
  crypto::Hash32 h{};
  Initial() {
    internal::SymmetricState s;
    s.Initialize(Text(kConstruction, sizeof(kConstruction) - 1),
                 Text(kIdentifier, sizeof(kIdentifier) - 1));
    ck = s.chaining_key();
    h = s.hash();
  }
};

const Initial& GetInitial() {
  static const Initial initial;
  return initial;
}

// The "e" token in a PSK handshake: MixHash(e) and MixKey(e).
void MixEphemeral(internal::SymmetricState& s, const crypto::PublicKey& e) {
  s.MixHash(e);
  s.MixKey(e);
}

// MixKey(DH(priv, pub)); false when the DH result is zero (low-order point).
bool MixDh(internal::SymmetricState& s, const crypto::PrivateKey& priv,
           const crypto::PublicKey& pub) {
  crypto::SymmetricKey dh;
  if (!crypto::X25519(priv, pub, dh)) return false;
  s.MixKey(dh.span());
  return true;
}

template <size_t N>
void CopyTo(uint8_t (&dst)[N], const std::array<uint8_t, N>& src) {
  std::memcpy(dst, src.data(), N);
}

template <size_t N>
std::array<uint8_t, N> FromField(const uint8_t (&src)[N]) {
  std::array<uint8_t, N> a;
  std::memcpy(a.data(), src, N);
  return a;
}

}  // namespace

namespace internal {
const crypto::Secret<32>& InitialChainingKey() { return GetInitial().ck; }
const crypto::Hash32& InitialHash() { return GetInitial().h; }
}  // namespace internal

StaticIdentity StaticIdentity::FromPrivateKey(const crypto::PrivateKey& key) {
  StaticIdentity id;
  id.private_key = key;
  crypto::ClampPrivateKey(id.private_key);
  id.public_key = crypto::PublicFromPrivate(id.private_key);
  id.has_private_key = true;
  return id;
}

DropReason DecryptInitiation(const StaticIdentity& local, const MessageInitiation& msg,
                             DecryptedInitiation& out) {
  if (!local.has_private_key) return DropReason::kNoPrivateKey;
  internal::SymmetricState& s = out.state;
  s.Set(internal::InitialChainingKey(), internal::InitialHash());
  s.MixHash(local.public_key);  // pre-message: the responder's static key

  /* e */
  out.remote_ephemeral = FromField(msg.unencrypted_ephemeral);
  MixEphemeral(s, out.remote_ephemeral);
  /* es */
  if (!MixDh(s, local.private_key, out.remote_ephemeral)) return DropReason::kLowOrderKey;
  /* s */
  if (!s.DecryptAndHash(msg.encrypted_static, out.remote_static)) {
    return DropReason::kHandshakeDecrypt;
  }
  out.sender_index = msg.sender_index;
  return DropReason::kNone;
}

bool Handshake::Configure(const StaticIdentity& local, const crypto::PublicKey& remote_static) {
  remote_static_ = remote_static;
  has_precomputed_ = local.has_private_key &&
                     crypto::X25519(local.private_key, remote_static, precomputed_static_static_);
  if (!has_precomputed_) precomputed_static_static_.Wipe();
  return has_precomputed_;
}

crypto::PublicKey Handshake::NewEphemeral(const crypto::PrivateKey* fixed) {
  ephemeral_private_ = fixed != nullptr ? *fixed : crypto::GeneratePrivateKey();
  crypto::ClampPrivateKey(ephemeral_private_);
  return crypto::PublicFromPrivate(ephemeral_private_);
}

DropReason Handshake::CreateInitiation(const StaticIdentity& local, uint32_t local_index,
                                       const Timestamp& timestamp, MessageInitiation& out,
                                       const crypto::PrivateKey* ephemeral) {
  if (!local.has_private_key) return DropReason::kNoPrivateKey;
  if (!has_precomputed_) return DropReason::kLowOrderKey;
  Clear();
  internal::SymmetricState& s = symmetric_;
  s.Set(internal::InitialChainingKey(), internal::InitialHash());
  s.MixHash(remote_static_);

  std::memset(&out, 0, sizeof(out));
  out.type = uint32_t(MessageType::kInitiation);
  out.sender_index = local_index;

  /* e */
  const crypto::PublicKey e_pub = NewEphemeral(ephemeral);
  CopyTo(out.unencrypted_ephemeral, e_pub);
  MixEphemeral(s, e_pub);
  /* es */
  if (!MixDh(s, ephemeral_private_, remote_static_)) {
    Clear();
    return DropReason::kLowOrderKey;
  }
  /* s */
  s.EncryptAndHash(local.public_key, out.encrypted_static);
  /* ss */
  s.MixKey(precomputed_static_static_.span());
  /* {t} */
  s.EncryptAndHash(timestamp, out.encrypted_timestamp);

  local_index_ = local_index;
  state_ = HandshakeState::kCreatedInitiation;
  return DropReason::kNone;
}

DropReason Handshake::ConsumeInitiation(const DecryptedInitiation& d, const MessageInitiation& msg,
                                        TimePoint now) {
  if (!has_precomputed_) return DropReason::kLowOrderKey;
  internal::SymmetricState s = d.state;
  /* ss */
  s.MixKey(precomputed_static_static_.span());
  /* {t} */
  Timestamp t;
  if (!s.DecryptAndHash(msg.encrypted_timestamp, t)) return DropReason::kHandshakeDecrypt;

  // Replay: the timestamp must be strictly newer than the last accepted one.
  if (has_consumed_initiation_ && std::memcmp(t.data(), latest_timestamp_.data(), t.size()) <= 0) {
    return DropReason::kStaleTimestamp;
  }
  // Flood: at most one initiation per kHandshakeInitiationRate from this peer.
  if (has_consumed_initiation_ && now - last_initiation_consumption_ < kHandshakeInitiationRate) {
    return DropReason::kFlood;
  }

  Clear();
  symmetric_ = s;
  remote_ephemeral_ = d.remote_ephemeral;
  remote_index_ = d.sender_index;
  latest_timestamp_ = t;
  last_initiation_consumption_ = now;
  has_consumed_initiation_ = true;
  state_ = HandshakeState::kConsumedInitiation;
  return DropReason::kNone;
}

DropReason Handshake::CreateResponse(uint32_t local_index, MessageResponse& out,
                                     const crypto::PrivateKey* ephemeral) {
  if (state_ != HandshakeState::kConsumedInitiation) return DropReason::kUnexpectedMessage;
  internal::SymmetricState& s = symmetric_;
  std::memset(&out, 0, sizeof(out));
  out.type = uint32_t(MessageType::kResponse);
  out.sender_index = local_index;
  out.receiver_index = remote_index_;

  /* e */
  const crypto::PublicKey e_pub = NewEphemeral(ephemeral);
  CopyTo(out.unencrypted_ephemeral, e_pub);
  MixEphemeral(s, e_pub);
  /* ee */ /* se */
  if (!MixDh(s, ephemeral_private_, remote_ephemeral_) ||
      !MixDh(s, ephemeral_private_, remote_static_)) {
    Clear();
    return DropReason::kLowOrderKey;
  }
  /* psk */
  s.MixKeyAndHash(preshared_key_.span());
  /* {} */
  s.EncryptAndHash({}, out.encrypted_nothing);

  local_index_ = local_index;
  state_ = HandshakeState::kCreatedResponse;
  return DropReason::kNone;
}

DropReason Handshake::ConsumeResponse(const StaticIdentity& local, const MessageResponse& msg) {
  if (state_ != HandshakeState::kCreatedInitiation || msg.receiver_index != local_index_) {
    return DropReason::kUnexpectedMessage;
  }
  if (!local.has_private_key) return DropReason::kNoPrivateKey;
  // Work on a copy: a forged response must not disturb the pending handshake.
  internal::SymmetricState s = symmetric_;
  const crypto::PublicKey e_remote = FromField(msg.unencrypted_ephemeral);
  /* e */
  MixEphemeral(s, e_remote);
  /* ee */ /* se */
  if (!MixDh(s, ephemeral_private_, e_remote) || !MixDh(s, local.private_key, e_remote)) {
    return DropReason::kLowOrderKey;
  }
  /* psk */
  s.MixKeyAndHash(preshared_key_.span());
  /* {} */
  if (!s.DecryptAndHash(msg.encrypted_nothing, MutableByteSpan())) {
    return DropReason::kHandshakeDecrypt;
  }
  symmetric_ = s;
  remote_ephemeral_ = e_remote;
  remote_index_ = msg.sender_index;
  state_ = HandshakeState::kConsumedResponse;
  return DropReason::kNone;
}

bool Handshake::BeginSession(SessionKeys& keys) {
  if (state_ != HandshakeState::kCreatedResponse && state_ != HandshakeState::kConsumedResponse) {
    return false;
  }
  keys.i_am_initiator = state_ == HandshakeState::kConsumedResponse;
  if (keys.i_am_initiator) {
    symmetric_.Split(keys.send, keys.recv);
  } else {
    symmetric_.Split(keys.recv, keys.send);
  }
  keys.local_index = local_index_;
  keys.remote_index = remote_index_;
  Clear();
  return true;
}

void Handshake::Clear() {
  symmetric_ = internal::SymmetricState();
  ephemeral_private_.Wipe();
  remote_ephemeral_.fill(0);
  local_index_ = 0;
  remote_index_ = 0;
  state_ = HandshakeState::kZeroed;
}

void Handshake::ClearAll() {
  Clear();
  latest_timestamp_.fill(0);
  has_consumed_initiation_ = false;
}

}  // namespace tundra::proto
