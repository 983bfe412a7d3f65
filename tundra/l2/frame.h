// Ethernet frames and the L2 message that carries one inside a WireGuard data message
// (docs/l2.md). Sans-IO, no allocation: parsing returns views into the caller's bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "tundra/base/bytes.h"
#include "tundra/base/result.h"
#include "tundra/l2/constants.h"
#include "tundra/l2/drop_reason.h"

namespace tundra::l2 {

// A 48-bit MAC address held in the low bits of a uint64 (first octet most significant), so
// comparison and hashing are one integer operation.
class MacAddress {
 public:
  constexpr MacAddress() = default;
  static constexpr MacAddress FromU64(uint64_t v) { return MacAddress(v & kMask); }
  static MacAddress FromBytes(const uint8_t* p);  // kMacSize bytes
  static constexpr MacAddress Broadcast() { return MacAddress(kMask); }
  // "aa:bb:cc:dd:ee:ff" (also '-' separated, any case); the error names the text.
  static Result<MacAddress> Parse(std::string_view text);

  constexpr uint64_t value() const { return v_; }
  void ToBytes(uint8_t* out) const;
  std::string ToString() const;  // lowercase, ':' separated

  constexpr bool is_zero() const { return v_ == 0; }
  constexpr bool is_broadcast() const { return v_ == kMask; }
  // The I/G bit (bit 0 of the first octet): multicast, broadcast included.
  constexpr bool is_group() const { return (v_ >> 40) & 1; }
  // A valid source: not zero, not a group address (the Linux bridge's is_valid_ether_addr).
  constexpr bool is_valid_source() const { return !is_zero() && !is_group(); }
  constexpr bool operator==(const MacAddress&) const = default;

 private:
  static constexpr uint64_t kMask = (uint64_t{1} << 48) - 1;
  constexpr explicit MacAddress(uint64_t v) : v_(v) {}
  uint64_t v_ = 0;
};

struct VlanTag {
  uint16_t tpid = 0;  // kTpidVlan, kTpidQinQ or kTpidQinQLegacy
  uint16_t tci = 0;   // priority (3 bits), DEI (1), VLAN id (12)
  uint16_t vid() const { return tci & 0x0fff; }
};

// A parsed frame: views into the bytes given to ParseFrame (which must outlive it).
struct Frame {
  MacAddress dst;
  MacAddress src;
  VlanTag tags[kMaxVlanTags];  // outermost first
  size_t tag_count = 0;
  // The ethertype behind the tags (<= kMaxLengthField: an 802.3 length, e.g. STP's LLC; a third
  // tag's TPID when there are more than kMaxVlanTags: such a frame passes, untouched).
  uint16_t ethertype = 0;
  size_t header_size = 0;  // kEthernetHeaderSize + tag_count * kVlanTagSize
  ByteSpan bytes;          // the whole frame
};

// Parses `bytes` as an Ethernet frame of at most `max_size` bytes (<= kMaxFrameSize). kNone on
// success; kFrameTooShort (under kMinFrameSize, or a VLAN tag cut off); kFrameTooLong.
DropReason ParseFrame(ByteSpan bytes, Frame& out, size_t max_size = kMaxFrameSize);

// The L2 message: [kMarkerFrame | kMarkerRelayed][frame length, BE16][frame].
enum class PlaintextKind : uint8_t { kEmpty, kIp, kFrame, kOther };
// What a decrypted (and, when compressed, decompressed) plaintext is, from its first byte:
// kEmpty (a keepalive), kIp (0x4_, 0x6_), kFrame (0x20, 0x21), kOther (compression's markers
// and anything else: the device's compression layer or a drop).
PlaintextKind ClassifyPlaintext(ByteSpan plaintext);

// Writes the message for `frame` into `out` (frame.size() + kMessageHeaderSize bytes); returns
// its size, 0 when `out` is too small or the frame is outside [kMinFrameSize, kMaxFrameSize].
size_t WriteMessage(ByteSpan frame, bool relayed, MutableByteSpan out);

struct Message {
  ByteSpan frame;
  bool relayed = false;
};
// Reads a message (ClassifyPlaintext == kFrame) from a plaintext that may carry WireGuard's
// padding behind it. kNone with `out` set, or kBadLength / kFrameTooShort / kFrameTooLong
// (`max_frame`: the interface's bound, MaxFrameSizeFor(tap mtu)). The frame itself is parsed
// by ParseFrame.
DropReason ReadMessage(ByteSpan plaintext, Message& out, size_t max_frame = kMaxFrameSize);

}  // namespace tundra::l2
