// Splitting the TCP/UDP super-packets a TUN with TSO/USO offloads hands to user space into the
// packets that would have crossed the wire (offloads.md §2.1). No I/O.
//
// A super-packet is one IP header and one TCP or UDP header in front of up to 64 KiB of payload,
// announced by a virtio_net_hdr with gso_type TCPV4/TCPV6/UDP_L4 and gso_size = the payload of
// each segment. Segment i carries payload bytes [i * gso_size, (i + 1) * gso_size) (the last may
// be short) behind a copy of the headers with:
//   IPv4: total length, ID + i, header checksum;  IPv6: payload length;
//   TCP:  sequence + i * gso_size (mod 2^32), FIN and PSH only on the last segment;
//   UDP:  length;
//   and a complete L4 checksum (a UDP checksum of 0 is sent as 0xFFFF).
// The kernel's hdr_len is only a hint and is never trusted: the header length is computed from
// csum_start and the TCP data offset.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "tundra/base/bytes.h"
#include "tundra/tun/vnet_hdr.h"

namespace tundra::tun {

struct GsoSuperPacket {
  bool tcp = false;       // else UDP
  bool v6 = false;        // else IPv4
  size_t ip_hdr_len = 0;  // csum_start: the IP header with any IPv6 extension headers
  size_t hdr_len = 0;     // ip_hdr_len + the TCP or UDP header
  size_t gso_size = 0;
  size_t csum_offset = 0;  // 16 (TCP) or 6 (UDP), from ip_hdr_len
  size_t segments = 0;     // >= 1
  size_t packet_len = 0;   // the super-packet's length

  // Length of segment `index` (< segments).
  size_t SegmentLength(size_t index) const;
};

// Why a super-packet cannot be split.
enum class GsoError {
  kUnsupportedType,  // not TCPV4/TCPV6/UDP_L4, or ECN (TUN_F_TSO_ECN is never requested)
  kBadHeader,        // virtio_net_hdr inconsistent with the packet (version, offsets, lengths)
};

// Checks `hdr` against the super-packet `packet` (its gso_type must not be GSO_NONE).
std::optional<GsoSuperPacket> ParseGsoSuperPacket(const VirtioNetHdr& hdr, ByteSpan packet,
                                                  GsoError* error = nullptr);

// Writes segment `index` of the unmodified super-packet `packet` to `out`, which has room for
// gso.SegmentLength(index) bytes, and returns that length. `out` may be packet.data() for
// index 0 only, and then only after every other segment was written (it rewrites the headers).
size_t WriteGsoSegment(const GsoSuperPacket& gso, ByteSpan packet, size_t index, uint8_t* out);

}  // namespace tundra::tun
