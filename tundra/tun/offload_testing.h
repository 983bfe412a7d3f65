// Test-only builders and checkers for TCP/UDP packets (gso_split_test, gro_test, tun tests).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "tundra/base/bytes.h"
#include "tundra/tun/vnet_hdr.h"

namespace tundra::tun::testing {

struct PacketSpec {
  bool v6 = false;
  bool tcp = true;
  uint8_t src = 1;  // last byte of the source address (198.19.0.x / fd19::x)
  uint8_t dst = 2;
  uint16_t sport = 1000;
  uint16_t dport = 2000;
  uint8_t tcp_flags = 0x10;  // ACK
  uint32_t seq = 1;
  uint32_t ack = 1;
  std::vector<uint8_t> tcp_options;  // a multiple of 4 bytes
  uint16_t ip_id = 0;
  uint8_t ttl = 64;
  uint8_t tos = 0;
  size_t payload = 100;
  uint8_t fill = 0;  // payload byte k is uint8_t(fill + k)
};

// A complete packet with correct lengths and checksums.
std::vector<uint8_t> BuildPacket(const PacketSpec& spec);
// The virtio_net_hdr the kernel hands over with a TSO/USO super-packet built from `spec`
// (NEEDS_CSUM, its gso_type, csum_start/offset, hdr_len) and segments of `gso_size` bytes.
VirtioNetHdr KernelHeader(const PacketSpec& spec, uint16_t gso_size);
// True when the IPv4 header checksum (or, for IPv6, nothing) and the TCP/UDP checksum verify.
bool ChecksumsValid(ByteSpan packet);

}  // namespace tundra::tun::testing
