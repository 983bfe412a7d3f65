// Noise_IKpsk2 as WireGuard uses it (whitepaper §5.4; kernel noise.c).
//
//   initiator                                   responder
//   CreateInitiation  --- initiation (148) -->  DecryptInitiation (e, es, s: who is it?)
//                                               ConsumeInitiation (ss, {t}: replay/flood)
//                     <-- response (92) ------  CreateResponse    (e, ee, se, psk, {})
//   ConsumeResponse   (e, ee, se, psk, {})
//   BeginSession                                BeginSession
//
// MACs are added and checked by cookie.h, not here. The caller owns index allocation: it passes
// a fresh local index in, and finds the Handshake for a response by its receiver index.
//
// Not thread-safe: the owner (a peer) serializes every call with its handshake lock.
#pragma once

#include <array>
#include <cstdint>

#include "tundra/base/clock.h"
#include "tundra/crypto/secret.h"
#include "tundra/proto/drop_reason.h"
#include "tundra/proto/messages.h"
#include "tundra/proto/noise.h"

namespace tundra::proto {

using Timestamp = std::array<uint8_t, kTimestampLen>;  // TAI64N, see tai64n.h

// The local static key pair. has_private_key is false until one is configured.
struct StaticIdentity {
  crypto::PrivateKey private_key;
  crypto::PublicKey public_key{};
  bool has_private_key = false;

  static StaticIdentity FromPrivateKey(const crypto::PrivateKey& key);
};

enum class HandshakeState : uint8_t {
  kZeroed,
  kCreatedInitiation,
  kConsumedInitiation,
  kCreatedResponse,
  kConsumedResponse,
};

// What the responder learns from an initiation before it knows the peer (tokens e, es, s).
struct DecryptedInitiation {
  crypto::PublicKey remote_static{};
  crypto::PublicKey remote_ephemeral{};
  uint32_t sender_index = 0;
  internal::SymmetricState state;
};

// Transport keys produced by BeginSession.
struct SessionKeys {
  crypto::SymmetricKey send;
  crypto::SymmetricKey recv;
  bool i_am_initiator = false;
  uint32_t local_index = 0;
  uint32_t remote_index = 0;
};

// Responder step 1: decrypts the initiator's static key with our private key.
DropReason DecryptInitiation(const StaticIdentity& local, const MessageInitiation& msg,
                             DecryptedInitiation& out);

class Handshake {
 public:
  // Sets the peer's static key and precomputes DH(local static, remote static). Returns false
  // (and the handshake can never complete) when that is zero: a low-order remote key, or no
  // local private key yet.
  bool Configure(const StaticIdentity& local, const crypto::PublicKey& remote_static);
  void SetPresharedKey(const crypto::SymmetricKey& psk) { preshared_key_ = psk; }
  const crypto::SymmetricKey& preshared_key() const { return preshared_key_; }
  const crypto::PublicKey& remote_static() const { return remote_static_; }
  bool has_precomputed_static() const { return has_precomputed_; }

  HandshakeState state() const { return state_; }
  uint32_t local_index() const { return local_index_; }
  uint32_t remote_index() const { return remote_index_; }

  // Initiator: message 1. `ephemeral` overrides the random key (test vectors only).
  DropReason CreateInitiation(const StaticIdentity& local, uint32_t local_index,
                              const Timestamp& timestamp, MessageInitiation& out,
                              const crypto::PrivateKey* ephemeral = nullptr);

  // Responder step 2, on the peer `d.remote_static` named: ss and the timestamp, the replay
  // rule (strictly newer TAI64N) and the flood rule (20 ms since the last accepted one).
  DropReason ConsumeInitiation(const DecryptedInitiation& d, const MessageInitiation& msg,
                               TimePoint now);

  // Responder: message 2, after ConsumeInitiation.
  DropReason CreateResponse(uint32_t local_index, MessageResponse& out,
                            const crypto::PrivateKey* ephemeral = nullptr);

  // Initiator: message 2. State changes only when the response authenticates.
  DropReason ConsumeResponse(const StaticIdentity& local, const MessageResponse& msg);

  // Derives the transport keys after CreateResponse (responder) or ConsumeResponse
  // (initiator), then zeroes the handshake. False in any other state.
  [[nodiscard]] bool BeginSession(SessionKeys& keys);

  // Zeroes the in-flight handshake (keeps the configuration and the replay/flood memory).
  void Clear();
  // Also forgets the latest timestamp: used when all key material is zeroed.
  void ClearAll();

 private:
  // A fresh ephemeral key pair (or `fixed`, for test vectors); returns the public half.
  crypto::PublicKey NewEphemeral(const crypto::PrivateKey* fixed);

  crypto::PublicKey remote_static_{};
  crypto::SymmetricKey precomputed_static_static_;
  crypto::SymmetricKey preshared_key_;
  bool has_precomputed_ = false;

  HandshakeState state_ = HandshakeState::kZeroed;
  internal::SymmetricState symmetric_;
  crypto::PrivateKey ephemeral_private_;
  crypto::PublicKey remote_ephemeral_{};
  uint32_t local_index_ = 0;
  uint32_t remote_index_ = 0;

  Timestamp latest_timestamp_{};
  TimePoint last_initiation_consumption_{};
  bool has_consumed_initiation_ = false;
};

namespace internal {
// Ci = HASH(construction), Hi = HASH(Ci || identifier): WireGuard's initial chaining key and hash.
const crypto::Secret<32>& InitialChainingKey();
const crypto::Hash32& InitialHash();
}  // namespace internal

}  // namespace tundra::proto
