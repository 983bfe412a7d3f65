// The 4-byte packet-information header the TUN driver puts in front of every packet unless the
// device was created with IFF_NO_PI (linux/if_tun.h `struct tun_pi`):
//
//   offset 0: __u16  flags   host byte order; TUN_PKT_STRIP (1) on read = the packet was truncated
//   offset 2: __be16 proto   EtherType, big-endian (0x0800 IPv4, 0x86DD IPv6, ...)
//
// On write the kernel takes skb->protocol from `proto` for a TUN device; for a TAP device the
// Ethernet header decides, and tundra still fills in the frame's EtherType for symmetry.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "tundra/base/bytes.h"

namespace tundra::tun {

inline constexpr size_t kPiHeaderSize = 4;
inline constexpr uint16_t kPiFlagStrip = 0x0001;  // TUN_PKT_STRIP

inline constexpr uint16_t kEtherTypeIpv4 = 0x0800;
inline constexpr uint16_t kEtherTypeArp = 0x0806;
inline constexpr uint16_t kEtherTypeIpv6 = 0x86DD;
inline constexpr size_t kEthernetHeaderSize = 14;

// The decoded PI header (both fields in host order). Also what LinuxTun::Read reports per
// packet to callers that want it.
struct PacketInfo {
  uint16_t flags = 0;
  uint16_t proto = 0;
  bool operator==(const PacketInfo&) const = default;
};

// Decodes the 4 bytes at `p` (which must have at least kPiHeaderSize bytes).
PacketInfo DecodePi(const uint8_t* p);
// Decodes the PI header at the start of `data`; nullopt if shorter than 4 bytes.
std::optional<PacketInfo> ParsePi(ByteSpan data);
// Writes `pi` as 4 bytes at `out`.
void EncodePi(const PacketInfo& pi, uint8_t* out);

// EtherType for an IP packet from its version nibble: 0x0800, 0x86DD, or 0 (empty / unknown).
uint16_t EtherTypeOfIpPacket(ByteSpan packet);
// EtherType field (bytes 12-13) of an Ethernet frame; 0 if shorter than 14 bytes.
uint16_t EtherTypeOfFrame(ByteSpan frame);

}  // namespace tundra::tun
