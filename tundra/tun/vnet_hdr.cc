#include "tundra/tun/vnet_hdr.h"

#include <bit>
#include <cstring>

namespace tundra::tun {

VirtioNetHdr DecodeVirtioNetHdr(const uint8_t* p) {
  VirtioNetHdr h;
  h.flags = p[0];
  h.gso_type = p[1];
  std::memcpy(&h.hdr_len, p + 2, 2);  // __virtio16: native order for a legacy TUN header
  std::memcpy(&h.gso_size, p + 4, 2);
  std::memcpy(&h.csum_start, p + 6, 2);
  std::memcpy(&h.csum_offset, p + 8, 2);
  return h;
}

void EncodeVirtioNetHdr(const VirtioNetHdr& h, uint8_t* p) {
  p[0] = h.flags;
  p[1] = h.gso_type;
  std::memcpy(p + 2, &h.hdr_len, 2);
  std::memcpy(p + 4, &h.gso_size, 2);
  std::memcpy(p + 6, &h.csum_start, 2);
  std::memcpy(p + 8, &h.csum_offset, 2);
}

VnetReadAction ProcessVnetRead(const VirtioNetHdr& hdr, MutableByteSpan packet) {
  if (hdr.gso_type != kVirtioNetHdrGsoNone) return VnetReadAction::kSuperPacket;
  if ((hdr.flags & kVirtioNetHdrFNeedsCsum) != 0 &&
      !CompleteChecksum(packet, hdr.csum_start, hdr.csum_offset)) {
    return VnetReadAction::kBadHeader;
  }
  return VnetReadAction::kDeliver;
}

uint64_t ChecksumAdd(ByteSpan data, uint64_t sum) {
  // One's-complement sums do not depend on byte order up to a final swap (RFC 1071 §2(B)), so
  // the bulk is summed as native 64-bit words with end-around carries collected separately,
  // folded to 16 bits, and swapped to big-endian once.
  const uint8_t* p = data.data();
  size_t n = data.size();
  uint64_t acc = 0;
  uint64_t carries = 0;
  auto add = [&](uint64_t w) {
    acc += w;
    carries += acc < w;
  };
  while (n >= 32) {
    uint64_t w[4];
    std::memcpy(w, p, 32);
    add(w[0]);
    add(w[1]);
    add(w[2]);
    add(w[3]);
    p += 32;
    n -= 32;
  }
  while (n >= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    add(w);
    p += 8;
    n -= 8;
  }
  // 2^64 = 1 (mod 0xffff): each carry out of bit 63 is worth one.
  uint64_t folded = (acc & 0xffffffff) + (acc >> 32) + carries;
  uint16_t native = ChecksumFold(folded);
  if constexpr (std::endian::native == std::endian::little) native = __builtin_bswap16(native);
  sum += native;
  // The tail starts at an offset that is a multiple of 8, so its words stay aligned.
  while (n >= 2) {
    sum += LoadBe16(p);
    p += 2;
    n -= 2;
  }
  if (n == 1) sum += uint64_t(p[0]) << 8;
  return sum;
}

uint16_t ChecksumFold(uint64_t sum) {
  while ((sum >> 16) != 0) sum = (sum & 0xffff) + (sum >> 16);
  return uint16_t(sum);
}

uint64_t PseudoHeaderSum(ByteSpan src, ByteSpan dst, uint8_t protocol, uint32_t l4_length) {
  uint64_t sum = ChecksumAdd(src);
  sum = ChecksumAdd(dst, sum);
  sum += protocol;
  sum += l4_length >> 16;
  sum += l4_length & 0xffff;
  return sum;
}

uint16_t Checksum(ByteSpan data, uint64_t sum) {
  return uint16_t(~ChecksumFold(ChecksumAdd(data, sum)));
}

bool CompleteChecksum(MutableByteSpan packet, size_t csum_start, size_t csum_offset) {
  const size_t field = csum_start + csum_offset;
  if (csum_start >= packet.size() || field + 2 > packet.size()) return false;
  // The field holds the pseudo-header sum; summing it in place adds it to the data sum.
  const uint64_t initial = LoadBe16(packet.data() + field);
  StoreBe16(packet.data() + field, 0);
  uint16_t csum = Checksum(packet.subspan(csum_start), initial);
  if (csum == 0) csum = 0xffff;
  StoreBe16(packet.data() + field, csum);
  return true;
}

}  // namespace tundra::tun
