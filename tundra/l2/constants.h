// Every bound of TAP mode (docs/l2.md), in one place.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace tundra::l2 {

// Ethernet (IEEE 802.3, without preamble and FCS, as a TAP reads and writes it).
inline constexpr size_t kMacSize = 6;
inline constexpr size_t kEthernetHeaderSize = 14;  // dst, src, ethertype
inline constexpr size_t kVlanTagSize = 4;          // TPID + TCI
inline constexpr size_t kMaxVlanTags = 2;          // 802.1ad S-tag + 802.1Q C-tag (QinQ)
// A TAP does not pad frames to Ethernet's 60-byte minimum (an ARP request is 42 bytes), so the
// shortest frame is a bare header.
inline constexpr size_t kMinFrameSize = kEthernetHeaderSize;
inline constexpr uint16_t kTpidVlan = 0x8100;        // 802.1Q
inline constexpr uint16_t kTpidQinQ = 0x88a8;        // 802.1ad
inline constexpr uint16_t kTpidQinQLegacy = 0x9100;  // pre-802.1ad QinQ
inline constexpr uint16_t kMaxLengthField = 1500;    // ethertype <= 1500: an 802.3 length (LLC)

// The L2 message inside a WireGuard data message's plaintext (docs/l2.md, "Wire format"):
// [marker][frame length, 2 bytes big-endian][frame], then WireGuard's zero padding.
inline constexpr uint8_t kMarkerFrame = 0x20;    // sent by the node whose TAP read the frame
inline constexpr uint8_t kMarkerRelayed = 0x21;  // relayed once by a Forward = yes node
inline constexpr size_t kMessageHeaderSize = 3;  // marker + 2-byte length
// WireGuard pads a plaintext with fewer than 16 zero bytes; more behind a frame is a bad length.
inline constexpr size_t kMaxPadding = 15;
// The largest WireGuard plaintext tundra carries (the 2-byte length's range; tun's
// kMaxPacketSize and compress's kMaxPacket say the same), so the largest frame is what is left
// of it after the message header.
inline constexpr size_t kMaxPlaintextSize = 65535;
inline constexpr size_t kMaxFrameSize = kMaxPlaintextSize - kMessageHeaderSize;  // 65532

// MTU design (docs/l2.md, "MTU"): a frame of a TAP at MTU m, with one VLAN tag, plus the message
// header, fills a tunnel plaintext of m + kTapOverhead bytes. With the default tunnel MTU 1420
// (1500-byte path minus IPv6 40, UDP 8, WireGuard 32) the TAP MTU is 1399.
inline constexpr size_t kTapOverhead = kMessageHeaderSize + kEthernetHeaderSize + kVlanTagSize;
constexpr size_t TapMtuFor(size_t tunnel_mtu) {
  return tunnel_mtu > kTapOverhead ? tunnel_mtu - kTapOverhead : 0;
}
// The largest frame the data path takes from a TAP at `tap_mtu` (up to kMaxVlanTags tags; a
// QinQ frame at full MTU is 4 bytes over the tunnel MTU and may be fragmented or dropped by the
// path, as docs/l2.md says).
constexpr size_t MaxFrameSizeFor(size_t tap_mtu) {
  const size_t s = tap_mtu + kEthernetHeaderSize + kMaxVlanTags * kVlanTagSize;
  return s < kMaxFrameSize ? s : kMaxFrameSize;
}

// MAC table (`MACTableSize`, `MACExpiry`).
inline constexpr size_t kDefaultMacTableSize = 8192;
inline constexpr size_t kMinMacTableSize = 16;
inline constexpr size_t kMaxMacTableSize = size_t{1} << 20;
inline constexpr std::chrono::seconds kDefaultMacExpiry{600};  // Linux bridge ageing: 300 s
inline constexpr std::chrono::seconds kMinMacExpiry{10};
inline constexpr std::chrono::seconds kMaxMacExpiry{86400};
// A learned entry's timestamp is renewed at most this often (the renewal is a write; between
// renewals a frame from a known source is a read only). Expiry is accurate to this.
inline constexpr std::chrono::seconds kMacRefreshInterval{1};
// Expired entries removed per Expire call (the control timer's, once per kMacRefreshInterval):
// one hold of the table's writer lock stays short (about a millisecond) even after a MAC flood
// expires at once; the rest goes in the next passes. Lookups never use an expired entry, and
// a full table evicts expired entries first, so removing them later changes nothing else.
inline constexpr size_t kMaxExpirePerPass = 16384;
// Lock stripes of the table (a power of two) and the longest hash chain a lookup walks (a
// longer one evicts its oldest entry on insertion, counted).
inline constexpr size_t kMacTableShards = 64;
inline constexpr size_t kMaxMacChain = 8;

// AllowedMACs: entries per peer (a frame's source is checked against each).
inline constexpr size_t kMaxAllowedMacs = 256;

}  // namespace tundra::l2
