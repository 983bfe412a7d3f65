// Session keys and the data-message transform (kernel noise.h `noise_keypair(s)`, send.c/receive.c
// encrypt/decrypt).
//
// A Keypair is shared (std::shared_ptr) between the peer, the index table and in-flight packet
// batches; it dies when the last holder lets go. Its keys live only in their AEAD contexts
// (crypto::ChaChaPolyKey), set once at creation and wiped when the keypair dies; those are
// thread-safe, the send counter is atomic, and the replay window is guarded by its own mutex,
// so data-path threads may use one keypair concurrently.
//
// Keypairs holds a peer's previous/current/next slots with the kernel's rotation rules; it is
// thread-safe (one internal mutex) and returns whatever it evicts so the caller can free the
// evicted keypairs' indices.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>

#include "tundra/base/bytes.h"
#include "tundra/base/clock.h"
#include "tundra/crypto/aead.h"
#include "tundra/proto/handshake.h"
#include "tundra/proto/replay.h"

namespace tundra::proto {

struct Keypair {
  Keypair(const SessionKeys& keys, TimePoint now)
      : send_key(keys.send),
        recv_key(keys.recv),
        birthdate(now),
        i_am_initiator(keys.i_am_initiator),
        local_index(keys.local_index),
        remote_index(keys.remote_index) {}

  const crypto::ChaChaPolyKey send_key;
  const crypto::ChaChaPolyKey recv_key;
  const TimePoint birthdate;
  const bool i_am_initiator;
  const uint32_t local_index;
  const uint32_t remote_index;

  std::atomic<uint64_t> send_counter{0};
  std::atomic<bool> sending_valid{true};
  std::atomic<bool> receiving_valid{true};
  // Opt-in compression (docs/compression.md, "The hello"), kept by the device per session:
  // the algorithms the other end's hello in this session said it decompresses (0: none
  // arrived); whether one of its hellos said it has ours (we stop sending ours); whether it
  // asked for an answer (the control thread sends one); how many hellos we sent under this
  // keypair and the earliest time (ns on the device clock) of an unprompted resend.
  std::atomic<uint8_t> remote_decompresses{0};
  std::atomic<bool> hello_acked{false};
  std::atomic<bool> hello_answer_wanted{false};
  std::atomic<uint32_t> hellos_sent{0};
  std::atomic<int64_t> hello_next_ns{0};

  std::mutex replay_mu;
  ReplayWindow replay;  // guarded by replay_mu

  // Reserves the next send counter. False when this keypair may no longer send: invalidated,
  // older than REJECT_AFTER_TIME, or at REJECT_AFTER_MESSAGES (then it is invalidated).
  [[nodiscard]] bool ReserveSendCounter(TimePoint now, uint64_t& counter);
  // True when a message under this keypair may be decrypted (age and validity).
  bool CanReceive(TimePoint now) const;
  // Records `counter` after the AEAD tag verified; false for a replay or out-of-window counter.
  [[nodiscard]] bool ValidateCounter(uint64_t counter);
};

using KeypairPtr = std::shared_ptr<Keypair>;

class Keypairs {
 public:
  // Up to two keypairs a rotation can evict.
  using Evicted = std::array<KeypairPtr, 3>;

  KeypairPtr current() const;
  KeypairPtr previous() const;
  KeypairPtr next() const;

  // Installs a keypair fresh from BeginSession. Initiator: it becomes current at once.
  // Responder: it waits in `next` until the first data message arrives under it.
  Evicted Add(KeypairPtr keypair);
  // Called after a data message authenticated under `keypair`: when it is `next`, promote it
  // to current (the handshake is confirmed) and return true.
  bool ReceivedWith(const KeypairPtr& keypair, Evicted& evicted);
  // Drops all three (key material zeroing, peer removal).
  Evicted Clear();

 private:
  mutable std::mutex mu_;
  KeypairPtr previous_, current_, next_;
};

// Data message transform. Buffer layout: [16-byte header][plaintext + zero padding][16-byte tag].
//
// Bytes the plaintext occupies after padding to a multiple of 16, never past `mtu` (a packet
// already longer than mtu is not padded at all).
size_t PaddedLength(size_t plain_len, size_t mtu);
// Plaintext at buf[16, 16 + plain_len). Zero-pads to padded_len, encrypts in place, writes the
// header; returns the message size 16 + padded_len + 16. buf must hold that many bytes.
size_t SealDataMessage(const Keypair& keypair, uint64_t counter, MutableByteSpan buf,
                       size_t plain_len, size_t padded_len);
// Decrypts a data message in place: the plaintext lands at msg[16, msg.size() - 16).
// False when the tag does not verify. Counter and index checks are the caller's.
[[nodiscard]] bool OpenDataMessage(const Keypair& keypair, MutableByteSpan msg);

}  // namespace tundra::proto
