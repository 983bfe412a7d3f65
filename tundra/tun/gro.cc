#include "tundra/tun/gro.h"

#include <cstring>

#include "tundra/base/ip_header.h"
namespace tundra::tun {
namespace {

constexpr size_t kMaxLength = 65535;

// What the planner needs of one packet that may merge.
struct Candidate {
  bool v6 = false;
  bool tcp = false;
  uint32_t ip_hdr_len = 0;
  uint32_t hdr_len = 0;
  uint32_t payload = 0;
  uint32_t seq = 0;
  bool psh = false;
};

bool ParseCandidate(const uint8_t* p, size_t len, bool udp, Candidate& c) {
  if (len < 28 || len > kMaxLength) return false;
  uint8_t proto;
  if (ip::Version(p) == 4) {
    if ((p[0] & 0x0f) != 5) return false;                               // options
    if (ip::Ipv4TotalLength(p) != len) return false;                    // total length
    if ((LoadBe16(p + ip::kIpv4Fragment) & 0x3fff) != 0) return false;  // MF or fragment offset
    proto = p[ip::kIpv4Protocol];
    c.ip_hdr_len = ip::kIpv4HeaderSize;
  } else if (ip::Version(p) == 6) {
    if (len < ip::kIpv6HeaderSize + 8 || ip::Ipv6TotalLength(p) != len) return false;
    // Anything but TCP/UDP here (extension headers) does not merge.
    proto = p[ip::kIpv6NextHeader];
    c.v6 = true;
    c.ip_hdr_len = ip::kIpv6HeaderSize;
  } else {
    return false;
  }
  const uint8_t* l4 = p + c.ip_hdr_len;
  if (proto == ip::kProtoTcp) {
    if (len < c.ip_hdr_len + 20) return false;
    const uint32_t tcp_len = uint32_t(l4[12] >> 4) * 4;
    if (tcp_len < 20 || len < c.ip_hdr_len + tcp_len) return false;
    const uint8_t flags = l4[13];
    if (flags != kTcpFlagAck && flags != (kTcpFlagAck | kTcpFlagPsh)) return false;
    c.tcp = true;
    c.hdr_len = c.ip_hdr_len + tcp_len;
    c.seq = LoadBe32(l4 + 4);
    c.psh = (flags & kTcpFlagPsh) != 0;
  } else if (proto == ip::kProtoUdp && udp) {
    if (LoadBe16(l4 + 4) != len - c.ip_hdr_len) return false;
    c.hdr_len = c.ip_hdr_len + 8;
  } else {
    return false;
  }
  c.payload = uint32_t(len - c.hdr_len);
  return c.payload != 0;
}

// Same flow and IP/TCP headers that may be merged (offloads.md §2.2: flow key, IP header
// fields, TCP header length and options).
bool SameFlow(const uint8_t* a, const uint8_t* b, const Candidate& c, uint32_t item_hdr_len) {
  if (c.v6) {
    if (std::memcmp(a + 8, b + 8, 32) != 0) return false;              // addresses
    if (a[0] != b[0] || (a[1] & 0xf0) != (b[1] & 0xf0)) return false;  // traffic class
    if (a[7] != b[7]) return false;                                    // hop limit
  } else {
    if (std::memcmp(a + 12, b + 12, 8) != 0) return false;
    if (a[1] != b[1] || (a[6] & 0xe0) != (b[6] & 0xe0) || a[8] != b[8]) return false;
  }
  const uint8_t* la = a + c.ip_hdr_len;
  const uint8_t* lb = b + c.ip_hdr_len;
  if (std::memcmp(la, lb, 4) != 0) return false;  // ports
  if (!c.tcp) return true;
  if (item_hdr_len != c.hdr_len) return false;
  if (std::memcmp(la + 8, lb + 8, 4) != 0) return false;                     // ACK number
  return std::memcmp(la + 20, lb + 20, c.hdr_len - c.ip_hdr_len - 20) == 0;  // options
}

}  // namespace

void GroTable::Coalesce(std::span<const MutableByteSpan> packets, bool udp) {
  writes_.clear();
  items_.clear();
  next_.assign(packets.size(), -1);
  for (uint32_t i = 0; i < packets.size(); ++i) {
    const uint8_t* p = packets[i].data();
    const size_t len = packets[i].size();
    Candidate c;
    if (!ParseCandidate(p, len, udp, c)) {
      writes_.push_back(Write{i, 1, i, 0, {}});
      continue;
    }
    bool merged = false;
    for (size_t k = items_.size(); k-- > 0;) {
      Item& item = items_[k];
      if (item.v6 != c.v6 || item.tcp != c.tcp) continue;
      if (!SameFlow(item.head, p, c, item.hdr_len)) continue;
      // TCP looks for the group this segment continues; UDP only ever joins the newest group
      // of its flow, so datagrams keep their order.
      merged = TryAppend(item, c.payload, c.seq, c.psh, i);
      if (merged || !c.tcp) break;
    }
    if (merged) continue;
    Item item;
    item.write = uint32_t(writes_.size());
    item.head = p;
    item.v6 = c.v6;
    item.tcp = c.tcp;
    item.psh = c.psh;
    item.ip_hdr_len = c.ip_hdr_len;
    item.hdr_len = c.hdr_len;
    item.seq = c.seq;
    item.payload = c.payload;
    item.gso_size = c.payload;
    item.length = uint32_t(len);
    items_.push_back(item);
    writes_.push_back(Write{i, 1, i, c.hdr_len, {}});
  }
  for (const Item& item : items_) {
    Write& w = writes_[item.write];
    if (w.segments > 1) Finalize(w, item, packets[w.head]);
  }
}

bool GroTable::TryAppend(Item& item, uint32_t payload, uint32_t seq, bool psh, uint32_t index) {
  Write& w = writes_[item.write];
  if (w.segments >= kGroMaxSegments) return false;
  if (item.payload % item.gso_size != 0) return false;  // a short segment ended the group
  if (payload > item.gso_size) return false;
  if (item.length + payload > kMaxLength) return false;
  if (item.tcp) {
    if (item.psh) return false;
    if (seq != item.seq + item.payload) return false;  // mod 2^32
    item.psh = psh;
  }
  item.payload += payload;
  item.length += payload;
  next_[w.last] = int32_t(index);
  w.last = index;
  ++w.segments;
  return true;
}

void GroTable::Finalize(Write& w, const Item& item, const MutableByteSpan& head) {
  uint8_t* p = head.data();
  ByteSpan src, dst;
  if (item.v6) {
    StoreBe16(p + ip::kIpv6PayloadLength, uint16_t(item.length - ip::kIpv6HeaderSize));
    src = ByteSpan(p + ip::kIpv6Source, 16);
    dst = ByteSpan(p + ip::kIpv6Destination, 16);
  } else {
    StoreBe16(p + ip::kIpv4TotalLength, uint16_t(item.length));
    StoreBe16(p + ip::kIpv4Checksum, 0);
    StoreBe16(p + ip::kIpv4Checksum, Checksum(ByteSpan(p, item.ip_hdr_len)));
    src = ByteSpan(p + ip::kIpv4Source, 4);
    dst = ByteSpan(p + ip::kIpv4Destination, 4);
  }
  uint8_t* l4 = p + item.ip_hdr_len;
  const uint32_t l4_len = item.length - item.ip_hdr_len;
  const uint16_t csum_offset = item.tcp ? 16 : 6;
  if (item.tcp) {
    if (item.psh) l4[13] |= kTcpFlagPsh;
  } else {
    StoreBe16(l4 + 4, uint16_t(l4_len));
  }
  // CHECKSUM_PARTIAL: the field holds the folded, uncomplemented pseudo-header sum.
  StoreBe16(l4 + csum_offset, ChecksumFold(PseudoHeaderSum(
                                  src, dst, item.tcp ? ip::kProtoTcp : ip::kProtoUdp, l4_len)));
  w.vnet.flags = kVirtioNetHdrFNeedsCsum;
  w.vnet.gso_type =
      item.tcp ? (item.v6 ? kVirtioNetHdrGsoTcpV6 : kVirtioNetHdrGsoTcpV4) : kVirtioNetHdrGsoUdpL4;
  w.vnet.hdr_len = uint16_t(item.hdr_len);
  w.vnet.gso_size = uint16_t(item.gso_size);
  w.vnet.csum_start = uint16_t(item.ip_hdr_len);
  w.vnet.csum_offset = csum_offset;
}

}  // namespace tundra::tun
