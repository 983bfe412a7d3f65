#include "tundra/tun/gso_split.h"

#include <cstring>

#include "tundra/base/ip_header.h"
namespace tundra::tun {
namespace {

std::optional<GsoSuperPacket> Fail(GsoError* error, GsoError e) {
  if (error != nullptr) *error = e;
  return std::nullopt;
}

}  // namespace

size_t GsoSuperPacket::SegmentLength(size_t index) const {
  const size_t payload = packet_len - hdr_len;
  const size_t start = index * gso_size;
  const size_t len = payload - start < gso_size ? payload - start : gso_size;
  return hdr_len + len;
}

std::optional<GsoSuperPacket> ParseGsoSuperPacket(const VirtioNetHdr& hdr, ByteSpan packet,
                                                  GsoError* error) {
  GsoSuperPacket g;
  switch (hdr.gso_type) {
    case kVirtioNetHdrGsoTcpV4:
    case kVirtioNetHdrGsoTcpV6:
      g.tcp = true;
      g.csum_offset = 16;
      break;
    case kVirtioNetHdrGsoUdpL4:
      g.csum_offset = 6;
      break;
    default:
      return Fail(error, GsoError::kUnsupportedType);
  }
  if (packet.size() < ip::kIpv4HeaderSize) return Fail(error, GsoError::kBadHeader);
  const unsigned version = ip::Version(packet.data());
  if (version == 4) {
    if (hdr.gso_type == kVirtioNetHdrGsoTcpV6) return Fail(error, GsoError::kBadHeader);
    // The header is rewritten per segment: csum_start must be exactly the IPv4 header.
    if (hdr.csum_start != size_t(packet[0] & 0x0f) * 4 || hdr.csum_start < ip::kIpv4HeaderSize) {
      return Fail(error, GsoError::kBadHeader);
    }
  } else if (version == 6) {
    if (hdr.gso_type == kVirtioNetHdrGsoTcpV4 || hdr.csum_start < ip::kIpv6HeaderSize) {
      return Fail(error, GsoError::kBadHeader);
    }
    g.v6 = true;
  } else {
    return Fail(error, GsoError::kBadHeader);
  }
  if (hdr.csum_offset != g.csum_offset || hdr.gso_size == 0) {
    return Fail(error, GsoError::kBadHeader);
  }
  g.ip_hdr_len = hdr.csum_start;
  if (g.tcp) {
    if (packet.size() <= g.ip_hdr_len + 12) return Fail(error, GsoError::kBadHeader);
    const size_t tcp_len = size_t(packet[g.ip_hdr_len + 12] >> 4) * 4;
    if (tcp_len < 20) return Fail(error, GsoError::kBadHeader);
    g.hdr_len = g.ip_hdr_len + tcp_len;
  } else {
    g.hdr_len = g.ip_hdr_len + 8;
  }
  if (packet.size() < g.hdr_len) return Fail(error, GsoError::kBadHeader);
  g.gso_size = hdr.gso_size;
  g.packet_len = packet.size();
  const size_t payload = packet.size() - g.hdr_len;
  g.segments = payload == 0 ? 1 : (payload + g.gso_size - 1) / g.gso_size;
  return g;
}

size_t WriteGsoSegment(const GsoSuperPacket& g, ByteSpan packet, size_t index, uint8_t* out) {
  const size_t len = g.SegmentLength(index);
  const size_t payload_len = len - g.hdr_len;
  const uint8_t* in = packet.data();
  const uint8_t* payload = in + g.hdr_len + index * g.gso_size;
  if (out != in) {
    std::memcpy(out, in, g.hdr_len);
    std::memcpy(out + g.hdr_len, payload, payload_len);
  }
  const bool last = index + 1 == g.segments;
  ByteSpan src_addr, dst_addr;
  if (!g.v6) {
    StoreBe16(out + ip::kIpv4TotalLength, uint16_t(len));
    StoreBe16(out + ip::kIpv4Id, uint16_t(LoadBe16(in + ip::kIpv4Id) + index));  // ID + i, wrapping
    StoreBe16(out + ip::kIpv4Checksum, 0);
    StoreBe16(out + ip::kIpv4Checksum, Checksum(ByteSpan(out, g.ip_hdr_len)));
    src_addr = ByteSpan(out + ip::kIpv4Source, 4);
    dst_addr = ByteSpan(out + ip::kIpv4Destination, 4);
  } else {
    // Extension headers count as payload.
    StoreBe16(out + ip::kIpv6PayloadLength, uint16_t(len - ip::kIpv6HeaderSize));
    src_addr = ByteSpan(out + ip::kIpv6Source, 16);
    dst_addr = ByteSpan(out + ip::kIpv6Destination, 16);
  }
  uint8_t* l4 = out + g.ip_hdr_len;
  const size_t l4_len = len - g.ip_hdr_len;
  if (g.tcp) {
    const uint32_t seq = LoadBe32(in + g.ip_hdr_len + 4) + uint32_t(index * g.gso_size);
    StoreBe32(l4 + 4, seq);
    if (!last) l4[13] &= uint8_t(~(kTcpFlagFin | kTcpFlagPsh));
  } else {
    StoreBe16(l4 + 4, uint16_t(l4_len));
  }
  StoreBe16(l4 + g.csum_offset, 0);
  const uint64_t pseudo =
      PseudoHeaderSum(src_addr, dst_addr, g.tcp ? ip::kProtoTcp : ip::kProtoUdp, uint32_t(l4_len));
  uint16_t csum = Checksum(ByteSpan(l4, l4_len), pseudo);
  if (csum == 0 && !g.tcp) csum = 0xffff;
  StoreBe16(l4 + g.csum_offset, csum);
  return len;
}

}  // namespace tundra::tun
