// struct virtio_net_hdr (legacy 10-byte layout) and the Internet-checksum helpers the TUN offload
// path needs. See ../shared/reference/offloads.md §0.2 and §1.3-1.6.
//
//   offset 0 u8  flags        VIRTIO_NET_HDR_F_NEEDS_CSUM (1), _DATA_VALID (2)
//   offset 1 u8  gso_type     GSO_NONE 0, TCPV4 1, UDP 3, TCPV6 4, UDP_L4 5; | 0x80 for ECN
//   offset 2 u16 hdr_len      hint only: never trusted
//   offset 4 u16 gso_size     MSS
//   offset 6 u16 csum_start   offset of the L4 header from the start of the packet
//   offset 8 u16 csum_offset  checksum position from csum_start (16 TCP, 6 UDP)
//
// The 16-bit fields are host-native for TUN (tundra never calls TUNSETVNETLE/BE).
//
// ProcessVnetRead sorts what a read brings: complete GSO_NONE packets (a partial checksum is
// finished here) from super-packets, which gso_split.h splits; gro.h builds them on write.
#pragma once

#include <cstddef>
#include <cstdint>

#include "tundra/base/bytes.h"

namespace tundra::tun {

inline constexpr size_t kVirtioNetHdrSize = 10;

inline constexpr uint8_t kVirtioNetHdrFNeedsCsum = 1;
inline constexpr uint8_t kVirtioNetHdrFDataValid = 2;

inline constexpr uint8_t kVirtioNetHdrGsoNone = 0;
inline constexpr uint8_t kVirtioNetHdrGsoTcpV4 = 1;
inline constexpr uint8_t kVirtioNetHdrGsoUdp = 3;
inline constexpr uint8_t kVirtioNetHdrGsoTcpV6 = 4;
inline constexpr uint8_t kVirtioNetHdrGsoUdpL4 = 5;
inline constexpr uint8_t kVirtioNetHdrGsoEcn = 0x80;

// TUNSETOFFLOAD bits (linux/if_tun.h; USO from 6.2, absent from older headers).
inline constexpr unsigned kTunFCsum = 0x01;
inline constexpr unsigned kTunFTso4 = 0x02;
inline constexpr unsigned kTunFTso6 = 0x04;
inline constexpr unsigned kTunFTsoEcn = 0x08;
inline constexpr unsigned kTunFUfo = 0x10;
inline constexpr unsigned kTunFUso4 = 0x20;
inline constexpr unsigned kTunFUso6 = 0x40;

// The TCP flags the offload paths look at (IP protocol numbers: base/ip_header.h).
inline constexpr uint8_t kTcpFlagFin = 0x01;
inline constexpr uint8_t kTcpFlagPsh = 0x08;
inline constexpr uint8_t kTcpFlagAck = 0x10;

struct VirtioNetHdr {
  uint8_t flags = 0;
  uint8_t gso_type = kVirtioNetHdrGsoNone;
  uint16_t hdr_len = 0;
  uint16_t gso_size = 0;
  uint16_t csum_start = 0;
  uint16_t csum_offset = 0;
  bool operator==(const VirtioNetHdr&) const = default;
};

// `p` must hold kVirtioNetHdrSize bytes.
VirtioNetHdr DecodeVirtioNetHdr(const uint8_t* p);
void EncodeVirtioNetHdr(const VirtioNetHdr& hdr, uint8_t* p);

// What to do with a packet read together with `hdr`.
enum class VnetReadAction {
  kDeliver,      // complete (its checksum was finished in place if NEEDS_CSUM was set)
  kBadHeader,    // NEEDS_CSUM with csum_start/csum_offset outside the packet
  kSuperPacket,  // any other gso_type: split it (gso_split.h) or drop it
};
// Applies `hdr` to `packet` in place (offloads.md §2.1 step 2).
VnetReadAction ProcessVnetRead(const VirtioNetHdr& hdr, MutableByteSpan packet);

// --- Internet checksum (RFC 1071) ---

// Adds `data` to a running one's-complement sum (big-endian 16-bit words; an odd trailing byte is
// padded with zero). The 64-bit accumulator cannot overflow for any packet size.
uint64_t ChecksumAdd(ByteSpan data, uint64_t sum = 0);
// Folds a running sum to 16 bits (not complemented).
uint16_t ChecksumFold(uint64_t sum);
// The TCP/UDP/ICMPv6 pseudo-header sum: addresses (4 or 16 bytes each), protocol, L4 length.
uint64_t PseudoHeaderSum(ByteSpan src, ByteSpan dst, uint8_t protocol, uint32_t l4_length);
// ~Fold(ChecksumAdd(data, sum)): the value to store in a checksum field that was zero when summed.
uint16_t Checksum(ByteSpan data, uint64_t sum = 0);

// Completes a CHECKSUM_PARTIAL packet: the field at csum_start + csum_offset holds the folded
// pseudo-header sum; replaces it with the final checksum over packet[csum_start:]. A result of
// 0 is stored as 0xFFFF (equivalent for TCP/ICMP, required for UDP). False if out of bounds.
bool CompleteChecksum(MutableByteSpan packet, size_t csum_start, size_t csum_offset);

}  // namespace tundra::tun
