// Fuzz target: the virtio-net offload path (tundra/tun vnet_hdr.h, gso_split.h, gro.h).
// Byte 0 of the input picks the mode:
//   %4 == 0: a TUN read: a 10-byte virtio_net_hdr, then the packet. ProcessVnetRead's verdict
//            is checked; a completed checksum verifies; a super-packet that parses is split and
//            every segment is checked (lengths, IPv4 header checksum, L4 checksum, TCP sequence
//            and flags, payload order), then the segments are coalesced again;
//   %4 == 1: a TUN write batch: packets with 2-byte length prefixes, coalesced (bit 2: with
//            UDP). Every packet is written exactly once, groups stay in their limits, a lone
//            packet is unchanged, and a merged group splits back into its packets' payloads;
//   %4 == 3: the same checks on a batch of well-formed packets built from 6-byte records;
//   %4 == 2: the checksum: ChecksumAdd against a naive RFC 1071 sum.
#include <algorithm>
#include <cstring>
#include <vector>

#include "tests/fuzz/fuzz_fixture.h"
#include "tundra/base/ip_header.h"
#include "tundra/tun/gro.h"
#include "tundra/tun/gso_split.h"
#include "tundra/tun/offload_testing.h"
#include "tundra/tun/vnet_hdr.h"

namespace tundra::fuzz {
namespace {

using tun::GroTable;
using tun::GsoSuperPacket;

uint16_t NaiveFold(ByteSpan data, uint64_t sum) {
  for (size_t i = 0; i < data.size(); i += 2) {
    sum += uint32_t(data[i]) << 8 | (i + 1 < data.size() ? data[i + 1] : 0);
  }
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return uint16_t(sum);
}

// One's-complement equality (0 and 0xffff are both zero).
bool SameSum(uint16_t a, uint16_t b) { return a == b || ((a | b) == 0xffff && (a & b) == 0); }

// The L4 checksum of a segment verifies (plain IPv4, or IPv6 without extension headers).
bool L4ChecksumOk(ByteSpan seg, const GsoSuperPacket& g) {
  const ByteSpan src = g.v6 ? seg.subspan(ip::kIpv6Source, 16) : seg.subspan(ip::kIpv4Source, 4);
  const ByteSpan dst =
      g.v6 ? seg.subspan(ip::kIpv6Destination, 16) : seg.subspan(ip::kIpv4Destination, 4);
  const size_t l4_len = seg.size() - g.ip_hdr_len;
  const uint64_t pseudo =
      tun::PseudoHeaderSum(src, dst, g.tcp ? ip::kProtoTcp : ip::kProtoUdp, uint32_t(l4_len));
  return tun::Checksum(seg.subspan(g.ip_hdr_len), pseudo) == 0;
}

void CheckCoalesce(std::vector<std::vector<uint8_t>> packets, bool udp);

void CheckSplit(const tun::VirtioNetHdr& hdr, ByteSpan packet) {
  tun::GsoError error{};
  const std::optional<GsoSuperPacket> parsed = tun::ParseGsoSuperPacket(hdr, packet, &error);
  if (!parsed) return;
  const GsoSuperPacket& g = *parsed;
  TUNDRA_CHECK(g.packet_len == packet.size());
  TUNDRA_CHECK(g.ip_hdr_len == hdr.csum_start && g.hdr_len > g.ip_hdr_len);
  TUNDRA_CHECK(g.hdr_len <= packet.size() && g.gso_size == hdr.gso_size && g.segments >= 1);
  const size_t payload = packet.size() - g.hdr_len;
  TUNDRA_CHECK(g.segments == (payload == 0 ? 1 : (payload + g.gso_size - 1) / g.gso_size));
  // Segments that would not fit an IP length field cannot be checked against it.
  const bool fits = g.hdr_len + g.gso_size <= 65535;
  const bool plain_ip = g.v6 ? g.ip_hdr_len == ip::kIpv6HeaderSize : true;

  std::vector<std::vector<uint8_t>> segments(g.segments);
  size_t offset = g.hdr_len;
  for (size_t i = 0; i < g.segments; ++i) {
    const size_t len = g.SegmentLength(i);
    TUNDRA_CHECK(len > g.hdr_len || payload == 0);
    TUNDRA_CHECK(len - g.hdr_len <= g.gso_size);
    TUNDRA_CHECK(i + 1 == g.segments || len - g.hdr_len == g.gso_size);
    segments[i].resize(len);  // exact size: ASan catches a write past it
    TUNDRA_CHECK(tun::WriteGsoSegment(g, packet, i, segments[i].data()) == len);
    const ByteSpan seg = segments[i];
    TUNDRA_CHECK(std::equal(seg.begin() + g.hdr_len, seg.end(), packet.begin() + offset));
    offset += len - g.hdr_len;
    if (!g.v6) {
      TUNDRA_CHECK(!fits || LoadBe16(seg.data() + ip::kIpv4TotalLength) == len);
      TUNDRA_CHECK(tun::Checksum(seg.first(g.ip_hdr_len)) == 0);
      TUNDRA_CHECK(LoadBe16(seg.data() + ip::kIpv4Id) ==
                   uint16_t(LoadBe16(packet.data() + ip::kIpv4Id) + i));
    } else {
      TUNDRA_CHECK(!fits || LoadBe16(seg.data() + ip::kIpv6PayloadLength) == len - 40);
    }
    const uint8_t* l4 = seg.data() + g.ip_hdr_len;
    const uint8_t* l4_in = packet.data() + g.ip_hdr_len;
    if (g.tcp) {
      TUNDRA_CHECK(LoadBe32(l4 + 4) == uint32_t(LoadBe32(l4_in + 4) + i * g.gso_size));
      const uint8_t end_flags = tun::kTcpFlagFin | tun::kTcpFlagPsh;
      const uint8_t want = i + 1 == g.segments ? l4_in[13] : uint8_t(l4_in[13] & ~end_flags);
      TUNDRA_CHECK(l4[13] == want);
    } else {
      TUNDRA_CHECK(!fits || LoadBe16(l4 + 4) == len - g.ip_hdr_len);
      TUNDRA_CHECK(LoadBe16(l4 + 6) != 0);  // a zero UDP checksum means "none"
    }
    if (plain_ip && fits) TUNDRA_CHECK(L4ChecksumOk(seg, g));
  }
  TUNDRA_CHECK(offset == packet.size());
  // In place: segment 0 written over the super-packet itself, after the others.
  std::vector<uint8_t> in_place(packet.begin(), packet.end());
  TUNDRA_CHECK(tun::WriteGsoSegment(g, in_place, 0, in_place.data()) == segments[0].size());
  TUNDRA_CHECK(std::equal(segments[0].begin(), segments[0].end(), in_place.begin()));
  if (fits) CheckCoalesce(std::move(segments), true);
}

void CheckRead(ByteSpan data) {
  if (data.size() < tun::kVirtioNetHdrSize) return;
  const tun::VirtioNetHdr hdr = tun::DecodeVirtioNetHdr(data.data());
  uint8_t again[tun::kVirtioNetHdrSize];
  tun::EncodeVirtioNetHdr(hdr, again);
  TUNDRA_CHECK(std::memcmp(again, data.data(), sizeof(again)) == 0);
  const ByteSpan packet = data.subspan(tun::kVirtioNetHdrSize);
  std::vector<uint8_t> buf(packet.begin(), packet.end());
  const tun::VnetReadAction action = tun::ProcessVnetRead(hdr, buf);
  if (hdr.gso_type != tun::kVirtioNetHdrGsoNone) {
    TUNDRA_CHECK(action == tun::VnetReadAction::kSuperPacket);
    CheckSplit(hdr, packet);
    return;
  }
  const bool needs = (hdr.flags & tun::kVirtioNetHdrFNeedsCsum) != 0;
  const size_t field = size_t(hdr.csum_start) + hdr.csum_offset;
  const bool in_bounds = hdr.csum_start < packet.size() && field + 2 <= packet.size();
  if (!needs || !in_bounds) {
    TUNDRA_CHECK(action ==
                 (needs ? tun::VnetReadAction::kBadHeader : tun::VnetReadAction::kDeliver));
    TUNDRA_CHECK(std::equal(buf.begin(), buf.end(), packet.begin()));  // untouched
    return;
  }
  TUNDRA_CHECK(action == tun::VnetReadAction::kDeliver);
  // Only the checksum field changed, and (for a field at an even offset, as TCP's and UDP's
  // are) the region now sums to the complement of what the field held before, its
  // pseudo-header sum: the receiver's check passes.
  const uint16_t before = LoadBe16(packet.data() + field);
  for (size_t i = 0; i < buf.size(); ++i) {
    if (i != field && i != field + 1) TUNDRA_CHECK(buf[i] == packet[i]);
  }
  if (hdr.csum_offset % 2 == 0) {
    const uint16_t region = NaiveFold(ByteSpan(buf).subspan(hdr.csum_start), before);
    TUNDRA_CHECK(SameSum(region, 0xffff));
  }
}

void CheckCoalesce(std::vector<std::vector<uint8_t>> packets, bool udp) {
  if (packets.empty()) return;
  const std::vector<std::vector<uint8_t>> originals = packets;
  std::vector<MutableByteSpan> spans;
  for (auto& p : packets) spans.emplace_back(p);
  GroTable table;
  table.Coalesce(spans, udp);
  std::vector<int> written(packets.size(), 0);
  uint32_t previous_head = 0;
  bool first = true;
  for (const GroTable::Write& w : table.writes()) {
    TUNDRA_CHECK(w.head < packets.size() && w.last < packets.size());
    TUNDRA_CHECK(first || w.head > previous_head);  // in the order of their first packet
    first = false;
    previous_head = w.head;
    TUNDRA_CHECK(w.segments >= 1 && w.segments <= tun::kGroMaxSegments);
    // Walk the group: the head whole, then each follower's payload.
    std::vector<uint8_t> merged = packets[w.head];
    std::vector<uint32_t> members{w.head};
    uint32_t at = w.head;
    ++written[at];
    for (int32_t next = table.next(at); next >= 0; next = table.next(at)) {
      TUNDRA_CHECK(size_t(next) < packets.size() && uint32_t(next) > at);
      at = uint32_t(next);
      ++written[at];
      members.push_back(at);
      TUNDRA_CHECK(packets[at].size() > w.hdr_len);
      merged.insert(merged.end(), packets[at].begin() + w.hdr_len, packets[at].end());
    }
    TUNDRA_CHECK(at == w.last && members.size() == w.segments);
    if (w.segments == 1) {
      TUNDRA_CHECK(w.vnet == tun::VirtioNetHdr{});
      TUNDRA_CHECK(packets[w.head] == originals[w.head]);
      continue;
    }
    TUNDRA_CHECK(merged.size() <= 65535);
    TUNDRA_CHECK(w.vnet.gso_type != tun::kVirtioNetHdrGsoNone);
    TUNDRA_CHECK(w.vnet.flags == tun::kVirtioNetHdrFNeedsCsum);
    // What the kernel does with it: split it back; each segment carries its packet's payload.
    const std::optional<GsoSuperPacket> g = tun::ParseGsoSuperPacket(w.vnet, merged);
    TUNDRA_CHECK(g.has_value());
    TUNDRA_CHECK(g->hdr_len == w.hdr_len && g->segments == w.segments);
    for (size_t i = 0; i < members.size(); ++i) {
      const std::vector<uint8_t>& orig = originals[members[i]];
      std::vector<uint8_t> seg(g->SegmentLength(i));
      TUNDRA_CHECK(seg.size() == orig.size());
      tun::WriteGsoSegment(*g, merged, i, seg.data());
      TUNDRA_CHECK(std::equal(seg.begin() + w.hdr_len, seg.end(), orig.begin() + w.hdr_len));
      if (g->tcp) {
        const size_t seq_at = g->ip_hdr_len + 4;
        TUNDRA_CHECK(LoadBe32(seg.data() + seq_at) == LoadBe32(orig.data() + seq_at));
      }
    }
  }
  for (int n : written) TUNDRA_CHECK(n == 1);
}

void CheckBatch(ByteSpan data, bool udp) {
  std::vector<std::vector<uint8_t>> packets;
  size_t i = 0;
  while (i + 2 <= data.size() && packets.size() < 256) {
    const size_t len = std::min<size_t>(LoadLe16(data.data() + i), data.size() - i - 2);
    packets.emplace_back(data.begin() + i + 2, data.begin() + i + 2 + len);
    i += 2 + len;
  }
  CheckCoalesce(std::move(packets), udp);
}

// Well-formed batches from 6-byte records, so coalescing is reached without the fuzzer having
// to keep lengths, sequence numbers and checksums consistent itself: flow, TCP flags, payload
// size and sequence gaps vary; a record may also corrupt one byte after the packet is built.
void CheckBuiltBatch(ByteSpan data, bool udp) {
  std::vector<std::vector<uint8_t>> packets;
  uint32_t seq[2] = {1, 1};
  for (size_t i = 0; i + 6 <= data.size() && packets.size() < 80; i += 6) {
    const uint8_t* r = data.data() + i;
    tun::testing::PacketSpec s;
    s.v6 = (r[0] & 1) != 0;
    s.tcp = (r[0] & 2) == 0;
    const unsigned flow = (r[0] >> 2) & 1;
    s.dport = uint16_t(2000 + flow);
    static constexpr uint8_t kFlags[] = {0x10, 0x10, 0x10, 0x18, 0x11, 0x02, 0x14, 0x12};
    s.tcp_flags = kFlags[(r[0] >> 3) & 7];
    s.payload = (r[1] & 0x80) ? r[1] & 0x7f : 100 + (r[1] & 0x7f) * 8;
    if (r[0] & 0x40) s.tcp_options = {1, 1, 8, 10, 0, 0, 0, r[2], 0, 0, 0, 6};
    s.ttl = (r[0] & 0x80) ? 63 : 64;
    s.seq = seq[flow] + ((r[2] & 0xc0) == 0xc0 ? r[3] : 0);  // mostly in order
    s.ip_id = uint16_t(i / 6);
    s.fill = r[3];
    seq[flow] = s.seq + uint32_t(s.payload);
    std::vector<uint8_t> p = tun::testing::BuildPacket(s);
    if (r[4] != 0) p[r[4] % p.size()] ^= r[5];
    packets.push_back(std::move(p));
  }
  CheckCoalesce(std::move(packets), udp);
}

void CheckChecksum(ByteSpan data) {
  for (size_t skip = 0; skip < 3 && skip <= data.size(); ++skip) {
    const ByteSpan d = data.subspan(skip);
    TUNDRA_CHECK(SameSum(tun::ChecksumFold(tun::ChecksumAdd(d)), NaiveFold(d, 0)));
    const uint64_t start = d.size() >= 8 ? LoadLe64(d.data()) >> 16 : 0;
    TUNDRA_CHECK(SameSum(tun::ChecksumFold(tun::ChecksumAdd(d, start)), NaiveFold(d, start)));
  }
}

}  // namespace
}  // namespace tundra::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const tundra::ByteSpan rest(data + 1, size - 1);
  switch (data[0] % 4) {
    case 0:
      tundra::fuzz::CheckRead(rest);
      break;
    case 1:
      tundra::fuzz::CheckBatch(rest, (data[0] & 4) != 0);
      break;
    case 3:
      tundra::fuzz::CheckBuiltBatch(rest, (data[0] & 4) != 0);
      break;
    default:
      tundra::fuzz::CheckChecksum(rest);
  }
  return 0;
}
