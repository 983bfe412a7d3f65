// WireGuard wire messages (whitepaper §5.4; kernel messages.h). All integers little-endian.
//
// clang-format off
//   type  message       size        fields
//   1     initiation    148 bytes   type | sender | ephemeral 32 | enc(static) 48 |
//                                   enc(TAI64N) 28 | mac1 16 | mac2 16
//   2     response       92 bytes   type | sender | receiver | ephemeral 32 | enc(empty) 16 |
//                                   mac1 16 | mac2 16
//   3     cookie reply   64 bytes   type | receiver | nonce 24 | enc(cookie) 32
//   4     data         >= 32 bytes  type | receiver | counter 8 | enc(padded packet) | tag 16
// clang-format on
//
// The "type" is a full 32-bit word: the three reserved bytes must be zero.
#pragma once

#include <cstddef>
#include <cstdint>

#include "tundra/base/bytes.h"
#include "tundra/proto/drop_reason.h"

namespace tundra::proto {

enum class MessageType : uint32_t {
  kInitiation = 1,
  kResponse = 2,
  kCookieReply = 3,
  kData = 4,
};

inline constexpr size_t kKeyLen = 32;
inline constexpr size_t kAeadTagLen = 16;
inline constexpr size_t kTimestampLen = 12;
inline constexpr size_t kCookieLen = 16;
inline constexpr size_t kCookieNonceLen = 24;
inline constexpr size_t kMacLen = 16;

struct MessageInitiation {
  uint32_t type;
  uint32_t sender_index;
  uint8_t unencrypted_ephemeral[kKeyLen];
  uint8_t encrypted_static[kKeyLen + kAeadTagLen];
  uint8_t encrypted_timestamp[kTimestampLen + kAeadTagLen];
  uint8_t mac1[kMacLen];
  uint8_t mac2[kMacLen];
};

struct MessageResponse {
  uint32_t type;
  uint32_t sender_index;
  uint32_t receiver_index;
  uint8_t unencrypted_ephemeral[kKeyLen];
  uint8_t encrypted_nothing[kAeadTagLen];
  uint8_t mac1[kMacLen];
  uint8_t mac2[kMacLen];
};

struct MessageCookieReply {
  uint32_t type;
  uint32_t receiver_index;
  uint8_t nonce[kCookieNonceLen];
  uint8_t encrypted_cookie[kCookieLen + kAeadTagLen];
};

inline constexpr size_t kInitiationSize = 148;
inline constexpr size_t kResponseSize = 92;
inline constexpr size_t kCookieReplySize = 64;
inline constexpr size_t kDataHeaderSize = 16;                          // type, receiver, counter
inline constexpr size_t kDataMinSize = kDataHeaderSize + kAeadTagLen;  // a keepalive
inline constexpr size_t kDataOverhead = kDataHeaderSize + kAeadTagLen;

static_assert(sizeof(MessageInitiation) == kInitiationSize);
static_assert(sizeof(MessageResponse) == kResponseSize);
static_assert(sizeof(MessageCookieReply) == kCookieReplySize);

// Offsets of the MACs: mac1 covers everything before it, mac2 everything before mac2.
template <typename Msg>
constexpr size_t Mac1Offset() {
  return offsetof(Msg, mac1);
}
template <typename Msg>
constexpr size_t Mac2Offset() {
  return offsetof(Msg, mac2);
}

// Classifies a datagram by its type word and exact size. Returns kNone with `type` set when the
// header is well-formed; otherwise the reason to drop it (too short, unknown type, bad size).
DropReason Classify(ByteSpan datagram, MessageType& type);

// Receiver index of a data message (bytes 4..8) and its counter (bytes 8..16).
inline uint32_t DataReceiverIndex(const uint8_t* msg) { return LoadLe32(msg + 4); }
inline uint64_t DataCounter(const uint8_t* msg) { return LoadLe64(msg + 8); }

// Copies a fixed-size message out of / into a byte buffer (no alignment assumptions).
template <typename Msg>
Msg LoadMessage(ByteSpan bytes) {
  Msg m;
  std::memcpy(&m, bytes.data(), sizeof(Msg));
  return m;
}
template <typename Msg>
ByteSpan AsBytes(const Msg& m) {
  return ByteSpan(reinterpret_cast<const uint8_t*>(&m), sizeof(Msg));
}
template <typename Msg>
MutableByteSpan AsMutableBytes(Msg& m) {
  return MutableByteSpan(reinterpret_cast<uint8_t*>(&m), sizeof(Msg));
}

}  // namespace tundra::proto
