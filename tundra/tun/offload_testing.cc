#include "tundra/tun/offload_testing.h"

#include "tundra/tun/vnet_hdr.h"

namespace tundra::tun::testing {

VirtioNetHdr KernelHeader(const PacketSpec& spec, uint16_t gso_size) {
  VirtioNetHdr h;
  h.flags = kVirtioNetHdrFNeedsCsum;
  h.gso_type =
      spec.tcp ? (spec.v6 ? kVirtioNetHdrGsoTcpV6 : kVirtioNetHdrGsoTcpV4) : kVirtioNetHdrGsoUdpL4;
  h.csum_start = spec.v6 ? 40 : 20;
  h.csum_offset = spec.tcp ? 16 : 6;
  h.hdr_len = uint16_t(h.csum_start + (spec.tcp ? 20 + spec.tcp_options.size() : 8));
  h.gso_size = gso_size;
  return h;
}

std::vector<uint8_t> BuildPacket(const PacketSpec& s) {
  const size_t ip_len = s.v6 ? 40 : 20;
  const size_t l4_hdr = s.tcp ? 20 + s.tcp_options.size() : 8;
  const size_t total = ip_len + l4_hdr + s.payload;
  std::vector<uint8_t> p(total, 0);
  uint8_t* l4 = p.data() + ip_len;
  const uint8_t proto = s.tcp ? 6 : 17;
  if (s.v6) {
    p[0] = 0x60 | (s.tos >> 4);
    p[1] = uint8_t(s.tos << 4);
    StoreBe16(&p[4], uint16_t(total - 40));
    p[6] = proto;
    p[7] = s.ttl;
    p[8] = 0xfd;
    p[9] = 0x19;
    p[23] = s.src;
    p[24] = 0xfd;
    p[25] = 0x19;
    p[39] = s.dst;
  } else {
    p[0] = 0x45;
    p[1] = s.tos;
    StoreBe16(&p[2], uint16_t(total));
    StoreBe16(&p[4], s.ip_id);
    p[6] = 0x40;  // DF
    p[8] = s.ttl;
    p[9] = proto;
    const uint8_t src[] = {198, 19, 0, s.src};
    const uint8_t dst[] = {198, 19, 0, s.dst};
    for (int i = 0; i < 4; ++i) {
      p[12 + i] = src[i];
      p[16 + i] = dst[i];
    }
    StoreBe16(&p[10], Checksum(ByteSpan(p.data(), 20)));
  }
  StoreBe16(l4, s.sport);
  StoreBe16(l4 + 2, s.dport);
  if (s.tcp) {
    StoreBe32(l4 + 4, s.seq);
    StoreBe32(l4 + 8, s.ack);
    l4[12] = uint8_t((l4_hdr / 4) << 4);
    l4[13] = s.tcp_flags;
    StoreBe16(l4 + 14, 65000);
    for (size_t i = 0; i < s.tcp_options.size(); ++i) l4[20 + i] = s.tcp_options[i];
  } else {
    StoreBe16(l4 + 4, uint16_t(l4_hdr + s.payload));
  }
  for (size_t k = 0; k < s.payload; ++k) l4[l4_hdr + k] = uint8_t(s.fill + k);
  const ByteSpan src = s.v6 ? ByteSpan(&p[8], 16) : ByteSpan(&p[12], 4);
  const ByteSpan dst = s.v6 ? ByteSpan(&p[24], 16) : ByteSpan(&p[16], 4);
  const size_t l4_len = total - ip_len;
  uint16_t csum =
      Checksum(ByteSpan(l4, l4_len), PseudoHeaderSum(src, dst, proto, uint32_t(l4_len)));
  if (csum == 0 && !s.tcp) csum = 0xffff;
  StoreBe16(l4 + (s.tcp ? 16 : 6), csum);
  return p;
}

bool ChecksumsValid(ByteSpan p) {
  const bool v6 = (p[0] >> 4) == 6;
  const size_t ip_len = v6 ? 40 : size_t(p[0] & 0x0f) * 4;
  if (!v6 && Checksum(p.first(ip_len)) != 0) return false;
  const uint8_t proto = v6 ? p[6] : p[9];
  const ByteSpan src = v6 ? p.subspan(8, 16) : p.subspan(12, 4);
  const ByteSpan dst = v6 ? p.subspan(24, 16) : p.subspan(16, 4);
  const size_t l4_len = p.size() - ip_len;
  return Checksum(p.subspan(ip_len), PseudoHeaderSum(src, dst, proto, uint32_t(l4_len))) == 0;
}

}  // namespace tundra::tun::testing
