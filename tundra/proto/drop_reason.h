// Why a packet was dropped. Rejection is not an error: the device counts each reason
// (a counter per value) and logs at a rate-limited debug level. kNone means "accepted".
#pragma once

#include <cstddef>
#include <cstdint>

namespace tundra::proto {

enum class DropReason : uint8_t {
  kNone = 0,
  // Framing (receive).
  kTooShort,     // datagram shorter than a type word
  kUnknownType,  // type word not 1..4 (or reserved bytes non-zero)
  kBadSize,      // wrong size for its type
  // Handshake (receive).
  kInvalidMac1,  // mac1 wrong: not for us, or corrupted
  kCookieSent,   // under load without a valid mac2: answered with a cookie reply
  kRateLimited,  // under load, over the per-source initiation rate
  kHandshakeQueueFull,
  kHandshakeDecrypt,   // AEAD of a handshake field failed
  kUnknownPeer,        // initiator's static key is not a configured peer
  kStaleTimestamp,     // initiation timestamp not newer than the last one (replay)
  kFlood,              // initiations from this peer less than 20 ms apart
  kLowOrderKey,        // a DH result was all zero
  kUnexpectedMessage,  // response/cookie with no matching pending handshake
  kNoPrivateKey,       // the device has no private key
  // Data (receive).
  kUnknownIndex,       // receiver index not in the index table
  kKeyExpired,         // keypair older than REJECT_AFTER_TIME or invalidated
  kCounterLimit,       // counter >= REJECT_AFTER_MESSAGES
  kInvalidAeadTag,     // decryption failed
  kReplayed,           // counter seen before or below the window
  kInvalidPacket,      // decrypted payload is not a valid IPv4/IPv6 packet
  kSourceNotAllowed,   // inner source address not in the peer's allowed IPs
  kTunWrite,           // the TUN refused the packet
  kReceiveBufferFull,  // the kernel dropped it: our socket's receive buffer was full (SO_RXQ_OVFL)
  kTruncated,          // larger than the receive buffer (MSG_TRUNC)
  kShapedIn,           // over the peer's inbound Speed (docs/shaping.md)
  // Compressed packets (docs/compression.md), after decryption.
  kDecompressTruncated,   // the length field says more than the plaintext holds
  kDecompressUnknown,     // a compression marker this build does not know
  kDecompressNotEnabled,  // compressed with an algorithm this end did not configure for the peer
  kDecompressBomb,        // would decompress beyond the largest packet (64 KiB - 1)
  kDecompressCorrupt,     // the codec rejected the bytes
  kDecompressNoCodec,     // this end's decompressor could not be made (out of memory)
  // Transmit.
  kNoRoute,          // no peer's allowed IPs cover the destination
  kNoEndpoint,       // the peer has no known endpoint
  kStagedOverflow,   // staged queue full while waiting for a handshake (oldest dropped)
  kHandshakeGaveUp,  // staged packets discarded after REKEY_ATTEMPT_TIME
  kSendFailed,       // the socket refused the datagram
  kSendBufferFull,   // the socket or the device queue had no room (ENOBUFS, EAGAIN, ENOMEM)
  kRoutingLoop,      // our own datagram to the peer's endpoint came back through the tunnel
  kPeerRemoved,      // the peer was removed with packets still staged
  kShapedOut,        // over the peer's outbound Speed (docs/shaping.md)
  kCount
};

inline constexpr size_t kDropReasonCount = static_cast<size_t>(DropReason::kCount);

// Stable snake_case name, used in logs and `tundra stats`.
const char* DropReasonName(DropReason reason);

}  // namespace tundra::proto
